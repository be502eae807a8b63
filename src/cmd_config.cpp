// `natdiag config check`: the media servers' own configuration files against the network as
// measured (a profile run, or a saved one with --from): file:line, the value, the right value
// and why; --diff prints the fixes as a unified diff for `patch`.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "src/cli_common.hpp"
#include "src/commands.hpp"
#include "src/config_run.hpp"
#include "src/profile/profile_facts.hpp"
#include "src/profile_run.hpp"

namespace natdiag::cli {
namespace {

struct ConfigCommand {
  ConfigSelection selection;
  std::optional<std::string> from;
  std::optional<std::string> ports;
  std::vector<std::string> profile_args;  ///< --server, --timeout: for the profile run
  std::chrono::microseconds timeout = std::chrono::seconds(2);
  bool diff = false;
  bool json = false;
};

ConfigCommand parse(int argc, char** argv) {
  cxxopts::Options options(
      "natdiag config",
      "check: compare the media servers' configuration files with the network as measured\n"
      "(a profile run, or a saved one with --from): file:line, the value, the right value, why.");
  options.custom_help("check [OPTIONS]");
  options.positional_help("");
  // clang-format off
  options.add_options()
      ("for", "media servers whose standard files to check: "
              "kurento,livekit,plugnmeet,freeswitch,bigbluebutton,jitsi,janus,coturn (default all)",
       cxxopts::value<std::string>())
      ("file", "check this file as SERVER's instead of the standard paths (repeatable): SERVER=PATH",
       cxxopts::value<std::vector<std::string>>())
      ("root", "look for the standard paths under DIR (DIR/etc/janus/janus.jcfg ...)", cxxopts::value<std::string>())
      ("from", "the facts of a saved natdiag profile --json instead of measuring them", cxxopts::value<std::string>())
      ("ports", "measured port ranges: a saved natdiag ports --json", cxxopts::value<std::string>())
      ("s,server", "for the measurement: a STUN server HOST[:PORT] (repeatable, as for profile)",
       cxxopts::value<std::vector<std::string>>())
      ("via", "for the measurement: natdiag serve --probe-back outside HOST[:PORT]; the --for servers' "
              "media ports are measured too (as profile --via)",
       cxxopts::value<std::vector<std::string>>())
      ("probe-secret", "the --probe-secret of that natdiag serve", cxxopts::value<std::string>())
      ("timeout", "seconds for the measurement (default 2)", cxxopts::value<std::string>())
      ("diff", "print only the unified diff of the fixes (apply: patch -d / -p1, or -d ROOT)")
      ("json", "print one JSON object (schema natdiag/1)")
      ("h,help", "show this help");
  // clang-format on
  options.parse_positional({"action"});
  options.add_options()("action", "", cxxopts::value<std::vector<std::string>>());
  const auto args = parse_args(options, argc, argv);
  if (args.count("help")) {
    std::cout << options.help() << "\nExamples:\n"
              << "  natdiag config check --server 203.0.113.10\n"
              << "  natdiag config check --from profile.json --file janus=/etc/janus/janus.jcfg\n"
              << "  natdiag config check --from profile.json --diff > fix.diff && patch -d / -p1 < "
                 "fix.diff\n";
    std::exit(kHealthy);
  }
  const auto actions = args.count("action") ? args["action"].as<std::vector<std::string>>()
                                            : std::vector<std::string>();
  if (actions.empty()) throw UsageError("natdiag config needs an action: check");
  if (actions.front() != "check")
    throw UsageError(ErrorKind::kUsage, "unknown action '" + actions.front() + "' (check)",
                     actions.front());
  if (actions.size() > 1)
    throw UsageError(ErrorKind::kUsage, "unexpected argument '" + actions[1] + "'", actions[1]);
  ConfigCommand cmd;
  cmd.selection.servers = config_check_servers();
  if (args.count("for")) {
    const auto wanted = parse_targets(args["for"].as<std::string>());
    std::vector<std::string> servers;
    for (const auto& s : cmd.selection.servers) {
      if (std::find(wanted.begin(), wanted.end(), s) != wanted.end()) servers.push_back(s);
    }
    cmd.selection.servers = servers;
  }
  if (args.count("file")) {
    for (const auto& f : args["file"].as<std::vector<std::string>>()) {
      auto file = parse_file_option(f);
      // One file checked twice would get its fixes twice: a diff patch cannot apply.
      for (const auto& seen : cmd.selection.files) {
        std::error_code ec;
        if (seen.second == file.second || std::filesystem::equivalent(seen.second, file.second, ec)) {
          throw conflict("--file " + file.second + " given twice", file.second);
        }
      }
      cmd.selection.files.push_back(std::move(file));
    }
  }
  if (args.count("root")) {
    cmd.selection.root = args["root"].as<std::string>();
    std::error_code ec;
    if (!std::filesystem::is_directory(cmd.selection.root, ec))
      throw bad_value("--root", "is not a directory", cmd.selection.root);
  }
  if (args.count("from")) cmd.from = args["from"].as<std::string>();
  if (args.count("ports")) cmd.ports = args["ports"].as<std::string>();
  if (args.count("server")) {
    if (cmd.from)
      throw conflict("--server measures; --from reads saved facts: give one of them", "--server");
    for (const auto& s : args["server"].as<std::vector<std::string>>()) {
      cmd.profile_args.push_back("--server");
      cmd.profile_args.push_back(s);
    }
  }
  for (const char* measuring : {"via", "probe-secret"}) {
    if (args.count(measuring) && cmd.from) {
      throw conflict(std::string("--") + measuring + " measures; --from reads saved facts: give one of them",
                     std::string("--") + measuring);
    }
  }
  if (args.count("via")) {
    for (const auto& v : args["via"].as<std::vector<std::string>>()) {
      cmd.profile_args.push_back("--via");
      cmd.profile_args.push_back(v);
    }
    // The port check tests the ports of the servers checked here.
    if (args.count("for")) {
      cmd.profile_args.push_back("--for");
      cmd.profile_args.push_back(args["for"].as<std::string>());
    }
  }
  if (args.count("probe-secret")) {
    cmd.profile_args.push_back("--probe-secret");
    cmd.profile_args.push_back(args["probe-secret"].as<std::string>());
  }
  if (args.count("timeout")) {
    cmd.timeout = parse_seconds(args["timeout"].as<std::string>(), "--timeout");
    cmd.profile_args.push_back("--timeout");
    cmd.profile_args.push_back(args["timeout"].as<std::string>());
  } else {
    cmd.profile_args.push_back("--timeout");
    cmd.profile_args.push_back("2");
  }
  cmd.diff = args.count("diff") > 0;
  cmd.json = args.count("json") > 0;
  if (cmd.diff && cmd.json)
    throw conflict("--diff prints a patch, --json a JSON object: give one of them", "--diff");
  return cmd;
}

nlohmann::json read_json_file(const std::string& path, const std::string& what) {
  std::stringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
  } else {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
      throw bad_value(what, "is a directory, not a JSON file", path);
    std::ifstream in(path);
    if (!in)
      throw bad_value(what, std::string("cannot be read (") + std::strerror(errno) + ")", path);
    text << in.rdbuf();
  }
  try {
    return nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    throw bad_value(what, "is not JSON (" + std::string(e.what()).substr(0, 120) + ")", path);
  }
}

profile::config::ConfigFacts load_facts(const ConfigCommand& cmd, const ConfigReport& report) {
  profile::config::ConfigFacts facts;
  if (cmd.from) {
    // A profile saved with --via carries the ports it measured in its facts (ports_measured).
    facts = profile::config::config_facts_of(facts_from_json(read_json_file(*cmd.from, "--from")));
  } else {
    facts = profile::config::config_facts_of(measure_profile_facts(cmd.profile_args));
    facts.stun_answers = probe_named_stun_servers(report, cmd.timeout);
  }
  if (cmd.ports) {
    facts.udp_ports.clear();
    facts.tcp_ports.clear();
    read_measured_ports(read_json_file(*cmd.ports, "--ports"), facts, "--ports");
  }
  return facts;
}

void print_text(const ConfigReport& report, const profile::config::ConfigFacts& facts,
                bool measured) {
  int counts[3] = {0, 0, 0};
  for (const auto& f : report.findings)
    ++counts[f.severity == "critical" ? 0 : f.severity == "warning" ? 1 : 2];
  std::cout << "Configuration check: " << profile::config::config_verdict(report.findings) << "  ("
            << counts[0] << " critical, " << counts[1] << " warnings, " << counts[2]
            << " notes)\n\n";
  const auto& p = facts.profile;
  std::cout << "  Facts (" << (measured ? "measured now" : "saved profile") << "): public IPv4 "
            << p.public_ipv4.value_or("unknown") << ", local " << p.local_ipv4.value_or("unknown")
            << (p.behind_nat == true    ? ", behind NAT"
                : p.behind_nat == false ? ", no NAT"
                                        : "")
            << "\n";
  std::cout << "  Checked:\n";
  for (const auto& f : report.files) {
    std::cout << "    " << f.parsed.path << " (" << f.kind->server << ", " << f.parsed.syntax << ")"
              << (f.parsed.error ? "  SYNTAX ERROR" : "") << "\n";
  }
  if (!report.findings.empty()) {
    std::cout << "\nFindings, most important first:\n";
    print_config_findings(std::cout, report);
    if (!config_diff(report).empty()) {
      std::cout << "\nThe fixes as a patch: natdiag config check ... --diff > fix.diff; patch -d "
                << report.diff_base << " -p1 < fix.diff\n";
    }
  }
}

}  // namespace

