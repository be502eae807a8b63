// `natdiag nat [HOST[:PORT]]`: NAT behaviour discovery (RFC 5780, or multi-server).
#include <algorithm>
#include <iomanip>
#include <iostream>

#include "src/profile/advice.hpp"
#include "src/cli_common.hpp"
#include "src/commands.hpp"
#include "src/server_spec.hpp"
#include "stun/client/nat_discovery.hpp"

namespace natdiag::cli {
namespace {

using client::Behaviour;
using stun::rfc5780::behaviour_name;


struct NatCommand {
  client::NatOptions nat;
  bool json = false;
  bool verbose = false;
  bool default_servers = false;
  std::vector<std::string> targets;  ///< --for: whose media ranges the test ports must avoid
};

NatCommand parse(int argc, char** argv) {
  cxxopts::Options options("natdiag nat",
                           "NAT behaviour discovery: mapping and filtering (RFC 5780, RFC 4787 names).\n"
                           "One server with OTHER-ADDRESS (natdiag serve): the full RFC 5780 tests.\n"
                           "Two or more --server: the multi-server method (mapping only).");
  options.custom_help("[OPTIONS]");
  options.positional_help("[HOST[:PORT]|stun:URI]");
  options.add_options()
      ("s,server", "a STUN server HOST[:PORT] (repeat for the multi-server method)", cxxopts::value<std::vector<std::string>>())
      ("t,transport", "udp (mapping and filtering) or tcp (mapping only)", cxxopts::value<std::string>())
      ("4,ipv4", "use IPv4 only")
      ("6,ipv6", "use IPv6 only")
      ("local", "bind the test sockets to this IP", cxxopts::value<std::string>())
      ("local-ports", "bind the test sockets in this port range, away from forwarded media ports (default 40000-49151)", cxxopts::value<std::string>())
      ("timeout", "seconds for the whole discovery (default 3, at least 1)", cxxopts::value<std::string>())
      ("for", "media servers whose UDP media ranges the test ports must avoid: kurento,livekit,plugnmeet,freeswitch,bigbluebutton,jitsi,janus,coturn (default all)", cxxopts::value<std::string>())
      ("json", "print one JSON object (schema natdiag/1)")
      ("v,verbose", "print every test and ignored packet")
      ("h,help", "show this help")
      ("args", "", cxxopts::value<std::vector<std::string>>());
  options.parse_positional({"args"});
  const auto args = parse_args(options, argc, argv);
  if (args.count("help")) {
    std::cout << options.help() << "\nExamples:\n"
              << "  natdiag nat 203.0.113.10                    RFC 5780 against natdiag serve\n"
              << "  natdiag nat -s stun.a.example -s stun.b.example   multi-server (mapping only)\n"
              << "  natdiag nat 203.0.113.10 --json\n";
    std::exit(kHealthy);
  }
  NatCommand cmd;
  auto& n = cmd.nat;
  std::vector<std::string> servers;
  if (args.count("args")) servers = args["args"].as<std::vector<std::string>>();
  if (servers.size() > 2) {
    throw UsageError(ErrorKind::kUsage, "too many arguments: '" + servers[2] + "' (expected [HOST] [PORT])", servers[2]);
  }
  std::optional<std::uint16_t> lone_port;
  if (servers.size() == 2) {
    lone_port = parse_port(servers[1], "PORT");
    servers.pop_back();
  }
  if (args.count("server")) {
    for (const auto& s : args["server"].as<std::vector<std::string>>()) servers.push_back(s);
  }
  if (servers.empty()) {
    cmd.default_servers = true;
    servers.assign(std::begin(kDefaultPublicServers), std::end(kDefaultPublicServers));
  }
  n.family = family_from_flags(args);
  for (std::size_t i = 0; i < servers.size(); ++i) {
    const char* what = i == 0 && args.count("args") ? "HOST" : "--server";
    const ServerSpec spec = parse_server(servers[i], what);
    if (spec.transport == client::Transport::kTls) {
      throw bad_value(what, "is a stuns: (TLS) server; NAT discovery runs over UDP or TCP", servers[i]);
    }
    check_family(spec.host, n.family, what);
    const client::ServerTarget target{spec.host, (i == 0 && lone_port) ? *lone_port : spec.port.value_or(kStunPort)};
    for (const auto& seen : n.servers) {
      if (seen.host == target.host && seen.port == target.port) {
        throw conflict("server " + servers[i] + " given twice: the multi-server method needs different servers",
                       servers[i]);
      }
    }
    n.servers.push_back(target);
  }
  if (args.count("transport")) {
    const auto t = args["transport"].as<std::string>();
    if (t != "udp" && t != "tcp") throw bad_value("--transport", "must be udp or tcp", t);
    n.transport = t == "tcp" ? client::Transport::kTcp : client::Transport::kUdp;
  }
  if (args.count("local")) {
    const auto text = args["local"].as<std::string>();
    n.local_ip = parse_ip(text, "--local");
    // The mapping tests compare the mapped address with this one: it must be the real source.
    if (std::all_of(n.local_ip->ip.begin(),
                    n.local_ip->ip.begin() + static_cast<long>(n.local_ip->ip_size()),
                    [](auto b) { return b == 0; })) {
      throw bad_value("--local", "must be one of this host's addresses, not the unspecified one",
                      text);
    }
    check_family(n.local_ip->ip_string(), n.family, "--local");
    for (const auto& s : n.servers) {
      const auto literal = stun::TransportAddress::parse(s.host);
      if (literal && literal->family != n.local_ip->family) {
        throw conflict("--local " + text + " and server " + s.host + " are of different address families", text);
      }
    }
  }
  if (args.count("local-ports")) {
    const auto [first, last] = parse_port_range(args["local-ports"].as<std::string>(), "--local-ports");
    if (last - first < 2) throw bad_value("--local-ports", "needs at least three ports", args["local-ports"].as<std::string>());
    n.local_port_first = first;
    n.local_port_last = last;
  }
  if (args.count("timeout")) {
    const auto text = args["timeout"].as<std::string>();
    n.timeout = parse_seconds(text, "--timeout");
    if (n.timeout < client::kMinNatTimeout) {
      throw UsageError("--timeout must be at least 1 s for nat (two round trips, a 250 ms silence window "
                       "and the server check), got '" + text + "'");
    }
  }
  cmd.targets = parse_targets(args.count("for") ? args["for"].as<std::string>() : "");
  cmd.json = args.count("json") > 0;
  cmd.verbose = args.count("verbose") > 0;
  return cmd;
}

std::string candidates_text(const std::vector<Behaviour>& candidates) {
  std::string out;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == candidates.size() ? " or " : ", ") + std::string(behaviour_name(candidates[i]));
  }
  return out;
}

