#include "stun/client/nat_discovery.hpp"

#include <poll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "stun/net/interfaces.hpp"
#include "stun/proto/attributes.hpp"
#include "stun/proto/integrity.hpp"

namespace natdiag::client {
namespace rfc = stun::rfc5780;

std::optional<TransportAddress> route_source(const TransportAddress& destination) {
  try {
    auto probe = net::UdpSocket::bind(net::any_address(destination.family));
    probe.connect(destination);  // a routing decision only: UDP connect sends nothing
    auto local = probe.local_address();
    local.port = 0;
    return local;
  } catch (const net::SocketError&) {
    return std::nullopt;
  }
}

namespace {

using Clock = stun::Clock;

// A TCP binding on a helper thread: when UDP gets no answer it tells "UDP is blocked" from
// "the server is down", without making a healthy run wait for it. The thread is cancelled and
// joined before the object goes (no detached thread may outlive main).
class BackgroundTcpCheck {
 public:
  BackgroundTcpCheck(const NatOptions& options, const ServerTarget& server) : state_(std::make_shared<State>()) {
    BindingOptions b;
    b.host = server.host;
    b.port = server.port;
    b.transport = Transport::kTcp;
    b.family = options.family;
    b.timeout = options.timeout;
    // Asked here, not on the thread: the caller's SharedBindings may be gone by the time it runs.
    std::optional<std::shared_future<BindingReport>> shared;
    if (options.shared) {
      shared = options.shared->get(b);  // runs on SharedBindings' own thread, bounded by b.timeout
    } else {
      b.cancel = &cancel_;  // our own binding: cancelled and joined with this object
    }
    thread_ = std::thread([state = state_, b, shared] {
      bool ok = false;
      try {
        ok = shared ? shared->get().success() : run_binding_test(b).success();
      } catch (...) {
        ok = false;
      }
      std::lock_guard lock(state->mutex);
      state->result = ok;
      state->cv.notify_all();
    });
  }
  BackgroundTcpCheck(const BackgroundTcpCheck&) = delete;
  BackgroundTcpCheck& operator=(const BackgroundTcpCheck&) = delete;
  ~BackgroundTcpCheck() {
    cancel_.cancel();
    thread_.join();
  }
  std::optional<bool> result(stun::TimePoint deadline) {
    std::unique_lock lock(state_->mutex);
    state_->cv.wait_until(lock, deadline, [&] { return state_->result.has_value(); });
    return state_->result;
  }

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable cv;
    std::optional<bool> result;
  };
  std::shared_ptr<State> state_;
  net::Canceller cancel_;
  std::thread thread_;
};

TransportAddress bind_address(const NatOptions& options, const TransportAddress& server) {
  if (options.local_ip) return *options.local_ip;
  if (auto routed = route_source(server)) return *routed;
  return net::any_address(server.family);
}

void run_rfc5780(const NatOptions& options, const TransportAddress& server, NatReport& report,
                 stun::TimePoint start, stun::TimePoint deadline) {
  const TransportAddress local_ip = bind_address(options, server);
  auto mapping = net::UdpSocket::bind_in_range(local_ip, options.local_port_first, options.local_port_last);
  auto filtering = net::UdpSocket::bind_in_range(local_ip, options.local_port_first, options.local_port_last);
  report.local_mapping = mapping.local_address();
  report.local_filtering = filtering.local_address();

  rfc::Discovery discovery(server, *report.local_mapping, *report.local_filtering, start, deadline,
                           options.timing);
  std::array<stun::TransactionId, rfc::kTestCount> ids{};
  std::array<std::vector<std::uint8_t>, rfc::kTestCount> requests;
  for (auto& id : ids) id = net::random_transaction_id();
  net::UdpSocket* sockets[2] = {&mapping, &filtering};
  std::array<std::uint8_t, 2048> buffer{};

  while (!discovery.done()) {
    auto now = Clock::now();
    for (const rfc::Send& send : discovery.poll(now)) {
      const auto t = static_cast<std::size_t>(send.test);
      if (requests[t].empty()) requests[t] = make_binding_request(ids[t], send.change_ip, send.change_port);
      sockets[send.socket == rfc::Socket::kMapping ? 0 : 1]->send_to(requests[t], send.destination);
    }
    if (discovery.done()) break;
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(discovery.next_event() - now).count();
    pollfd fds[2] = {{mapping.fd(), POLLIN, 0}, {filtering.fd(), POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(std::clamp<std::int64_t>(wait + 1, 0, 1000))) <= 0) continue;
    now = Clock::now();
    for (int s = 0; s < 2; ++s) {
      if (!(fds[s].revents & POLLIN)) continue;
      for (int budget = 0; budget < 256; ++budget) {  // bounded: a flood cannot pin the loop
        int error = 0;
        auto got = sockets[s]->receive(buffer, error);
        if (!got) break;
        auto view = net::screen_response(std::span(buffer).first(got->size), got->source, report.ignored);
        if (!view) continue;
        // A test is identified by its transaction ID and the socket it was sent from.
        std::optional<rfc::Test> test;
        for (std::size_t t = 0; t < rfc::kTestCount; ++t) {
          const bool on_mapping = rfc::socket_of(static_cast<rfc::Test>(t)) == rfc::Socket::kMapping;
          if (ids[t] == view->transaction_id() && on_mapping == (s == 0)) test = static_cast<rfc::Test>(t);
        }
        if (!test) {
          ++report.ignored.unmatched;
          report.ignored.note("response from " + got->source.to_string() + " with an unknown transaction ID");
          continue;
        }
        const BindingFacts facts = interpret_binding_response(*view);
        rfc::Observation obs;
        obs.source = got->source;
        obs.mapped = facts.mapped;
        obs.other_address = facts.other_address ? facts.other_address : facts.changed_address;
        obs.error_code = facts.error_code;
        discovery.on_response(*test, obs, now);
      }
    }
  }
  report.ignored.wrong_source += static_cast<std::size_t>(discovery.disbelieved());

  const rfc::Verdict v = discovery.verdict();
  report.mapping = v.mapping;
  report.filtering = v.filtering;
  report.firewall_filtering = v.firewall_filtering;
  report.port_preservation = v.port_preservation;
  report.public_address = v.public_address;
  report.udp_blocked = v.udp_blocked;
  report.server_change_request_verified = v.server_change_request_verified;
  report.mapping_reason = v.mapping_reason;
  report.filtering_reason = v.filtering_reason;
  for (std::size_t t = 0; t < rfc::kTestCount; ++t) {
    const auto test = static_cast<rfc::Test>(t);
    const rfc::TestRecord& r = discovery.record(test);
    TestObservation o;
    o.name = std::string(rfc::test_name(test));
    o.socket = rfc::socket_of(test) == rfc::Socket::kMapping ? "mapping" : "filtering";
    o.destination = r.destination;
    o.change_ip = r.change_ip;
    o.change_port = r.change_port;
    o.transmissions = r.transmissions;
    o.result = !r.started ? "not-run" : r.answered ? "answered" : "silent";
    if (r.answered) {
      o.mapped = r.observation.mapped;
      o.source = r.observation.source;
      o.rtt = r.rtt;
    }
    o.note = r.note;
    report.tests.push_back(std::move(o));
  }
}

// Several servers, one socket: the same mapping towards different server IPs means the NAT
// maps independently of the destination.
void decide_multi_server(NatReport& report, const TransportAddress& local) {
  struct Seen {
    TransportAddress server;
    TransportAddress mapped;
  };
  std::vector<Seen> seen;
  for (const auto& s : report.servers) {
    if (s.address && s.mapped) seen.push_back({*s.address, *s.mapped});
  }
  if (seen.empty()) {
    report.mapping_reason = "no server answered over UDP";
    report.udp_blocked = true;
    return;
  }
  report.public_address = seen.front().mapped;
  report.port_preservation = seen.front().mapped.port == local.port;
  if (seen.front().mapped == local) {
    report.mapping = Behaviour::kDirect;
    report.filtering = Behaviour::kDirect;
    report.mapping_reason = "the mapped address is this host's own address: no NAT";
    report.filtering_reason = "no NAT";
    return;
  }
  report.filtering_reason = "the multi-server method cannot test filtering: it needs one RFC 5780 server "
                            "(natdiag serve) that can answer from another address";
  std::optional<bool> ip_pair_same, port_pair_same;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    for (std::size_t j = i + 1; j < seen.size(); ++j) {
      if (seen[i].server == seen[j].server) continue;  // the same server twice says nothing
      auto& slot = seen[i].server.same_ip(seen[j].server) ? port_pair_same : ip_pair_same;
      slot = slot.value_or(true) && seen[i].mapped == seen[j].mapped;
    }
  }
  if (seen.size() < 2) {
    report.mapping_reason = "only one server answered; the multi-server method needs two";
  } else if (ip_pair_same == true) {
    report.mapping = Behaviour::kEndpointIndependent;
    report.mapping_reason = "the same mapping towards servers on different IPs";
  } else if (ip_pair_same == false) {
    if (port_pair_same == true) {
      report.mapping = Behaviour::kAddressDependent;
      report.mapping_reason = "a new mapping per server IP, the same across ports of one IP";
    } else {
      report.mapping = Behaviour::kAddressAndPortDependent;
      report.mapping_reason = port_pair_same == false
                                  ? "a new mapping for every server IP and port"
                                  : "a new mapping for every server IP (port dependence not measured: "
                                    "add a server on another port of the same IP to tell)";
    }
  } else if (port_pair_same == false) {
    report.mapping = Behaviour::kAddressAndPortDependent;
    report.mapping_reason = "a new mapping for another port of the same server IP";
  } else {
    report.mapping_reason = "the servers share one IP: give servers on different IPs";
  }
}

