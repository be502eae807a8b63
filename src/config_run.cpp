#include "src/config_run.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "src/cli_common.hpp"
#include "src/profile/config/port_overlap.hpp"
#include "src/profile/config/unified_diff.hpp"
#include "stun/client/binding.hpp"

namespace natdiag::cli {
namespace {

namespace fs = std::filesystem;
using profile::config::ConfigFileKind;

// The whole file, or a cannot-run error naming it (exit 3).
std::string read_text(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec))
    throw CliError(ErrorKind::kCannotRun, "cannot read " + path + ": it is a directory", path);
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw CliError(ErrorKind::kCannotRun, "cannot read " + path + " (" + std::strerror(errno) + ")",
                   path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad())
    throw CliError(ErrorKind::kCannotRun, "cannot read " + path + " (read error)", path);
  return text.str();
}

CheckedFile read_one(const ConfigFileKind& kind, const std::string& path, const char* found_by) {
  CheckedFile f;
  f.kind = &kind;
  f.found_by = found_by;
  f.parsed = profile::config::parse_config(path, kind.syntax, read_text(path));
  return f;
}

// The path as the diff names it: relative to the directory the patch is applied in.
std::string diff_label(const std::string& path, const std::string& base) {
  const fs::path absolute = fs::absolute(path).lexically_normal();
  const auto relative = absolute.lexically_relative(fs::path(base).lexically_normal());
  if (relative.empty() || relative.native().starts_with(".."))
    return absolute.relative_path().string();
  return relative.string();
}

nlohmann::json opt(const std::optional<std::string>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

std::vector<std::string> config_check_servers() {
  return profile::config::config_servers();
}

std::pair<std::string, std::string> parse_file_option(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    throw bad_value("--file", "must be SERVER=PATH", text);
  }
  std::string server = text.substr(0, eq);
  const auto servers = config_check_servers();
  if (std::find(servers.begin(), servers.end(), server) == servers.end()) {
    std::string list;
    for (const auto& s : servers) list += (list.empty() ? "" : ", ") + s;
    throw UsageError(ErrorKind::kBadValue,
                     "--file: unknown media server '" + server + "' (" + list + ")", server);
  }
  return {server, text.substr(eq + 1)};
}

ConfigReport read_config_files(const ConfigSelection& selection) {
  ConfigReport report;
  if (!selection.root.empty())
    report.diff_base = fs::absolute(selection.root).lexically_normal().string();
  if (!selection.files.empty()) {
    for (const auto& [server, path] : selection.files) {
      report.files.push_back(read_one(*profile::config::kind_for(server, path), path, "--file"));
    }
    return report;
  }
  for (const auto& kind : profile::config::config_file_kinds()) {
    if (std::find(selection.servers.begin(), selection.servers.end(), kind.server) ==
        selection.servers.end())
      continue;
    for (const auto standard : kind.paths) {
      const std::string path =
          selection.root.empty()
              ? std::string(standard)
              : (fs::path(selection.root) / fs::path(standard).relative_path()).string();
      report.looked_at.push_back(path);
      std::error_code ec;
      if (!fs::exists(path, ec)) continue;
      try {
        report.files.push_back(read_one(kind, path, "standard-path"));
      } catch (const CliError& e) {
        if (!selection.skip_unreadable) throw;
        report.unreadable.push_back(e.what());
      }
      break;  // the first path that exists is the one the server reads
    }
  }
  return report;
}

std::map<std::string, bool> probe_named_stun_servers(const ConfigReport& report,
                                                     std::chrono::microseconds timeout) {
  std::map<std::string, std::future<bool>> running;
  for (const auto& f : report.files) {
    if (f.parsed.error) continue;
    for (const auto& [host, port] : profile::config::stun_servers_named(f.parsed, *f.kind)) {
      const std::string key = host + ":" + std::to_string(port);
      if (running.count(key) != 0) continue;
      running[key] = std::async(std::launch::async, [host = host, port = port, timeout] {
        client::BindingOptions b;
        b.host = host;
        b.port = port;
        b.timeout = timeout;
        b.policy.initial_rto = std::chrono::milliseconds(200);
        try {
          return client::run_binding_test(b).last_success() != nullptr;
        } catch (const std::exception&) {
          return false;  // a name that does not resolve answers nothing either
        }
      });
    }
  }
  std::map<std::string, bool> out;
  for (auto& [key, result] : running) out[key] = result.get();
  return out;
}