bool not_endpoint_independent(const client::NatReport& r) {
  return !r.mapping_candidates.empty() &&
         std::none_of(r.mapping_candidates.begin(), r.mapping_candidates.end(), [](Behaviour b) {
           return b == Behaviour::kEndpointIndependent || b == Behaviour::kDirect;
         });
}

/// Test ports inside a media range the router may forward to this host: there, a forward makes
/// any NAT look full-cone (issue 10: the forwarded-port trap).
std::vector<std::string> port_warnings(const NatCommand& cmd, const client::NatReport& r) {
  std::vector<std::uint16_t> ports;
  for (const auto& local : {r.local_mapping, r.local_filtering, r.local_recheck}) {
    if (local) ports.push_back(local->port);
  }
  if (ports.empty()) return {};
  std::string inside;
  std::string range;
  for (const auto& m : udp_media_ranges(cmd.targets)) {
    if (m.first == m.last) continue;  // a signalling port, not a media range
    const bool overlaps = std::any_of(ports.begin(), ports.end(), [&](std::uint16_t p) { return p >= m.first && p <= m.last; });
    if (!overlaps) continue;
    inside += (inside.empty() ? "" : ", ") + m.target;
    if (range.empty()) range = std::to_string(m.first) + "-" + std::to_string(m.last);
  }
  if (inside.empty()) return {};
  std::string used;
  for (auto p : ports) used += (used.empty() ? "" : " and ") + std::to_string(p);
  return {"the test sockets used UDP " + used + ", inside the media range " + range + " (" + inside +
          "): if the router forwards that range to this host, any NAT looks full-cone there, so these "
          "results describe the forward, not the NAT. Run again with --local-ports outside the media "
          "ranges (the default 40000-49151)"};
}

