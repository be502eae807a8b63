// `natdiag profile`: every test at once within one budget, then one verdict (ok /
// needs-config / broken), the findings in order of importance, and the lines to configure.
#include <algorithm>
#include <iomanip>
#include <iostream>

#include "src/cli_common.hpp"
#include "src/commands.hpp"
#include "src/config_run.hpp"
#include "src/ports/control.hpp"
#include "src/ports/families.hpp"
#include "src/profile/profile_facts.hpp"
#include "src/profile_run.hpp"
#include "src/server_spec.hpp"
#include "src/turn_report.hpp"
#include "src/turn_uri.hpp"
#include "stun/client/turn.hpp"

namespace natdiag::cli {
namespace {

ProfileCommand parse(int argc, char** argv) {
  cxxopts::Options options("natdiag profile",
                           "Everything at once: STUN over UDP and TCP, NAT behaviour, hairpin and ICE gathering,\n"
                           "then one verdict (ok / needs-config / broken) and what to configure.");
  options.custom_help("[OPTIONS]");
  options.add_options()
      ("s,server", "a STUN server HOST[:PORT], best natdiag serve with two addresses (repeatable)", cxxopts::value<std::vector<std::string>>())
      ("turn", "a TURN server URI (turn:host[:port][?transport=tcp], turns:...)", cxxopts::value<std::string>())
      ("user", "TURN user name", cxxopts::value<std::string>())
      ("password", "TURN password", cxxopts::value<std::string>())
      ("secret", "TURN REST shared secret (coturn static-auth-secret) instead of --password", cxxopts::value<std::string>())
      ("external-ip", "the public IP to check hairpin against (default: the one STUN reports)", cxxopts::value<std::string>())
      ("hostname", "the media server's public host name (checked in /etc/hosts)", cxxopts::value<std::string>())
      ("for", "media servers to advise on: kurento,livekit,plugnmeet,freeswitch,bigbluebutton,jitsi,janus,coturn (default all)", cxxopts::value<std::string>())
      ("via", "a natdiag serve --probe-back outside HOST[:PORT]: also test that --for's media ports get through from there (twice: its IPv4 and IPv6 addresses)", cxxopts::value<std::vector<std::string>>())
      ("probe-secret", "the --probe-secret of that natdiag serve", cxxopts::value<std::string>())
      ("timeout", "seconds for everything (default 4; --via's port check takes at least 5 more)", cxxopts::value<std::string>())
      ("root", "look for the media servers' configuration files under DIR (as natdiag config check --root)", cxxopts::value<std::string>())
      ("json", "print one JSON object (schema natdiag/1); save it for natdiag advise --from")
      ("h,help", "show this help");
  const auto args = parse_args(options, argc, argv);
  if (args.count("help")) {
    std::cout << options.help() << "\nExamples:\n"
              << "  natdiag profile --server 203.0.113.10 --for livekit\n"
              << "  natdiag profile --server 203.0.113.10 --via 203.0.113.10 --for livekit   also the ports\n"
              << "  natdiag profile --server stun.example.org --turn turn:turn.example.org --user u --password p\n"
              << "  natdiag profile --server 203.0.113.10 --json > profile.json\n";
    std::exit(kHealthy);
  }
  if (!args.unmatched().empty()) {
    throw UsageError(ErrorKind::kUsage, "unexpected argument '" + args.unmatched().front() + "'",
                     args.unmatched().front());
  }
  ProfileCommand cmd;
  std::vector<std::string> servers;
  if (args.count("server")) servers = args["server"].as<std::vector<std::string>>();
  if (servers.empty()) {
    cmd.default_servers = true;
    servers.assign(std::begin(kDefaultPublicServers), std::end(kDefaultPublicServers));
  }
  for (const auto& s : servers) {
    const ServerSpec spec = parse_server(s, "--server");
    if (spec.transport == client::Transport::kTls) throw bad_value("--server", "takes STUN over UDP/TCP, not stuns:", s);
    const client::ServerTarget target{spec.host, spec.port.value_or(kStunPort)};
    for (const auto& seen : cmd.servers) {
      if (seen.host == target.host && seen.port == target.port) throw conflict("--server " + s + " given twice", s);
    }
    cmd.servers.push_back(target);
  }
  if (args.count("turn")) {
    const TurnUri uri = parse_turn_uri(args["turn"].as<std::string>(), "--turn");
    ice::IceServer turn;
    turn.uri = args["turn"].as<std::string>();
    turn.host = uri.host;
    turn.port = uri.port;
    turn.transport = uri.transport;
    const std::string user = args.count("user") ? args["user"].as<std::string>() : "";
    if (args.count("secret")) {
      turn.credentials = client::rest_credentials(args["secret"].as<std::string>(), user.empty() ? std::string("natdiag") : user);
    } else if (!user.empty() && args.count("password")) {
      turn.credentials = {user, args["password"].as<std::string>()};
    } else {
      throw UsageError(ErrorKind::kUsage, "--turn needs --user and --password, or --secret", args["turn"].as<std::string>());
    }
    check_turn_username(turn.credentials.username, user);
    cmd.turn = turn;
  } else if (args.count("user") || args.count("password") || args.count("secret")) {
    throw UsageError(ErrorKind::kUsage, "--user, --password and --secret go with --turn",
                     args.count("user") ? "--user" : args.count("password") ? "--password" : "--secret");
  }
  if (args.count("external-ip")) cmd.external_ip = parse_ip(args["external-ip"].as<std::string>(), "--external-ip");
  if (args.count("hostname")) {
    cmd.hostname = args["hostname"].as<std::string>();
    validate_host(*cmd.hostname, "--hostname");
  }
  cmd.targets = parse_targets(args.count("for") ? args["for"].as<std::string>() : "");
  if (args.count("timeout")) cmd.timeout = parse_seconds(args["timeout"].as<std::string>(), "--timeout");
  if (args.count("root")) cmd.config_root = args["root"].as<std::string>();
  cmd.json = args.count("json") > 0;
  if (args.count("via")) {
    const auto vias = args["via"].as<std::vector<std::string>>();
    if (vias.size() > 2)
      throw bad_value("--via", "at most twice (the far end's IPv4 and IPv6 addresses)", vias[2]);
    for (const auto& v : vias) {
      const auto spec = parse_server(v, "--via");
      cmd.via.push_back({spec.host, spec.port.value_or(ports::kDefaultControlPort)});
    }
    bool any_ports = false;
    for (const auto& need : ports::server_needs(cmd.targets)) any_ports = any_ports || !need.tcp.empty() || !need.udp.empty();
    if (!any_ports) {
      throw bad_value("--for", "has no fixed ports in natdiag's table for --via to test (Kurento takes any port unless told)",
                      args.count("for") ? args["for"].as<std::string>() : "");
    }
  } else if (args.count("probe-secret")) {
    throw conflict("--probe-secret needs --via", "--probe-secret");
  }
  if (args.count("probe-secret")) cmd.probe_secret = args["probe-secret"].as<std::string>();
  return cmd;
}

OutputJson to_json(const ProfileCommand& cmd, const Measured& m, const ProfileFacts& f,
                       const std::vector<Finding>& findings, const std::map<std::string, Advice>& advice,
                       const ConfigReport& config) {
  auto j = json_header("profile");
  auto opt_s = [](const std::optional<std::string>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  auto opt_b = [](const std::optional<bool>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  j["verdict"] = verdict_of(findings);
  j["public_ipv4"] = opt_s(f.public_ipv4);
  j["public_ipv6"] = opt_s(f.public_ipv6);
  j["behind_nat"] = opt_b(f.behind_nat);
  j["mapping"] = f.mapping;
  j["filtering"] = f.filtering;
  j["udp"] = opt_b(f.udp);
  j["tcp"] = opt_b(f.tcp);
  j["hairpin"] = opt_s(f.hairpin);
  j["dummy_nic"] = {{"present", opt_b(f.dummy_nic_present)},
                    {"needed", f.hairpin == std::optional<std::string>("not-supported") && f.dummy_nic_present != true &&
                                   !f.hairpin_target_not_public()},
                    // Never the commands for an --external-ip that is not this host's address.
                    {"commands", f.hairpin_target_not_public() ? std::vector<std::string>() : f.dummy_nic_commands}};
  j["findings"] = findings_json(findings);
  j["advice"] = advice_json(advice);
  j["elapsed_ms"] = json_ms(m.elapsed);
  j["servers"] = nlohmann::json::array();
  for (const auto& s : cmd.servers) j["servers"].push_back(s.host + ":" + std::to_string(s.port));
  j["default_servers"] = cmd.default_servers;
  j["nat"] = {{"method", m.nat.method.empty() ? nlohmann::json(nullptr) : nlohmann::json(m.nat.method)},
              {"mapping_reason", m.nat.mapping_reason}, {"filtering_reason", m.nat.filtering_reason},
              {"port_preservation", opt_b(m.nat.port_preservation)}, {"elapsed_ms", json_ms(m.nat.elapsed)}};
  nlohmann::json candidates = nlohmann::json::array();
  std::vector<std::string> ice_warnings;
  if (m.ice) {
    for (const auto& c : m.ice->gather.candidates) {
      candidates.push_back({{"type", ice::type_name(c.type)}, {"transport", ice::transport_name(c.transport)},
                            {"address", c.address.ip_string()}, {"port", c.address.port}, {"priority", c.priority},
                            {"foundation", c.foundation}, {"server", c.server.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.server)}});
    }
    ice_warnings = m.ice->warnings;
  }
  j["ice"] = {{"candidates", candidates}, {"warnings", ice_warnings},
              {"error", m.ice_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(m.ice_error)}};
  j["hairpin_detail"] = nlohmann::json::array();
  if (m.hairpin) {
    for (const auto& c : m.hairpin->checks) {
      j["hairpin_detail"].push_back({{"protocol", hairpin::protocol_name(c.protocol)}, {"port", c.port},
                                     {"result", hairpin::result_name(c.result)}, {"detail", c.detail}});
    }
  }
  j["turn_check"] = m.turn_check ? turn_uri_json(cmd.turn->uri, *m.turn_check, false) : OutputJson(nullptr);
  if (m.ports) {
    nlohmann::ordered_json p;
    ports::families_to_json(*m.ports, p);
    j["ports"] = p;
  } else {
    j["ports"] = nullptr;
  }
  j["config"] = config_json(config);
  facts_to_json(f, j);
  return j;
}

void print_text(const Measured& m, const ProfileFacts& f, const std::vector<Finding>& findings,
                const std::map<std::string, Advice>& advice, bool default_servers, const ConfigReport& config) {
  int counts[3] = {0, 0, 0};
  for (const auto& x : findings) ++counts[x.severity == "critical" ? 0 : x.severity == "warning" ? 1 : 2];
  std::cout << "NAT profile: " << verdict_of(findings) << "  (" << counts[0] << " critical, " << counts[1]
            << " warnings, " << counts[2] << " notes)\n\n";
  if (!f.measured()) {
    std::cout << "  Nothing could be measured: no STUN server answered over UDP or TCP"
              << (f.stun_error ? " (" + *f.stun_error + ")" : std::string()) << ".\n\n";
  }
  auto row = [](const char* label, const std::string& value) {
    std::cout << "  " << std::left << std::setw(14) << label << value << "\n";
  };
  row("Public IPv4:", f.public_ipv4.value_or("unknown") +
                          (f.behind_nat == true ? " (behind NAT; this host is " + f.local_ipv4.value_or("?") + ")"
                           : f.behind_nat == false ? " (this host's own address: no NAT)" : ""));
  row("Public IPv6:", f.public_ipv6 ? *f.public_ipv6 + (f.ipv6_udp == true ? " (a STUN server answered over IPv6)"
                                                       : " (on this host; not tested: give an IPv6 --server)")
                     : f.ipv6_udp == false ? "unreachable (the IPv6 STUN server did not answer)"
                                           : "none on this host");
  row("STUN:", std::string("UDP ") + (f.udp == true ? "works" : "fails") + ", TCP " + (f.tcp == true ? "works" : "fails") +
                   (default_servers ? " (default public servers: give --server)" : ""));
  row("NAT:", f.mapping + " mapping, " + f.filtering + " filtering");
  std::string untested;
  for (const auto& u : f.hairpin_untested) untested += (untested.empty() ? "" : ", ") + u;
  row("Hairpin:", m.hairpin ? std::string(hairpin::verdict_name(m.hairpin->verdict)) +
                                  (f.hairpin_target_not_public() ? " (for --external-ip " + *f.hairpin_target + ", not this host's)" : "") +
                                  (f.dummy_nic_present == true ? " (public IP is on " + m.hairpin->local.on_interface->interface + ")" : "") +
                                  (untested.empty() ? "" : "; " + untested + " could not be tested (needs root)")
                            : "not checked: " + m.hairpin_error);
  if (m.ice) {
    std::map<std::string, int> by_type;
    for (const auto& c : m.ice->gather.candidates) ++by_type[std::string(ice::type_name(c.type))];
    std::string ice_line;
    for (const auto& [type, n] : by_type) ice_line += (ice_line.empty() ? "" : ", ") + std::to_string(n) + " " + type;
    row("ICE:", ice_line.empty() ? "no candidates" : ice_line);
  } else {
    row("ICE:", "not run: " + m.ice_error);
  }
  if (m.turn_check) row("TURN:", (m.turn_check->problem.empty() ? "" : "NOT working: ") + m.turn_check->verdict);
  if (m.ports) {
    std::string line;
    for (const auto& run : m.ports->runs) {
      if (!run.report) continue;
      line += (line.empty() ? "" : "; ") + run.report->family.value_or("") + ": " + ports::verdict_line(*run.report);
    }
    row("Ports:", line);
  } else if (!m.ports_error.empty()) {
    row("Ports:", "not tested: " + m.ports_error);
  }
  std::string config_files;
  for (const auto& c : config.files) config_files += (config_files.empty() ? "" : ", ") + c.parsed.path;
  row("Config files:", config_files.empty() ? "none found (natdiag config check --file SERVER=PATH)"
                                            : config_files + " (" + std::to_string(config.findings.size()) + " findings)");
  char elapsed[32];
  std::snprintf(elapsed, sizeof elapsed, "%.2f s", static_cast<double>(m.elapsed.count()) / 1e6);
  row("Time:", elapsed);
  print_findings_and_advice(std::cout, findings, advice);
}

}  // namespace

int run_profile(int argc, char** argv) {
  const ProfileCommand cmd = parse(argc, argv);
  const Measured m = measure(cmd);
  const ProfileFacts facts = facts_of(cmd, m);
  std::vector<Finding> findings = evaluate(facts, cmd.targets);
  if (m.ice) {
    for (const auto& w : m.ice->warnings) {
      // The finding stun-no-classic (from the facts, so advise --from has it too) says it.
      if (facts.stun_rfc3489 == false && w.find("refuses classic STUN") != std::string::npos) continue;
      findings.push_back({"ice", "info", "ICE: " + w, ""});
    }
  }
  if (m.turn_check) {
    for (auto& f : turn_profile_findings(cmd.turn->uri, *m.turn_check)) findings.push_back(std::move(f));
  }
  // The media servers' own files, when they are here (natdiag config check).
  const ConfigReport config = check_installed_config(cmd.targets, cmd.config_root, facts);
  merge_by_severity(findings, as_profile_findings(config));
  const auto advice = advise(facts, cmd.targets);
  if (cmd.json) {
    print_json(to_json(cmd, m, facts, findings, advice, config));
  } else {
    print_text(m, facts, findings, advice, cmd.default_servers, config);
  }
  return verdict_of(findings) == "ok" ? kHealthy : kProblem;
}

}  // namespace natdiag::cli

namespace natdiag::cli {

ProfileFacts measure_profile_facts(const std::vector<std::string>& profile_args) {
  std::vector<std::string> words{"profile"};
  words.insert(words.end(), profile_args.begin(), profile_args.end());
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  const ProfileCommand cmd = parse(static_cast<int>(words.size()), argv.data());
  return facts_of(cmd, measure(cmd));
}

}  // namespace natdiag::cli