void check_config_files(ConfigReport& report, const profile::config::ConfigFacts& measured) {
  auto facts = measured;  // with every file read: a SIP profile's $${NAME} is set in vars.xml
  for (const auto& f : report.files) facts.files.push_back(&f.parsed);
  report.findings.clear();
  std::vector<profile::config::CheckedConfig> checked;
  for (const auto& f : report.files) {
    for (auto& finding : profile::config::check_file(f.parsed, *f.kind, facts))
      report.findings.push_back(std::move(finding));
    checked.push_back({f.kind, &f.parsed});
  }
  profile::config::drop_overridden(report.findings, checked);
  for (auto& finding : profile::config::check_range_overlaps(checked))
    report.findings.push_back(std::move(finding));
  if (!facts.profile.measured() && !report.files.empty()) {
    profile::config::ConfigFinding f;
    f.id = "facts-not-measured";
    f.severity = "warning";
    f.why = "No STUN server answered, over UDP or TCP" +
            (facts.profile.stun_error ? " (" + *facts.profile.stun_error + ")" : std::string()) +
            ": the files were compared with nothing measured, so every check that needs the public "
            "address, "
            "the NAT or a STUN server's answer was skipped. Give --server (natdiag serve on a host "
            "outside).";
    report.findings.push_back(std::move(f));
  }
  profile::config::sort_findings(report.findings);
}

std::string config_diff(const ConfigReport& report) {
  std::string out;
  for (const auto& f : report.files) {
    std::vector<profile::config::LineEdit> edits;
    for (const auto& finding : report.findings) {
      if (finding.file != f.parsed.path) continue;
      edits.insert(edits.end(), finding.edits.begin(), finding.edits.end());
    }
    if (edits.empty()) continue;
    out += profile::config::unified_diff(f.parsed.lines, edits,
                                         diff_label(f.parsed.path, report.diff_base));
  }
  return out;
}

void read_measured_ports(const nlohmann::json& ports, profile::config::ConfigFacts& facts,
                         const std::string& what) {
  if (!ports.is_object())
    throw bad_value(what, "must be a natdiag ports --json object", ports.dump().substr(0, 60));
  for (const char* protocol : {"udp", "tcp"}) {
    const auto it = ports.find(protocol);
    if (it == ports.end() || it->is_null()) continue;
    const auto ranges = it->find("ranges");
    if (!it->is_object() || ranges == it->end() || !ranges->is_array()) {
      throw bad_value(what, std::string("has no ") + protocol + ".ranges array", protocol);
    }
    auto& out = std::string(protocol) == "udp" ? facts.udp_ports : facts.tcp_ports;
    for (const auto& r : *ranges) {
      const bool ok = r.is_object() && r.value("first", nlohmann::json()).is_number_unsigned() &&
                      r.value("last", nlohmann::json()).is_number_unsigned() &&
                      r.value("state", nlohmann::json()).is_string();
      const auto first = ok ? r["first"].get<unsigned>() : 0U;
      const auto last = ok ? r["last"].get<unsigned>() : 0U;
      if (!ok || first == 0 || last > 65535 || first > last) {
        throw bad_value(
            what,
            std::string("has a ") + protocol +
                " range that is not {first, last, state} with 1 <= first <= last <= 65535",
            r.dump().substr(0, 80));
      }
      out.push_back({{static_cast<std::uint16_t>(first), static_cast<std::uint16_t>(last)},
                     r["state"].get<std::string>()});
    }
  }
}