/// Who refused UDP with ICMP port unreachable: "refused-by-server" (a server's own address),
/// "refused-on-path" (another host), null when no refusal came or its sender is unknown.
nlohmann::json udp_refused(const client::NatReport& r) {
  if (!r.port_unreachable || !r.icmp_from) return nullptr;
  const bool from_a_server = std::any_of(r.servers.begin(), r.servers.end(), [&](const client::ServerUsed& u) {
    return u.address && r.icmp_from->same_ip(*u.address);
  });
  return from_a_server ? "refused-by-server" : "refused-on-path";
}

/// The verdict in the words a media-server admin needs.
std::string summary(const NatCommand& cmd, const client::NatReport& r) {
  if (!r.error.empty()) return "NAT discovery could not start: " + r.error;
  const std::string server = r.servers.empty() || !r.servers.front().address ? "the STUN server"
                                                                             : r.servers.front().address->to_string();
  if (r.port_unreachable) {
    const auto& a = r.servers.front().address;
    const bool from_a_server = std::any_of(r.servers.begin(), r.servers.end(), [&](const client::ServerUsed& u) {
      return r.icmp_from && u.address && r.icmp_from->same_ip(*u.address);
    });
    std::string where = a ? std::to_string(a->port) + " at " + a->ip_string() : server;
    if (r.servers.size() > 1) {
      where = "at ";
      for (std::size_t i = 0; i < r.servers.size(); ++i) {
        where += (i ? ", " : "") + (r.servers[i].address ? r.servers[i].address->to_string() : r.servers[i].host);
      }
    }
    if (r.icmp_from && !from_a_server) {
      return "UDP to the STUN server (" + where + ") is rejected on the way: the ICMP port unreachable came from " +
             r.icmp_from->ip_string() + ", not from the server, so a firewall or router between here and the server "
             "rejects it (iptables REJECT answers that way); whether the server listens was not tested." +
             (r.tcp_works == true ? " TCP on that port answers." : "");
    }
    return "Nothing listens on UDP " + where +
           " (ICMP port unreachable), sent by the server's own address: check the server's address and port, and that its STUN service runs." +
           (r.tcp_works == true ? " TCP on that port answers." : "");
  }
  if (r.udp_blocked) {
    if (r.tcp_works == true) return "UDP is blocked on the way to the STUN server, TCP works: WebRTC media will need TURN over TCP/TLS, or open UDP in the firewall.";
    return "No answer from the STUN server over UDP (nor TCP): the server is down or unreachable, or both are blocked.";
  }
  const bool known_filtering = r.filtering != Behaviour::kUnknown;
  const bool trap = !port_warnings(cmd, r).empty();
  switch (r.mapping) {
    case Behaviour::kDirect:
      return "No NAT: this host's own address is public. Direct media works if the firewall lets the media ports in.";
    case Behaviour::kEndpointIndependent:
      if (r.filtering == Behaviour::kEndpointIndependent) {
        if (trap) {
          return "Endpoint-independent mapping and filtering as seen from test ports inside a media range: a router "
                 "forward of that range looks like this on any NAT, so this does not show the NAT's own filtering (see the warning).";
        }
        return "Full-cone NAT (endpoint-independent mapping and filtering): direct media works; advertise the public address.";
      }
      return std::string("Cone NAT (endpoint-independent mapping") +
             (known_filtering ? ", " + std::string(behaviour_name(r.filtering)) + " filtering" : "") +
             "): the public address is stable, so advertise it, and forward the UDP media ports to this host; peers that cannot reach them will need TURN.";
    case Behaviour::kAddressDependent:
    case Behaviour::kAddressAndPortDependent:
      return "Symmetric NAT (" + std::string(behaviour_name(r.mapping)) +
             " mapping): the public port changes per destination, so the address STUN shows is wrong for peers. Forward the media ports 1:1 (port-preserving) or peers will need TURN.";
    case Behaviour::kUnknown:
      break;
  }
  if (not_endpoint_independent(r)) {
    return "Symmetric NAT (mapping not endpoint-independent: " + candidates_text(r.mapping_candidates) +
           "; these tests cannot tell which): the public port changes per destination, so the address STUN shows is "
           "wrong for peers. Forward the media ports 1:1 (port-preserving) or peers will need TURN.";
  }
  return "NAT behaviour not determined: " + r.mapping_reason + ".";
}