int run_config(int argc, char** argv) {
  const ConfigCommand cmd = parse(argc, argv);
  ConfigReport report = read_config_files(cmd.selection);
  if (report.files.empty()) {
    // Nothing to check is not "ok": say so before measuring anything (exit 3, as any check
    // that cannot run here).
    std::string servers;
    if (cmd.selection.servers != config_check_servers()) {
      for (const auto& s : cmd.selection.servers) servers += (servers.empty() ? "" : ",") + s;
    }
    const std::string where = cmd.selection.root.empty() ? "" : " under " + cmd.selection.root;
    throw CliError(ErrorKind::kCannotRun,
                   "no configuration file of " + (servers.empty() ? "any media server" : servers) +
                       " found at its standard paths" + where + " (" +
                       std::to_string(report.looked_at.size()) +
                       " looked at, listed in the README); give one with --file SERVER=PATH",
                   cmd.selection.root.empty() ? servers : cmd.selection.root);
  }
  const auto facts = load_facts(cmd, report);
  check_config_files(report, facts);
  const std::string verdict = profile::config::config_verdict(report.findings);
  if (cmd.diff) {
    std::cout << config_diff(report);
  } else if (cmd.json) {
    auto j = json_header("config");
    j["action"] = "check";
    j["verdict"] = verdict;
    j["facts_from"] = cmd.from ? nlohmann::json(*cmd.from) : nlohmann::json(nullptr);
    j["public_ipv4"] = facts.profile.public_ipv4 ? nlohmann::json(*facts.profile.public_ipv4)
                                                 : nlohmann::json(nullptr);
    j["local_ipv4"] = facts.profile.local_ipv4 ? nlohmann::json(*facts.profile.local_ipv4)
                                               : nlohmann::json(nullptr);
    j["behind_nat"] = facts.profile.behind_nat ? nlohmann::json(*facts.profile.behind_nat)
                                               : nlohmann::json(nullptr);
    const auto checked = config_json(report);
    for (const auto& [key, value] : checked.items()) j[key] = value;
    j["looked_at"] = report.looked_at;
    nlohmann::json answers = nlohmann::json::object();
    for (const auto& [server, answered] : facts.stun_answers) answers[server] = answered;
    j["stun_answers"] = answers;
    const auto diff = config_diff(report);
    j["diff"] = diff.empty() ? nlohmann::json(nullptr) : nlohmann::json(diff);
    j["diff_base"] = report.diff_base;
    print_json(j);
  } else {
    print_text(report, facts, !cmd.from);
  }
  // Exit 1 for anything above info (a syntax error is critical).
  return verdict == "ok" ? kHealthy : kProblem;
}

}  // namespace natdiag::cli