ConfigReport check_installed_config(const std::vector<std::string>& targets,
                                    const std::string& root, const ProfileFacts& facts) {
  ConfigSelection selection;
  selection.servers = targets;
  selection.root = root;
  selection.skip_unreadable = true;
  ConfigReport report = read_config_files(selection);
  check_config_files(report, profile::config::config_facts_of(facts));
  return report;
}

std::vector<Finding> as_profile_findings(const ConfigReport& report) {
  std::vector<Finding> out;
  for (const auto& f : report.findings) {
    const std::string where = f.file + (f.line > 0 ? ":" + std::to_string(f.line) : std::string());
    std::string fix;
    if (f.expected && !f.setting.empty())
      fix = "Set " + f.setting + " to " + *f.expected + " in " + f.file + ".";
    if (!f.edits.empty())
      fix += std::string(fix.empty() ? "" : " ") + "natdiag config check " +
             (report.diff_base == "/" ? std::string() : "--root " + report.diff_base + " ") +
             "--diff prints the patch.";
    out.push_back({"config-" + f.id, f.severity,
                   where + (f.setting.empty() ? std::string() : " " + f.setting) + ": " + f.why,
                   fix});
  }
  for (const auto& u : report.unreadable) {
    out.push_back({"config-unreadable", "info",
                   "A media server's configuration file could not be read: " + u + ".",
                   "Run natdiag as a user that can read it, or natdiag config check --file "
                   "SERVER=PATH on a copy."});
  }
  return out;
}

void merge_by_severity(std::vector<Finding>& findings, std::vector<Finding> more) {
  const auto rank = [](const std::string& s) {
    return s == "critical" ? 0 : s == "warning" ? 1 : 2;
  };
  for (auto& f : more) {
    const auto at = std::find_if(findings.begin(), findings.end(), [&](const Finding& x) {
      return rank(x.severity) > rank(f.severity);
    });
    findings.insert(at, std::move(f));
  }
}

nlohmann::ordered_json config_json(const ConfigReport& report) {
  nlohmann::ordered_json j;
  j["files"] = nlohmann::ordered_json::array();
  for (const auto& f : report.files) {
    nlohmann::ordered_json error = nullptr;
    if (f.parsed.error) {
      error = {{"line", f.parsed.error->line == 0 ? nlohmann::json(nullptr)
                                                  : nlohmann::json(f.parsed.error->line)},
               {"message", f.parsed.error->message}};
    }
    j["files"].push_back({{"server", f.kind->server},
                          {"role", f.kind->role},
                          {"path", f.parsed.path},
                          {"syntax", f.parsed.syntax},
                          {"found_by", f.found_by},
                          {"settings", f.parsed.settings.size()},
                          {"error", error}});
  }
  j["findings"] = nlohmann::ordered_json::array();
  for (const auto& f : report.findings) {
    nlohmann::ordered_json edits = nlohmann::ordered_json::array();
    for (const auto& e : f.edits) {
      edits.push_back(
          {{"kind",
            e.kind == profile::config::LineEdit::Kind::replace ? "replace" : "insert-after"},
           {"line", e.line},
           {"text", e.text}});
    }
    j["findings"].push_back(
        {{"id", f.id},
         {"severity", f.severity},
         {"server", f.server},
         {"file", f.file},
         {"line", f.line == 0 ? nlohmann::json(nullptr) : nlohmann::json(f.line)},
         {"setting", f.setting.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.setting)},
         {"current", opt(f.current)},
         {"expected", opt(f.expected)},
         {"why", f.why},
         {"edits", edits}});
  }
  return j;
}

void print_config_findings(std::ostream& out, const ConfigReport& report) {
  for (const auto& f : report.findings) {
    out << "  [" << f.severity << "] " << f.file
        << (f.line > 0 ? ":" + std::to_string(f.line) : std::string());
    if (!f.setting.empty()) {
      out << "  " << f.setting << ": "
          << (f.current ? "'" + *f.current + "'" : std::string("(not set)")) << " -> "
          << (f.expected ? "'" + *f.expected + "'" : std::string("(natdiag cannot say)"));
    }
    out << "\n      " << f.why << "\n";
  }
}

}  // namespace natdiag::cli