nlohmann::json behaviours_json(const std::vector<Behaviour>& candidates) {
  if (candidates.empty()) return nullptr;
  nlohmann::json out = nlohmann::json::array();
  for (auto b : candidates) out.push_back(behaviour_name(b));
  return out;
}

OutputJson to_json(const NatCommand& cmd, const client::NatReport& r) {
  auto j = json_header("nat");
  j["summary"] = summary(cmd, r);
  j["public_address"] = json_address(r.public_address);
  j["mapping"] = behaviour_name(r.mapping);
  j["filtering"] = behaviour_name(r.filtering);
  j["mapping_candidates"] = behaviours_json(r.mapping_candidates);
  j["filtering_candidates"] = behaviours_json(r.filtering_candidates);
  j["port_preservation"] = r.port_preservation ? nlohmann::json(*r.port_preservation) : nullptr;
  j["method"] = r.method.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.method);
  j["transport"] = client::transport_name(cmd.nat.transport);
  j["elapsed_ms"] = json_ms(r.elapsed);
  j["udp_blocked"] = r.udp_blocked;
  j["port_unreachable"] = r.port_unreachable;
  j["icmp_from"] = r.icmp_from ? nlohmann::json(r.icmp_from->ip_string()) : nlohmann::json(nullptr);
  j["udp_refused"] = udp_refused(r);
  j["server_change_request_verified"] =
      r.server_change_request_verified ? nlohmann::json(*r.server_change_request_verified) : nullptr;
  j["tcp_works"] = r.tcp_works ? nlohmann::json(*r.tcp_works) : nullptr;
  j["firewall_filtering"] = r.mapping == Behaviour::kDirect ? nlohmann::json(behaviour_name(r.firewall_filtering)) : nullptr;
  j["mapping_reason"] = r.mapping_reason;
  j["filtering_reason"] = r.filtering_reason;
  j["local_addresses"] = {{"mapping", json_address(r.local_mapping)}, {"filtering", json_address(r.local_filtering)},
                          {"recheck", json_address(r.local_recheck)}};
  j["default_servers"] = cmd.default_servers;
  j["warnings"] = port_warnings(cmd, r);
  nlohmann::json servers = nlohmann::json::array();
  for (const auto& s : r.servers) {
    servers.push_back({{"host", s.host}, {"address", json_address(s.address)}, {"mapped_address", json_address(s.mapped)},
                       {"rtt_ms", json_ms(s.rtt)}, {"error", s.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.error)}});
  }
  j["servers"] = servers;
  nlohmann::json tests = nlohmann::json::array();
  for (const auto& t : r.tests) {
    tests.push_back({{"test", t.name}, {"socket", t.socket}, {"destination", json_address(t.destination)},
                     {"change_ip", t.change_ip}, {"change_port", t.change_port},
                     {"response_port", t.response_port ? nlohmann::json(*t.response_port) : nlohmann::json(nullptr)}, {"transmissions", t.transmissions},
                     {"result", t.result}, {"mapped_address", json_address(t.mapped)}, {"source", json_address(t.source)},
                     {"rtt_ms", json_ms(t.rtt)}, {"note", t.note.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.note)}});
  }
  j["observations"] = tests;
  j["ignored_packets"] = json_ignored_packets(r.ignored);
  j["error"] = r.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.error);
  return j;
}

