// `natdiag stun [HOST] [PORT]`: the Binding test, the stunclient equivalent.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "src/cli_common.hpp"
#include "src/commands.hpp"
#include "src/server_spec.hpp"
#include "stun/client/binding.hpp"
#include "stun/net/socket.hpp"

namespace natdiag::cli {
namespace {

struct StunCommand {
  client::BindingOptions binding;
  bool json = false;
  bool verbose = false;
};

client::Transport parse_transport(std::string_view text) {
  if (text == "udp") return client::Transport::kUdp;
  if (text == "tcp") return client::Transport::kTcp;
  if (text == "tls") return client::Transport::kTls;
  throw bad_value("--transport", "must be udp, tcp or tls", text);
}

StunCommand parse(int argc, char** argv) {
  cxxopts::Options options("natdiag stun", "Binding test: ask a STUN server which address it sees (RFC 8489).");
  options.custom_help("[OPTIONS]");
  options.positional_help("[HOST|URI] [PORT]");
  options.add_options()
      ("t,transport", "udp, tcp or tls", cxxopts::value<std::string>())
      ("4,ipv4", "use IPv4 only")
      ("6,ipv6", "use IPv6 only")
      ("local", "bind to this IP[:PORT]", cxxopts::value<std::string>())
      ("timeout", "seconds to wait for each binding (default 3)", cxxopts::value<std::string>())
      ("rto", "initial retransmission timeout in seconds (default 0.5, RFC 8489)", cxxopts::value<std::string>())
      ("c,count", "send N binding requests, one after the other (RTT min/avg/max, loss)", cxxopts::value<std::string>())
      ("insecure", "TLS: do not verify the server certificate")
      ("ca-file", "TLS: trust this PEM CA file too", cxxopts::value<std::string>())
      ("json", "print one JSON object (schema natdiag/1)")
      ("v,verbose", "print every attribute of the response and ignored packets")
      ("h,help", "show this help")
      ("args", "", cxxopts::value<std::vector<std::string>>());
  options.parse_positional({"args"});
  const auto args = parse_args(options, argc, argv);
  if (args.count("help")) {
    std::cout << options.help() << "\nExamples:\n"
              << "  natdiag stun                       stun.l.google.com:19302 over UDP\n"
              << "  natdiag stun 19302                 the default server on port 19302\n"
              << "  natdiag stun stun.example.org      port 3478\n"
              << "  natdiag stun stuns:turn.example.org   TLS on port 5349\n"
              << "  natdiag stun 127.0.0.1 3478 --transport tcp --json\n";
    std::exit(kHealthy);
  }
  StunCommand cmd;
  const auto positional = args.count("args") ? args["args"].as<std::vector<std::string>>()
                                              : std::vector<std::string>{};
  if (positional.size() > 2) {
    throw UsageError(ErrorKind::kUsage, "too many arguments: '" + positional[2] + "' (expected [HOST] [PORT])",
                     positional[2]);
  }
  ServerSpec spec{std::string(kDefaultStunHost), kDefaultStunHostPort, std::nullopt};
  if (positional.size() == 1 && !positional[0].empty() &&
      std::all_of(positional[0].begin(), positional[0].end(), ::isdigit)) {
    spec.port = parse_port(positional[0], "PORT");  // a lone number is a port
  } else if (!positional.empty()) {
    spec = parse_server(positional[0], "HOST");
    if (positional.size() == 2) {
      if (spec.port) throw conflict("port given twice: '" + positional[0] + "' and '" + positional[1] + "'", positional[1]);
      spec.port = parse_port(positional[1], "PORT");
    }
  }
  auto& b = cmd.binding;
  b.host = spec.host;
  b.transport = spec.transport.value_or(client::Transport::kUdp);
  if (args.count("transport")) {
    const auto flag = parse_transport(args["transport"].as<std::string>());
    if (spec.transport && *spec.transport == client::Transport::kTls && flag != client::Transport::kTls) {
      throw conflict("a stuns: URI needs --transport tls, got '" + args["transport"].as<std::string>() + "'",
                     args["transport"].as<std::string>());
    }
    b.transport = flag;
  }
  b.port = spec.port.value_or(b.transport == client::Transport::kTls ? kStunsPort : kStunPort);
  b.family = family_from_flags(args);
  check_family(b.host, b.family, "HOST");
  if (args.count("local")) {
    const auto text = args["local"].as<std::string>();
    b.local = parse_ip_port(text, "--local");
    const auto local_family =
        b.local->family == stun::Family::kIPv4 ? net::FamilyPreference::kIPv4Only : net::FamilyPreference::kIPv6Only;
    if (b.family != net::FamilyPreference::kAny && b.family != local_family) {
      throw conflict("--local " + text + " is of the other address family than " +
                         (b.family == net::FamilyPreference::kIPv4Only ? "-4" : "-6"),
                     text);
    }
    if (const auto literal = stun::TransportAddress::parse(b.host); literal && literal->family != b.local->family) {
      throw conflict("--local " + text + " and HOST " + b.host + " are of different address families", text);
    }
    b.family = local_family;  // a host name is then resolved in the family the socket can use
  }
  if (args.count("timeout")) {
    const auto text = args["timeout"].as<std::string>();
    b.timeout = parse_seconds(text, "--timeout");
    // Below this a "fail" would be a verdict from a wait too short for any answer.
    if (b.timeout < std::chrono::milliseconds(100)) {
      throw bad_value("--timeout", "must be at least 0.1 s (one request and its answer)", text);
    }
  }
  if (args.count("rto")) b.policy.initial_rto = parse_seconds(args["rto"].as<std::string>(), "--rto");
  if (args.count("count")) b.count = parse_int(args["count"].as<std::string>(), "--count", 1, 1000);
  b.tls_verify = args.count("insecure") == 0;
  if (args.count("ca-file")) {
    b.ca_file = args["ca-file"].as<std::string>();
    if (b.transport != client::Transport::kTls) {
      throw conflict("--ca-file goes with TLS (stuns: or --transport tls)", b.ca_file);
    }
    check_pem_file(b.ca_file, "--ca-file");
  }
  cmd.json = args.count("json") > 0;
  cmd.verbose = args.count("verbose") > 0;
  return cmd;
}

struct RttStats {
  std::chrono::microseconds min{}, avg{}, max{};
  int received = 0;
};

RttStats rtt_stats(const client::BindingReport& report) {
  RttStats s;
  std::chrono::microseconds total{};
  for (const auto& a : report.attempts) {
    if (!a.success || !a.rtt) continue;
    s.min = s.received == 0 ? *a.rtt : std::min(s.min, *a.rtt);
    s.max = std::max(s.max, *a.rtt);
    total += *a.rtt;
    ++s.received;
  }
  if (s.received > 0) s.avg = total / s.received;
  return s;
}

std::optional<bool> behind_nat(const client::BindingAttempt* ok) {
  if (ok == nullptr || !ok->local || !ok->facts.mapped) return std::nullopt;
  return !(*ok->local == *ok->facts.mapped);
}

// How an attempt failed ("timeout", "refused-by-server", ...), null when it did not.
nlohmann::json failure_json(const client::BindingAttempt* a) {
  if (a == nullptr || a->failure == client::Failure::kNone) return nullptr;
  return std::string(client::failure_name(a->failure));
}

// Who sent the ICMP error that ended an attempt, null when none did.
nlohmann::json refused_by_json(const client::BindingAttempt* a) {
  if (a == nullptr || !a->refused_by) return nullptr;
  return a->refused_by->ip_string();
}

OutputJson to_json(const StunCommand& cmd, const client::BindingReport& report) {
  const auto* ok = report.last_success();
  const auto* last = report.attempts.empty() ? nullptr : &report.attempts.back();
  const auto* shown = ok ? ok : last;
  auto j = json_header("stun");
  j["server"] = {{"host", report.host},
                 {"port", cmd.binding.port},
                 {"address", json_address(report.server)},
                 {"transport", client::transport_name(report.transport)}};
  j["binding"] = ok ? "success" : "fail";
  j["local_address"] = json_address(shown ? shown->local : std::nullopt);
  j["mapped_address"] = json_address(ok ? ok->facts.mapped : std::nullopt);
  j["rtt_ms"] = json_ms(ok ? ok->rtt : std::nullopt);
  j["software"] = shown && shown->facts.software ? nlohmann::json(*shown->facts.software) : nullptr;
  j["other_address"] = json_address(shown ? shown->facts.other_address : std::nullopt);
  j["response_origin"] = json_address(shown ? shown->facts.response_origin : std::nullopt);
  const auto nat = behind_nat(ok);
  j["behind_nat"] = nat ? nlohmann::json(*nat) : nullptr;
  std::string error = report.error;
  if (error.empty() && !ok && last) error = last->error;
  j["error"] = error.empty() ? nlohmann::json(nullptr) : nlohmann::json(error);
  j["error_code"] = last && last->facts.error_code ? nlohmann::json(*last->facts.error_code) : nullptr;
  j["failure"] = failure_json(ok ? nullptr : last);
  j["refused_by"] = refused_by_json(ok ? nullptr : last);
  const auto stats = rtt_stats(report);
  const int sent = static_cast<int>(report.attempts.size());
  j["requests"] = sent;
  j["responses"] = stats.received;
  j["loss"] = sent ? static_cast<double>(sent - stats.received) / sent : 0.0;
  j["rtt_min_ms"] = json_ms(stats.received ? std::optional(stats.min) : std::nullopt);
  j["rtt_avg_ms"] = json_ms(stats.received ? std::optional(stats.avg) : std::nullopt);
  j["rtt_max_ms"] = json_ms(stats.received ? std::optional(stats.max) : std::nullopt);
  nlohmann::json attempts = nlohmann::json::array();
  for (const auto& a : report.attempts) {
    nlohmann::json attrs = nlohmann::json::array();
    for (const auto& [name, value] : a.facts.attributes) attrs.push_back({{"type", name}, {"value", value}});
    attempts.push_back({{"success", a.success},
                        {"local_address", json_address(a.local)},
                        {"mapped_address", json_address(a.facts.mapped)},
                        {"rtt_ms", json_ms(a.rtt)},
                        {"transmissions", a.transmissions},
                        {"error", a.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.error)},
                        {"failure", failure_json(&a)},
                        {"refused_by", refused_by_json(&a)},
                        {"attributes", attrs}});
  }
  j["attempts"] = attempts;
  j["ignored_packets"] = json_ignored_packets(report.ignored);
  return j;
}

void print_text(const StunCommand& cmd, const client::BindingReport& report) {
  const auto* ok = report.last_success();
  const auto* last = report.attempts.empty() ? nullptr : &report.attempts.back();
  const auto* shown = ok ? ok : last;
  std::cout << "Binding test: " << (ok ? "success" : "fail") << "\n";
  if (shown && shown->local) std::cout << "Local address: " << shown->local->to_string() << "\n";
  if (ok && ok->facts.mapped) std::cout << "Mapped address: " << ok->facts.mapped->to_string() << "\n";
  const std::string server = report.server ? report.server->to_string() : report.host;
  std::cout << "Server: " << report.host;
  if (report.server && report.server->ip_string() != report.host) std::cout << " (" << server << ")";
  else if (report.server) std::cout << " port " << report.server->port;
  std::cout << " over " << client::transport_name(report.transport) << "\n";
  if (!ok) {
    std::cout << "Error: " << (!report.error.empty() ? report.error : last ? last->error : "no attempt") << "\n";
  }
  const auto stats = rtt_stats(report);
  if (report.attempts.size() > 1) {
    std::cout << "RTT: min " << format_ms(stats.min) << ", avg " << format_ms(stats.avg) << ", max "
              << format_ms(stats.max) << "; " << report.attempts.size() << " sent, " << stats.received
              << " answered, "
              << (100 * (report.attempts.size() - static_cast<std::size_t>(stats.received)) / report.attempts.size())
              << "% loss\n";
  } else if (ok && ok->rtt) {
    std::cout << "RTT: " << format_ms(*ok->rtt) << "\n";
  }
  if (shown && shown->facts.software) std::cout << "Server software: " << *shown->facts.software << "\n";
  if (shown && shown->facts.other_address) std::cout << "Other address: " << shown->facts.other_address->to_string() << " (RFC 5780 NAT discovery possible)\n";
  if (shown && shown->facts.response_origin) std::cout << "Response origin: " << shown->facts.response_origin->to_string() << "\n";
  if (const auto nat = behind_nat(ok)) {
    std::cout << "Behind NAT: " << (*nat ? "yes (the local and mapped addresses differ)" : "no (mapped address is the local address)") << "\n";
  }
  const auto& ig = report.ignored;
  if (ig.total() > 0) {
    std::cout << "Ignored packets: " << ig.total() << " (" << ig.malformed << " malformed, " << ig.unmatched
              << " with an unknown transaction ID, " << ig.wrong_source << " from the wrong address, "
              << ig.duplicates << " duplicates, " << ig.not_a_response << " not a response)\n";
  }
  if (cmd.verbose) {
    for (const auto& note : ig.notes) std::cout << "  ignored: " << note << "\n";
    if (shown) {
      for (const auto& [name, value] : shown->facts.attributes) std::cout << "  " << name << ": " << value << "\n";
    }
  }
}

}  // namespace

int run_stun(int argc, char** argv) {
  const StunCommand cmd = parse(argc, argv);
  const client::BindingReport report = client::run_binding_test(cmd.binding);  // SocketError: exit 3
  if (cmd.json) {
    print_json(to_json(cmd, report));
  } else {
    print_text(cmd, report);
  }
  return report.success() ? kHealthy : kProblem;
}

}  // namespace natdiag::cli
