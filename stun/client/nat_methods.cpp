#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "stun/client/nat_methods.hpp"
#include "stun/client/udp_icmp.hpp"

namespace natdiag::client {
namespace {

using Clock = stun::Clock;

// Several servers, one socket: the same mapping towards different server IPs means the NAT
// maps independently of the destination. Two servers that differ in IP only cannot tell
// address-dependent from address-and-port-dependent mapping; that takes two ports of one IP.
void decide_multi_server(NatReport& report, const TransportAddress& local) {
  struct Seen {
    TransportAddress server;
    TransportAddress mapped;
  };
  std::vector<Seen> seen;
  for (const auto& s : report.servers) {
    if (s.address && s.mapped) seen.push_back({*s.address, *s.mapped});
  }
  using stun::rfc5780::UnknownWhy;
  report.mapping_unknown = UnknownWhy::kNoAnswer;
  if (seen.empty()) {
    report.mapping_reason = "no server answered over UDP";
    // "Blocked" is a claim about silence: only after several tries to every server.
    if (report.port_unreachable) {
      report.mapping_reason = "nothing listens on UDP at the servers (ICMP port unreachable)";
      return;
    }
    report.udp_blocked = !report.servers.empty() &&
                         std::all_of(report.servers.begin(), report.servers.end(),
                                     [](const ServerUsed& s) { return s.transmissions >= 3; });
    if (!report.udp_blocked) {
      report.mapping_unknown = UnknownWhy::kTimeRanOut;
      report.mapping_reason += " in the time given: too short to tell";
    }
    return;
  }
  report.mapping_unknown = UnknownWhy::kNone;
  report.public_address = seen.front().mapped;
  report.port_preservation = seen.front().mapped.port == local.port;
  if (seen.front().mapped == local) {
    report.mapping = Behaviour::kDirect;
    report.filtering = Behaviour::kDirect;
    report.mapping_candidates = {Behaviour::kDirect};
    report.filtering_candidates = {Behaviour::kDirect};
    report.mapping_reason = "the mapped address is this host's own address: no NAT";
    report.filtering_reason = "no NAT";
    return;
  }
  report.filtering_reason = "the multi-server method cannot test filtering: it needs one RFC 5780 server "
                            "(natdiag serve) that can answer from another address";
  // Pairs of servers: those on different IPs (and whether their ports differ too), and those
  // on one IP with different ports. A pair whose mappings differ shows what the mapping
  // depends on; a pair whose mappings agree shows what it does not depend on.
  bool ip_same = false, ip_differs = false, port_same = false, port_differs = false;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    for (std::size_t j = i + 1; j < seen.size(); ++j) {
      if (seen[i].server == seen[j].server) continue;  // the same server twice says nothing
      const bool same_mapping = seen[i].mapped == seen[j].mapped;
      if (seen[i].server.same_ip(seen[j].server)) {
        (same_mapping ? port_same : port_differs) = true;
      } else {
        (same_mapping ? ip_same : ip_differs) = true;
      }
    }
  }
  auto decided = [&](Behaviour b, std::string why) {
    report.mapping = b;
    report.mapping_candidates = {b};
    report.mapping_reason = std::move(why);
  };
  if (seen.size() < 2) {
    report.mapping_unknown = UnknownWhy::kOneServer;
    report.mapping_reason = "only one server answered; the multi-server method needs two";
  } else if (ip_same && !ip_differs && !port_differs) {
    decided(Behaviour::kEndpointIndependent, "the same mapping towards servers on different IPs");
  } else if (port_differs) {
    decided(Behaviour::kAddressAndPortDependent, "a new mapping for another port of the same server IP");
  } else if (ip_differs && port_same) {
    decided(Behaviour::kAddressDependent, "a new mapping per server IP, the same across ports of one IP");
  } else if (ip_differs) {
    report.mapping_unknown = UnknownWhy::kNeedSecondPort;
    report.mapping_candidates = {Behaviour::kAddressDependent, Behaviour::kAddressAndPortDependent};
    report.mapping_reason = "not endpoint-independent (address-dependent or address-and-port-dependent; "
                            "these servers cannot tell which): the mapping changed with the server IP. "
                            "A server on a second port of one of these IPs would tell";
  } else {
    report.mapping_unknown = UnknownWhy::kServersShareIp;
    report.mapping_candidates = {Behaviour::kEndpointIndependent, Behaviour::kAddressDependent};
    report.mapping_reason = "the servers share one IP, so endpoint-independent and address-dependent "
                            "mapping look the same: give servers on different IPs";
  }
}

}  // namespace