void run_multi_server(const NatOptions& options, const std::vector<TransportAddress>& servers,
                      NatReport& report, stun::TimePoint deadline) {
  const TransportAddress local_ip = bind_address(options, servers.front());
  auto socket = net::UdpSocket::bind_in_range(local_ip, options.local_port_first, options.local_port_last);
  report.local_mapping = socket.local_address();
  net::UdpTransactions tx;
  std::vector<net::UdpTransactions::Handle> handles;
  stun::RetransmitPolicy policy;
  policy.initial_rto = options.timing.initial_rto;
  policy.max_rto = std::chrono::seconds(1);
  policy.max_transmissions = 10;
  for (const auto& server : servers) {
    handles.push_back(tx.start(net::UdpRequest{&socket, server, make_binding_request(net::random_transaction_id()),
                                               policy, deadline, net::SourceMatch::kDestination}));
  }
  tx.run(deadline);
  for (std::size_t i = 0; i < servers.size(); ++i) {
    const auto& outcome = tx.outcome(handles[i]);
    ServerUsed& used = report.servers[i];
    if (outcome.status != net::UdpOutcome::Status::kResponse) {
      used.error = "no answer over UDP";
      continue;
    }
    auto view = stun::MessageView::parse(outcome.response);
    if (!view) continue;
    const BindingFacts facts = interpret_binding_response(view.value());
    used.mapped = facts.mapped;
    used.rtt = outcome.rtt;
    if (!facts.mapped) used.error = facts.problem;
  }
  const auto& c = tx.counters();
  report.ignored = c;
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
    for (std::uint32_t i = 0; i < std::min<std::uint32_t>(span, 64); ++i) {
      TransportAddress candidate = local_ip;
      candidate.port = static_cast<std::uint16_t>(options.local_port_first +
                                                  (static_cast<std::uint32_t>(::getpid()) * 31 + i * 97) % span);
      try {
        auto conn = net::StreamConnection::connect(to, candidate, {}, deadline);
        local = candidate;
        return conn;
      } catch (const net::SocketError& e) {
        if (e.error_number() != EADDRINUSE && e.error_number() != EADDRNOTAVAIL) throw;
      }
    }
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
      auto view = bytes ? stun::MessageView::parse(*bytes) : stun::Result<stun::MessageView>(stun::DecodeError{});
      if (!bytes || !view || view->transaction_id() != id) {
        used.error = bytes ? "no valid answer" : error;
        return std::optional<BindingFacts>();
      }
      used.rtt = std::chrono::duration_cast<Duration>(Clock::now() - sent);
      auto facts = interpret_binding_response(view.value());
      used.mapped = facts.mapped;
      return std::optional<BindingFacts>(facts);
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
    report.mapping_reason = "no answer from the server over TCP";
    return;
  }
  if (servers.size() == 1) {
    if (!first->other_address || first->other_address->same_ip(servers.front())) {
      report.mapping_reason = "the server sent no usable OTHER-ADDRESS; give two --server for TCP";
      report.public_address = first->mapped;
      return;
    }
    TransportAddress a2p1 = *first->other_address;
    a2p1.port = servers.front().port;
    servers.push_back(a2p1);
    servers.push_back(*first->other_address);
    report.servers.push_back(ServerUsed{a2p1.ip_string(), a2p1, {}, {}, {}});
    report.servers.push_back(ServerUsed{first->other_address->ip_string(), *first->other_address, {}, {}, {}});
  }
  for (std::size_t i = 1; i < servers.size(); ++i) (void)ask(i, servers[i]);
  decide_multi_server(report, *local);
  report.filtering = Behaviour::kUnknown;
  report.filtering_reason = "filtering is a UDP test; TCP connections are always answers";
}

}  // namespace

