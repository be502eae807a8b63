// `natdiag hairpin EXTERNAL_IP`: does this host reach its own public address (hairpin NAT), and
// if not, the dummy NIC and /etc/hosts lines that fix it for this host.
#include <algorithm>
#include <iomanip>
#include <iostream>

#include "hairpin/hairpin.hpp"
#include "src/cli_common.hpp"
#include "src/commands.hpp"
#include "src/server_spec.hpp"

namespace natdiag::cli {
namespace {

using hairpin::CheckResult;
using hairpin::HairpinReport;

/// Gentle: a handful of ports per protocol, never a scan.
constexpr std::size_t kMaxPortsPerProtocol = 16;

struct HairpinCommand {
  hairpin::HairpinOptions hairpin;
  bool json = false;
  bool explain = false;
};

std::vector<std::uint16_t> parse_ports(const cxxopts::ParseResult& args, const char* flag) {
  const auto text = args[flag].as<std::string>();
  auto ports = parse_port_list(text, std::string("--") + flag);
  std::vector<std::uint16_t> unique;
  for (auto p : ports) {
    if (std::find(unique.begin(), unique.end(), p) == unique.end()) unique.push_back(p);
  }
  if (unique.size() > kMaxPortsPerProtocol) {
    throw UsageError("--" + std::string(flag) + " names " + std::to_string(unique.size()) +
                     " ports in '" + text + "'; at most " + std::to_string(kMaxPortsPerProtocol) +
                     " (natdiag probes gently)");
  }
  return unique;
}

stun::TransportAddress parse_external_ip(const std::string& text) {
  auto ip = parse_ip(text, "EXTERNAL_IP");
  const auto& b = ip.ip;
  const bool v4 = ip.family == stun::Family::kIPv4;
  const bool unspecified = std::all_of(b.begin(), b.begin() + static_cast<long>(ip.ip_size()),
                                       [](auto x) { return x == 0; });
  const bool loopback =
      v4 ? b[0] == 127
         : (std::all_of(b.begin(), b.begin() + 15, [](auto x) { return x == 0; }) && b[15] == 1);
  const bool multicast = v4 ? (b[0] >= 224) : b[0] == 0xff;
  if (unspecified || loopback || multicast) {
    throw UsageError("EXTERNAL_IP must be this server's public address, got '" + text + "' (" +
                     (unspecified ? "unspecified"
                      : loopback  ? "loopback"
                                  : "multicast or reserved") +
                     ")");
  }
  return ip;
}

HairpinCommand parse(int argc, char** argv) {
  cxxopts::Options options(
      "natdiag hairpin",
      "Hairpin NAT: can this host reach its own public address EXTERNAL_IP through the router?\n"
      "If not, the dummy NIC (EXTERNAL_IP on lo) and the /etc/hosts line that fix it for this "
      "host.");
  options.custom_help("[OPTIONS]");
  options.positional_help("EXTERNAL_IP");
  // clang-format off
  options.add_options()
      ("tcp", "TCP ports to test (default 443,80)", cxxopts::value<std::string>())
      ("udp", "UDP ports to test (default: 3 free ports sampled in 50000-60000)", cxxopts::value<std::string>())
      ("stun", "also test how the NAT treats UDP mappings (RFC 5780 4.5) with this STUN server HOST[:PORT]", cxxopts::value<std::string>())
      ("hostname", "check that this host name resolves here to EXTERNAL_IP (/etc/hosts)", cxxopts::value<std::string>())
      ("timeout", "seconds for everything; checks run concurrently (default 2)", cxxopts::value<std::string>())
      ("explain", "say why each verdict was reached")
      ("json", "print one JSON object (schema natdiag/1)")
      ("h,help", "show this help")
      ("args", "", cxxopts::value<std::vector<std::string>>());
  // clang-format on
  options.parse_positional({"args"});
  const auto args = parse_args(options, argc, argv);
  if (args.count("help")) {
    std::cout << options.help() << "\nExamples:\n"
              << "  natdiag hairpin 203.0.113.1                          TCP 443, 80 and three "
                 "media UDP ports\n"
              << "  natdiag hairpin 203.0.113.1 --hostname bbb.example.org --explain\n"
              << "  natdiag hairpin 203.0.113.1 --tcp 443,7443 --udp 16384-16386 --json\n"
              << "\nExit codes: 0 hairpin works or EXTERNAL_IP is on this host, 1 hairpin missing "
                 "(dummy NIC needed),\n"
              << "2 bad input, 3 nothing could be tested here (e.g. no permission to listen).\n";
    std::exit(kHealthy);
  }
  const auto positional =
      args.count("args") ? args["args"].as<std::vector<std::string>>() : std::vector<std::string>{};
  if (positional.empty()) throw UsageError("missing EXTERNAL_IP (this server's public IP address)");
  if (positional.size() > 1)
    throw UsageError("too many arguments: '" + positional[1] + "' (expected EXTERNAL_IP)");
  HairpinCommand cmd;
  auto& h = cmd.hairpin;
  h.external_ip = parse_external_ip(positional[0]);
  if (args.count("tcp")) h.tcp_ports = parse_ports(args, "tcp");
  if (args.count("udp")) h.udp_ports = parse_ports(args, "udp");
  if (args.count("stun")) {
    const auto text = args["stun"].as<std::string>();
    const ServerSpec spec = parse_server(text, "--stun");
    if (spec.transport == client::Transport::kTls)
      throw UsageError("--stun needs a UDP STUN server, got '" + text + "'");
    h.stun = hairpin::StunTarget{spec.host, spec.port.value_or(kStunPort)};
  }
  if (args.count("hostname")) {
    h.hostname = args["hostname"].as<std::string>();
    validate_host(*h.hostname, "--hostname");
  }
  if (args.count("timeout"))
    h.timeout = parse_seconds(args["timeout"].as<std::string>(), "--timeout");
  cmd.json = args.count("json") > 0;
  cmd.explain = args.count("explain") > 0;
  return cmd;
}

nlohmann::json optional_string(const std::string& s) {
  return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
}

nlohmann::json ip_list(const std::vector<stun::TransportAddress>& addresses) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& a : addresses) out.push_back(a.ip_string());
  return out;
}

