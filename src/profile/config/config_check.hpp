// `natdiag config check`: the table of the media servers' configuration files, the facts the
// files are compared with, and the check of one parsed file. Pure: the caller reads the files
// (config_files.cpp) and measures the facts.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "src/profile/advice.hpp"
#include "src/profile/config/config_model.hpp"
#include "src/profile/media_ports.hpp"

namespace natdiag::profile::config {

/// A port range as `natdiag ports` measured it: "open", "closed", "filtered", "in-use", ...
struct MeasuredPorts {
  cli::PortRange range;
  std::string state;
};

/// What the files are compared with: the profile's facts, and what else was measured.
struct ConfigFacts {
  cli::ProfileFacts profile;
  std::vector<MeasuredPorts> udp_ports;  ///< empty: the UDP ports were not measured
  std::vector<MeasuredPorts> tcp_ports;  ///< empty: the TCP ports were not measured
  /// "host:port" of a STUN server a file names -> it answered a Binding request (measured by
  /// config check); absent: not asked.
  std::map<std::string, bool> stun_answers;
  /// Every file read in the same check, for a file whose values are set in another one (a
  /// FreeSWITCH SIP profile's $${NAME} in vars.xml). Not owned; empty: none.
  std::vector<const ParsedFile*> files;
};

struct ConfigFileKind;
/// The facts of a profile, with the ports it measured (`profile --via`: its IPv4 ranges, the
/// path peers use to the announced IPv4 address) as udp_ports / tcp_ports.
[[nodiscard]] ConfigFacts config_facts_of(const cli::ProfileFacts& profile);

/// Adds the findings of one file of `kind` to `out`.
using Checker = void (*)(const ParsedFile& file, const ConfigFacts& facts,
                         const ConfigFileKind& kind, std::vector<ConfigFinding>& out);

/// One configuration file natdiag knows: which server, which of its files, where it is
/// installed (the first path that exists is used), its syntax and its checker.
struct ConfigFileKind {
  std::string_view server;  ///< a kMediaServers name
  std::string_view role;    ///< e.g. "WebRtcEndpoint.conf.ini", "livekit.yaml", "production.yml"
  std::vector<std::string_view> paths;
  std::string_view syntax;  ///< "ini", "yaml", "libconfig", "coturn", "xml", "hocon", ...
  Checker check;
};

/// Every file natdiag checks, server by server (the README's table).
[[nodiscard]] std::span<const ConfigFileKind> config_file_kinds();
/// The servers that have an entry, in table order.
[[nodiscard]] std::vector<std::string> config_servers();
/// For `--file SERVER=PATH`: the entry of `server` whose standard file name is PATH's, else
/// the first whose name ends as PATH's (".properties"), else the server's first entry; nullptr
/// for a server natdiag has no checker for.
[[nodiscard]] const ConfigFileKind* kind_for(std::string_view server, std::string_view path);

/// Parses `text` as `syntax` (split_lines for the lines). An unknown syntax is a parse error.
[[nodiscard]] ParsedFile parse_config(const std::string& path, std::string_view syntax,
                                      const std::string& text);

/// The findings of one file: its syntax error (critical, the line and the parser's message),
/// or the checker's findings.
[[nodiscard]] std::vector<ConfigFinding> check_file(const ParsedFile& file,
                                                    const ConfigFileKind& kind,
                                                    const ConfigFacts& facts);

/// The STUN servers ("host", port) a file tells its server to use, to ask before checking.
[[nodiscard]] std::vector<std::pair<std::string, std::uint16_t>> stun_servers_named(
    const ParsedFile& file, const ConfigFileKind& kind);

/// A file the server reads, as checked.
struct CheckedConfig {
  const ConfigFileKind* kind = nullptr;
  const ParsedFile* file = nullptr;
};
/// Drops the findings about settings that another file overrides: bbb-webrtc-sfu reads
/// production.yml over default.yml, so what default.yml says about a key production.yml sets is
/// not what the server uses.
void drop_overridden(std::vector<ConfigFinding>& findings, const std::vector<CheckedConfig>& files);

/// Most important first (critical, warning, info), then by file and line.
void sort_findings(std::vector<ConfigFinding>& findings);
/// "ok", "needs-config" or "broken", as profile's verdict_of.
[[nodiscard]] std::string config_verdict(const std::vector<ConfigFinding>& findings);

}  // namespace natdiag::profile::config