// One socket, one Binding per server, retransmitted on the RFC 8489 schedule; answers matched
// by transaction ID and source. The socket is not connected (the method needs one local port
// for every server), so ICMP errors come from the error queue, naming the server refused.
void run_multi_server(const NatOptions& options, const std::vector<TransportAddress>& servers,
                      NatReport& report, stun::TimePoint deadline) {
  const TransportAddress local_ip = bind_address(options, servers.front());
  const auto [map_first, map_last] = options.mapping_ports();
  auto socket = net::UdpSocket::bind_in_range(local_ip, map_first, map_last);
  report.local_mapping = socket.local_address();
  enable_icmp_errors(socket, servers.front().family);
  stun::RetransmitPolicy policy;
  policy.initial_rto = options.timing.initial_rto;
  policy.max_rto = std::chrono::seconds(1);
  policy.max_transmissions = 10;
  struct Request {
    stun::TransactionId id;
    std::vector<std::uint8_t> bytes;
    stun::RetransmitSchedule schedule;
    stun::TimePoint last_sent{};
    bool done = false;
  };
  std::vector<Request> requests;
  for (std::size_t i = 0; i < servers.size(); ++i) {
    const auto id = net::random_transaction_id();
    requests.push_back({id, make_binding_request(id), stun::RetransmitSchedule(policy, Clock::now(), deadline)});
  }
  std::array<std::uint8_t, 2048> buffer{};
  for (;;) {
    auto now = Clock::now();
    auto next = deadline;
    bool pending = false;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      Request& r = requests[i];
      while (!r.done) {
        const auto action = r.schedule.poll(now);
        if (action == stun::RetransmitSchedule::Action::kSend) {
          send_past_icmp(socket, r.bytes, servers[i]);
          r.last_sent = now;
          report.servers[i].transmissions = r.schedule.transmissions();
          continue;
        }
        if (action == stun::RetransmitSchedule::Action::kGiveUp) {
          r.done = true;
          report.servers[i].error = "no answer over UDP";
          break;
        }
        pending = true;
        next = std::min(next, r.schedule.next_event());
        break;
      }
    }
    if (!pending) break;
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count();
    pollfd fd{socket.fd(), POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(std::clamp<std::int64_t>(wait + 1, 0, 1000))) <= 0) continue;
    now = Clock::now();
    for (int budget = 0; (fd.revents & POLLERR) && budget < 64; ++budget) {
      const auto icmp = read_icmp_error(socket);
      if (!icmp) break;
      if (!icmp->port_unreachable) continue;
      for (std::size_t i = 0; i < servers.size(); ++i) {
        if (servers[i] != icmp->destination || requests[i].done) continue;
        requests[i].done = true;
        report.servers[i].port_unreachable = true;
        report.servers[i].error = icmp->from && !icmp->from->same_ip(servers[i])
                                      ? "ICMP port unreachable from " + icmp->from->ip_string() +
                                            ", not from the server: a firewall on the way rejects it"
                                      : "ICMP port unreachable: nothing listens on UDP there";
        if (icmp->from) report.icmp_from = icmp->from;
      }
    }
    for (int budget = 0; (fd.revents & POLLIN) && budget < 256; ++budget) {  // a flood cannot pin the loop
      int error = 0;
      auto got = socket.receive(buffer, error);
      if (!got) break;
      auto view = net::screen_response(std::span(buffer).first(got->size), got->source, report.ignored);
      if (!view) continue;
      const auto match = std::find_if(requests.begin(), requests.end(),
                                      [&](const Request& r) { return r.id == view->transaction_id(); });
      if (match == requests.end()) {
        ++report.ignored.unmatched;
        report.ignored.note("response from " + got->source.to_string() + " with an unknown transaction ID");
        continue;
      }
      const auto i = static_cast<std::size_t>(match - requests.begin());
      if (got->source != servers[i]) {
        ++report.ignored.wrong_source;
        report.ignored.note("response for a pending transaction from " + got->source.to_string() + ", expected " +
                            servers[i].to_string());
        continue;
      }
      if (match->done) {
        ++report.ignored.duplicates;
        continue;
      }
      match->done = true;
      ServerUsed& used = report.servers[i];
      const BindingFacts facts = interpret_binding_response(*view);
      used.mapped = facts.mapped;
      used.rtt = std::chrono::duration_cast<Duration>(now - match->last_sent);
      used.port_unreachable = false;
      used.error = facts.mapped ? std::string() : facts.problem;
    }
  }
  report.port_unreachable = std::all_of(report.servers.begin(), report.servers.end(),
                                        [](const ServerUsed& s) { return s.port_unreachable; });
  decide_multi_server(report, *report.local_mapping);
}