std::string advice_string(const hairpin::Advice& a) {
  std::string s = a.text;
  for (const auto& line : a.lines) s += "\n" + line;
  return s;
}

OutputJson to_json(const HairpinReport& r) {
  auto j = json_header("hairpin");
  j["external_ip"] = r.external_ip.ip_string();
  j["external_ip_is_local"] = r.local.on_interface.has_value();
  j["measured_public_ip"] = r.measured_public ? nlohmann::json(r.measured_public->ip_string())
                                              : nlohmann::json(nullptr);
  j["external_ip_is_public"] = r.measured_public ? nlohmann::json(!r.not_this_host())
                                                 : nlohmann::json(nullptr);
  j["verdict"] = hairpin::verdict_name(r.verdict);
  j["summary"] = r.headline;
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& c : r.checks) {
    checks.push_back({{"protocol", hairpin::protocol_name(c.protocol)},
                      {"port", c.port == 0 ? nlohmann::json(nullptr) : nlohmann::json(c.port)},
                      {"result", hairpin::result_name(c.result)},
                      {"method", c.method == hairpin::Method::kNone
                                     ? nlohmann::json(nullptr)
                                     : nlohmann::json(hairpin::method_name(c.method))},
                      {"detail", c.detail},
                      {"why", optional_string(c.why)},
                      {"returned_from", json_address(c.returned_from)},
                      {"decides_verdict", c.decides_verdict}});
  }
  j["checks"] = checks;
  j["udp_ports_sampled"] = r.udp_ports_sampled;
  const bool show_plan = r.dummy_nic_needed != false;
  const bool show_persist = show_plan || r.persisted == false;
  nlohmann::json persist = nullptr;
  if (show_persist && r.plan.persist) {
    const auto& p = *r.plan.persist;
    persist = {{"stack", hairpin::stack_name(p.stack)},
               {"file", optional_string(p.file)},
               {"where", p.where},
               {"lines", p.lines},
               {"commands", p.commands}};
  }
  j["dummy_nic"] = {
      {"present", r.local.dummy_nic()},
      {"interface", r.local.on_interface ? nlohmann::json(r.local.on_interface->interface)
                                         : nlohmann::json(nullptr)},
      {"needed",
       r.dummy_nic_needed ? nlohmann::json(*r.dummy_nic_needed) : nlohmann::json(nullptr)},
      {"commands", show_plan ? r.plan.commands : std::vector<std::string>{}},
      {"persist", persist},
      {"persisted", r.persisted ? nlohmann::json(*r.persisted) : nlohmann::json(nullptr)}};
  if (r.hostname) {
    const auto& h = *r.hostname;
    const auto line = hairpin::etc_hosts_line(h, r.external_ip);
    j["hostname"] = {{"name", h.name},
                     {"resolves_to", ip_list(h.resolves_to)},
                     {"etc_hosts", ip_list(h.etc_hosts)},
                     {"ok", h.ok},
                     {"etc_hosts_line", line ? nlohmann::json(*line) : nlohmann::json(nullptr)},
                     {"etc_hosts_first_match",
                      h.first_entry ? nlohmann::json{{"line", h.first_entry->line},
                                                     {"ip", h.first_entry->ip.ip_string()}}
                                    : nlohmann::json(nullptr)},
                     {"error", optional_string(h.error)}};
  } else {
    j["hostname"] = nullptr;
  }
  j["network_stack"] = r.stack.stack == hairpin::NetworkStack::kUnknown
                           ? nlohmann::json(nullptr)
                           : nlohmann::json(hairpin::stack_name(r.stack.stack));
  j["network_stack_evidence"] = r.stack.evidence;
  nlohmann::json advice = nlohmann::json::array();
  for (const auto& a : r.advice) advice.push_back(advice_string(a));
  j["advice"] = advice;
  j["elapsed_ms"] = json_ms(r.elapsed);
  return j;
}