void print_text(const NatCommand& cmd, const client::NatReport& r) {
  std::cout << summary(cmd, r) << "\n\n";
  if (!r.error.empty()) return;
  auto row = [](const char* label, const std::string& value) {
    std::cout << "  " << std::left << std::setw(19) << label << value << "\n";
  };
  row("Public address:", r.public_address ? r.public_address->to_string() : "unknown");
  row("Mapping:", (r.mapping == Behaviour::kUnknown && r.mapping_candidates.size() > 1
                       ? candidates_text(r.mapping_candidates)
                       : std::string(behaviour_name(r.mapping))) +
                      (r.mapping_reason.empty() ? "" : " (" + r.mapping_reason + ")"));
  row("Filtering:", std::string(behaviour_name(r.filtering)) + (r.filtering_reason.empty() ? "" : " (" + r.filtering_reason + ")"));
  row("Port preservation:", r.port_preservation ? (*r.port_preservation ? "yes" : "no") : "unknown");
  if (r.udp_blocked) row("TCP to the server:", r.tcp_works == true ? "works" : r.tcp_works == false ? "fails too" : "no answer yet");
  std::string method = r.method == "rfc5780"   ? "RFC 5780"
                       : r.method == "binding" ? "one Binding (the server sent no OTHER-ADDRESS: not RFC 5780)"
                                               : r.method;
  if (!r.servers.empty()) {
    method += " against ";
    for (std::size_t i = 0; i < r.servers.size(); ++i) {
      method += (i ? ", " : "") + (r.servers[i].address ? r.servers[i].address->to_string() : r.servers[i].host);
    }
  }
  row("Method:", method + (cmd.default_servers ? " (default public servers; name one with natdiag nat HOST)" : ""));
  std::string local;
  if (r.local_mapping) local = r.local_mapping->to_string() + " (mapping)";
  if (r.local_filtering) local += ", " + r.local_filtering->to_string() + " (filtering)";
  if (r.local_recheck) local += ", " + r.local_recheck->to_string() + " (recheck)";
  row("Local sockets:", local.empty() ? "none" : local);
  char elapsed[32];
  std::snprintf(elapsed, sizeof elapsed, "%.2f s", static_cast<double>(r.elapsed.count()) / 1e6);
  row("Time:", elapsed);
  for (const auto& w : port_warnings(cmd, r)) std::cout << "\n  Warning: " << w << ".\n";
  if (r.ignored.total() > 0) row("Ignored packets:", std::to_string(r.ignored.total()) + " (not believed: wrong ID, source or format)");
  if (cmd.verbose) {
    std::cout << "\n";
    for (const auto& t : r.tests) {
      if (t.result == "not-run") continue;
      std::cout << "  " << t.name << " -> " << (t.destination ? t.destination->to_string() : "?") << ": " << t.result << " after "
                << t.transmissions << " sent" << (t.mapped ? ", mapped " + t.mapped->to_string() : "")
                << (t.source ? ", from " + t.source->to_string() : "") << (t.note.empty() ? "" : " (" + t.note + ")") << "\n";
    }
    for (const auto& s : r.servers) {
      if (r.method != "rfc5780") {
        std::cout << "  server " << (s.address ? s.address->to_string() : s.host) << ": "
                  << (s.mapped ? "mapped " + s.mapped->to_string() : s.error) << "\n";
      }
    }
    for (const auto& n : r.ignored.notes) std::cout << "  ignored: " << n << "\n";
  }
}

}  // namespace

int run_nat(int argc, char** argv) {
  const NatCommand cmd = parse(argc, argv);
  const client::NatReport report = client::run_nat_discovery(cmd.nat);
  if (cmd.json) {
    print_json(to_json(cmd, report));
  } else {
    print_text(cmd, report);
  }
  const bool measured = report.error.empty() && !report.udp_blocked && !report.port_unreachable &&
                        (!report.mapping_candidates.empty() || report.filtering != Behaviour::kUnknown);
  return measured ? kHealthy : kProblem;
}

}  // namespace natdiag::cli