// RFC 5780 §4.3 over TCP: connections from one local port to A1:P1, A2:P1, A2:P2 (or to each
// server), comparing the mapped addresses. Filtering does not apply to TCP here.
void run_tcp(const NatOptions& options, std::vector<TransportAddress> servers, NatReport& report,
             stun::TimePoint deadline) {
  const TransportAddress local_ip = bind_address(options, servers.front());
  std::optional<TransportAddress> local;
  auto bind_connect = [&](const TransportAddress& to) -> std::optional<net::StreamConnection> {
    if (local) return net::StreamConnection::connect(to, local, {}, deadline);
    const std::uint32_t span = options.local_port_last - options.local_port_first + 1u;
    std::optional<net::BindError> refused;  // every port privileged: this host cannot run it
    for (std::uint32_t i = 0; i < std::min<std::uint32_t>(span, 64); ++i) {
      TransportAddress candidate = local_ip;
      candidate.port = static_cast<std::uint16_t>(options.local_port_first +
                                                  (static_cast<std::uint32_t>(::getpid()) * 31 + i * 97) % span);
      try {
        auto conn = net::StreamConnection::connect(to, candidate, {}, deadline);
        local = candidate;
        return conn;
      } catch (const net::BindError& e) {
        if (e.error_number() != EADDRINUSE && e.error_number() != EACCES) throw;
        if (e.error_number() == EACCES) refused = e;
      } catch (const net::SocketError& e) {
        if (e.error_number() != EADDRINUSE && e.error_number() != EADDRNOTAVAIL) throw;
      }
    }
    if (refused) throw *refused;
    return std::nullopt;
  };
  auto ask = [&](std::size_t index, const TransportAddress& to) {
    ServerUsed& used = report.servers[index];
    used.address = to;
    try {
      auto conn = bind_connect(to);
      if (!conn) {
        used.error = "no free local port";
        return std::optional<BindingFacts>();
      }
      const auto id = net::random_transaction_id();
      std::string error;
      const auto sent = Clock::now();
      if (!conn->send_all(make_binding_request(id), deadline, error)) {
        used.error = error;
        return std::optional<BindingFacts>();
      }
      auto bytes = conn->receive_message(deadline, error);
      // The same screen as UDP: a request echoed back, an indication or a wrong FINGERPRINT
      // is never taken for the answer.
      const auto view = bytes ? net::screen_response(*bytes, to, report.ignored) : std::nullopt;
      if (!bytes || !view || view->transaction_id() != id) {
        used.error = bytes ? "no valid answer" : error;
        return std::optional<BindingFacts>();
      }
      used.rtt = std::chrono::duration_cast<Duration>(Clock::now() - sent);
      auto facts = interpret_binding_response(view.value());
      used.mapped = facts.mapped;
      return std::optional<BindingFacts>(facts);
    } catch (const net::BindError&) {
      throw;  // no local port this host may use: exit 3, not "no answer"
    } catch (const net::SocketError& e) {
      used.error = e.what();
      return std::optional<BindingFacts>();
    } catch (const std::runtime_error& e) {
      used.error = e.what();
      return std::optional<BindingFacts>();
    }
  };
  auto first = ask(0, servers.front());
  report.local_mapping = local;
  if (!first || !first->mapped) {
    report.mapping_unknown = stun::rfc5780::UnknownWhy::kNoAnswer;
    report.mapping_reason = "no answer from the server over TCP";
    return;
  }
  if (servers.size() == 1) {
    if (!first->other_address || first->other_address->same_ip(servers.front())) {
      report.mapping_unknown = stun::rfc5780::UnknownWhy::kNoOtherAddress;
      report.mapping_reason = "the server sent no usable OTHER-ADDRESS; give two --server for TCP";
      report.public_address = first->mapped;
      return;
    }
    TransportAddress a2p1 = *first->other_address;
    a2p1.port = servers.front().port;
    servers.push_back(a2p1);
    servers.push_back(*first->other_address);
    report.servers.push_back(ServerUsed{a2p1.ip_string(), a2p1, {}, {}, 0, false, {}});
    report.servers.push_back(ServerUsed{first->other_address->ip_string(), *first->other_address, {}, {}, 0, false, {}});
  }
  for (std::size_t i = 1; i < servers.size(); ++i) (void)ask(i, servers[i]);
  decide_multi_server(report, *local);
  report.filtering = Behaviour::kUnknown;
  report.filtering_reason = "filtering is a UDP test; TCP connections are always answers";
}


}  // namespace natdiag::client