NatReport run_nat_discovery(const NatOptions& options) {
  NatReport report;
  const auto start = Clock::now();
  const auto deadline = start + options.timeout;
  if (options.servers.empty()) {
    report.error = "no server given";
    return report;
  }
  std::vector<TransportAddress> addresses;
  for (const auto& target : options.servers) {
    ServerUsed used;
    used.host = target.host;
    const auto resolved = net::resolve(target.host, target.port, options.family, deadline);
    if (resolved.addresses.empty()) {
      report.error = resolved.error;
      return report;
    }
    // Every server in the same family as the first, so one socket can reach them all.
    for (const auto& a : resolved.addresses) {
      if (addresses.empty() || a.family == addresses.front().family) {
        used.address = a;
        break;
      }
    }
    if (!used.address) {
      report.error = "server " + target.host + " has no address in the family of the first server";
      return report;
    }
    addresses.push_back(*used.address);
    report.servers.push_back(used);
  }

  if (options.transport == Transport::kTcp) {
    report.method = "tcp";
    run_tcp(options, addresses, report, deadline);
  } else {
    BackgroundTcpCheck tcp(options, options.servers.front());
    if (addresses.size() == 1) {
      report.method = "rfc5780";
      run_rfc5780(options, addresses.front(), report, start, deadline);
    } else {
      report.method = "multi-server";
      run_multi_server(options, addresses, report, deadline);
    }
    if (report.udp_blocked) report.tcp_works = tcp.result(deadline + std::chrono::seconds(1));
  }
  report.elapsed = std::chrono::duration_cast<Duration>(Clock::now() - start);
  return report;
}

}  // namespace natdiag::client
