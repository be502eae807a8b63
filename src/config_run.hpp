// The running part of `natdiag config check`, shared with `natdiag profile`: find and read the
// media servers' configuration files, ask the STUN servers they name, check them against the
// facts, and report (text, JSON, the unified diff).
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "src/profile/advice.hpp"
#include "src/profile/config/config_check.hpp"

namespace natdiag::cli {

/// Which files to check.
struct ConfigSelection {
  std::vector<std::string> servers;  ///< --for: the servers whose standard paths are looked at
  /// --file SERVER=PATH: when any is given, only these files are checked.
  std::vector<std::pair<std::string, std::string>> files;
  std::string root;  ///< --root: a prefix for the standard paths ("" for /)
  /// profile: a file at a standard path that cannot be read is noted, not an error.
  bool skip_unreadable = false;
};

/// One file found and read.
struct CheckedFile {
  const profile::config::ConfigFileKind* kind = nullptr;
  std::string found_by;  ///< "standard-path" or "--file"
  profile::config::ParsedFile parsed;
};

/// The result of checking the files.
struct ConfigReport {
  std::vector<CheckedFile> files;
  std::vector<std::string> looked_at;   ///< the standard paths tried (for "nothing found")
  std::vector<std::string> unreadable;  ///< "PATH: why" (with skip_unreadable)
  std::vector<profile::config::ConfigFinding> findings;  ///< most important first
  std::string diff_base = "/";  ///< the diff's paths are relative to this directory
};

/// The servers `--file` accepts and `--for` filters: every server with a checker.
[[nodiscard]] std::vector<std::string> config_check_servers();
/// Parses "SERVER=PATH"; throws UsageError naming an unknown server (exit 2).
[[nodiscard]] std::pair<std::string, std::string> parse_file_option(const std::string& text);

/// Finds and reads the selected files. A file that exists but cannot be read throws a
/// cannot-run CliError naming its path (exit 3); a missing --file too.
[[nodiscard]] ConfigReport read_config_files(const ConfigSelection& selection);

/// Asks every STUN server the files name (UDP Binding, within `timeout`, all at once):
/// "host:port" -> answered.
[[nodiscard]] std::map<std::string, bool> probe_named_stun_servers(
    const ConfigReport& report, std::chrono::microseconds timeout);

/// Checks every file read against `facts`; fills report.findings.
void check_config_files(ConfigReport& report, const profile::config::ConfigFacts& facts);

/// The unified diff of every fix (`patch -d DIFF_BASE -p1`), files in the order read.
[[nodiscard]] std::string config_diff(const ConfigReport& report);

/// The measured port ranges of a saved `natdiag ports --json` (or a profile's `ports`
/// member): udp.ranges / tcp.ranges [{first, last, state}]. Throws UsageError naming `what`.
void read_measured_ports(const nlohmann::json& ports, profile::config::ConfigFacts& facts,
                         const std::string& what);

/// profile's part: the standard files of `targets` (under `root`) checked against the facts
/// profile measured, without asking any STUN server again.
[[nodiscard]] ConfigReport check_installed_config(const std::vector<std::string>& targets,
                                                  const std::string& root,
                                                  const ProfileFacts& facts);
/// The config findings in profile's shape: {id, severity, "FILE:LINE SETTING: why", fix}.
[[nodiscard]] std::vector<Finding> as_profile_findings(const ConfigReport& report);
/// Adds `more` to `findings`, each before the first finding of a lower severity (the order of
/// `findings` otherwise kept).
void merge_by_severity(std::vector<Finding>& findings, std::vector<Finding> more);

/// {files, findings} for --json (every field present, null when absent).
[[nodiscard]] nlohmann::ordered_json config_json(const ConfigReport& report);
/// The findings for people: most important first, file:line, setting, current -> right, why.
void print_config_findings(std::ostream& out, const ConfigReport& report);

}  // namespace natdiag::cli