std::string check_label(const CheckResult& c) {
  std::string label = c.protocol == hairpin::Protocol::kTcp ? "TCP " : "UDP ";
  if (c.method == hairpin::Method::kStunMapping) return label + "mapping";
  return label + std::to_string(c.port);
}

void print_text(const HairpinCommand& cmd, const HairpinReport& r) {
  std::cout << r.headline << "\n\n";
  for (const auto& c : r.checks) {
    std::cout << "  " << std::left << std::setw(12) << check_label(c) << std::setw(15)
              << hairpin::result_name(c.result) << c.detail << "\n";
  }
  if (r.checks.empty()) std::cout << "  (no ports to test)\n";
  std::cout << "\n";
  auto row = [](const char* label, const std::string& value) {
    std::cout << "  " << std::left << std::setw(16) << label << value << "\n";
  };
  const std::string ip = r.external_ip.ip_string();
  if (r.local.dummy_nic()) {
    row("Dummy NIC:", ip + " is on " + r.local.on_interface->interface +
                          (r.persisted == true    ? " (also in the network configuration)"
                           : r.persisted == false ? " (not persisted)"
                                                  : ""));
  } else if (r.local.direct()) {
    row("Public IP:", ip + " is on " + r.local.on_interface->interface);
  } else {
    row("Dummy NIC:", std::string("none (") + ip + " is not on any interface here)" +
                          (r.dummy_nic_needed == true    ? ": needed"
                           : r.dummy_nic_needed == false ? ": not needed"
                                                         : ""));
  }
  if (r.measured_public) {
    row("Measured:", "a STUN server sees this host as " + r.measured_public->ip_string() +
                         (r.not_this_host() ? " (not " + ip + ")" : ""));
  }
  if (r.hostname) {
    const auto& h = *r.hostname;
    std::string value = h.name + " -> ";
    for (std::size_t i = 0; i < h.resolves_to.size(); ++i)
      value += (i ? ", " : "") + h.resolves_to[i].ip_string();
    if (h.resolves_to.empty())
      value = h.name + " does not resolve (" + h.error + ")";
    else
      value += h.ok ? " (ok)" : " (not " + ip + ")";
    row("Hostname:", value);
  }
  row("Network stack:", r.stack.stack == hairpin::NetworkStack::kUnknown
                            ? "unknown"
                            : std::string(hairpin::stack_name(r.stack.stack)));
  char elapsed[32];
  std::snprintf(elapsed, sizeof elapsed, "%.2f s", static_cast<double>(r.elapsed.count()) / 1e6);
  row("Time:", elapsed);
  if (cmd.explain) {
    std::cout << "\nWhy:\n";
    for (const auto& c : r.checks)
      std::cout << "  " << check_label(c) << ": " << (c.why.empty() ? c.detail : c.why) << "\n";
    std::cout << "  Network stack: " << r.stack.evidence << ".\n";
    std::cout << "  Verdict: " << hairpin::verdict_name(r.verdict)
              << (r.local.on_interface
                      ? " (" + ip +
                            " is on this host, so its own connections to it never reach the router)"
                      : " (from the checks above; the STUN mapping check, if any, does not count)")
              << ".\n";
  }
  if (!r.advice.empty()) {
    std::cout << "\nWhat to do:\n";
    for (const auto& a : r.advice) {
      std::cout << "  - " << a.text << "\n";
      for (const auto& line : a.lines) std::cout << "      " << line << "\n";
    }
  }
}

}  // namespace

int run_hairpin(int argc, char** argv) {
  const HairpinCommand cmd = parse(argc, argv);
  const HairpinReport report = hairpin::run_hairpin(cmd.hairpin);
  if (cmd.json) {
    std::cout << to_json(report).dump(2) << "\n";
  } else {
    print_text(cmd, report);
  }
  switch (report.health) {
    case hairpin::Health::kHealthy: return kHealthy;
    case hairpin::Health::kCannotRun: return kCannotRun;
    case hairpin::Health::kProblem: break;
  }
  return kProblem;
}

}  // namespace natdiag::cli
