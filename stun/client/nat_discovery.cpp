#include "stun/client/nat_discovery.hpp"

#include <poll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "stun/client/nat_methods.hpp"
#include "stun/client/udp_icmp.hpp"
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

// A Binding request as the RFC 5780 tests send it; RESPONSE-PORT (RFC 5780 §7.5: a 16-bit
// port, then two bytes of padding) when the server check needs the answer on another mapping.
std::vector<std::uint8_t> make_test_request(const stun::TransactionId& id, const rfc::Send& send) {
  if (!send.response_port) return make_binding_request(id, send.change_ip, send.change_port);
  std::array<std::uint8_t, 128> buffer{};
  stun::MessageBuilder builder(
      buffer, stun::compose_message_type(stun::Method::kBinding, stun::MessageClass::kRequest), id);
  builder.add_string(stun::AttributeType::kSoftware, software_name());
  if (send.change_ip || send.change_port) builder.add_change_request(send.change_ip, send.change_port);
  const std::array<std::uint8_t, 4> port{static_cast<std::uint8_t>(*send.response_port >> 8),
                                         static_cast<std::uint8_t>(*send.response_port & 0xff), 0, 0};
  builder.add_raw(static_cast<std::uint16_t>(stun::AttributeType::kResponsePort), port);
  builder.add_fingerprint();
  const auto bytes = builder.bytes();
  return {bytes.begin(), bytes.end()};
}


void run_rfc5780(const NatOptions& options, const TransportAddress& server, NatReport& report,
                 stun::TimePoint start, stun::TimePoint deadline) {
  const TransportAddress local_ip = bind_address(options, server);
  const auto [map_first, map_last] = options.mapping_ports();
  const auto [filter_first, filter_last] = options.filtering_ports();
  auto mapping = net::UdpSocket::bind_in_range(local_ip, map_first, map_last);
  auto filtering = net::UdpSocket::bind_in_range(local_ip, filter_first, filter_last);
  report.local_mapping = mapping.local_address();
  report.local_filtering = filtering.local_address();
  enable_icmp_errors(mapping, server.family);
  enable_icmp_errors(filtering, server.family);

  rfc::Discovery discovery(server, *report.local_mapping, *report.local_filtering, start, deadline,
                           options.timing);
  std::array<stun::TransactionId, rfc::kTestCount> ids{};
  std::array<std::vector<std::uint8_t>, rfc::kTestCount> requests;
  for (auto& id : ids) id = net::random_transaction_id();
  // The recheck socket is bound only when the state machine asks for it.
  std::optional<net::UdpSocket> recheck;
  net::UdpSocket* sockets[3] = {&mapping, &filtering, nullptr};
  std::array<std::uint8_t, 2048> buffer{};

  while (!discovery.done()) {
    auto now = Clock::now();
    for (const rfc::Send& send : discovery.poll(now)) {
      const auto t = static_cast<std::size_t>(send.test);
      const auto s = static_cast<std::size_t>(send.socket);
      if (!sockets[s]) {
        recheck.emplace(net::UdpSocket::bind_in_range(local_ip, map_first, map_last));
        enable_icmp_errors(*recheck, server.family);
        report.local_recheck = recheck->local_address();
        sockets[s] = &*recheck;
      }
      if (requests[t].empty()) requests[t] = make_test_request(ids[t], send);
      send_past_icmp(*sockets[s], requests[t], send.destination);
    }
    if (discovery.done()) break;
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(discovery.next_event() - now).count();
    pollfd fds[3] = {{mapping.fd(), POLLIN, 0}, {filtering.fd(), POLLIN, 0}, {recheck ? recheck->fd() : -1, POLLIN, 0}};
    if (::poll(fds, 3, static_cast<int>(std::clamp<std::int64_t>(wait + 1, 0, 1000))) <= 0) continue;
    now = Clock::now();
    for (int s = 0; s < 3; ++s) {
      if (!sockets[s]) continue;
      if (fds[s].revents & POLLERR) {
        for (int budget = 0; budget < 64; ++budget) {  // bounded, like the receive loop
          const auto icmp = read_icmp_error(*sockets[s]);
          if (!icmp) break;
          if (!icmp->port_unreachable) continue;
          if (icmp->from) report.icmp_from = icmp->from;
          for (std::size_t t = 0; t < rfc::kTestCount; ++t) {
            const auto test = static_cast<rfc::Test>(t);
            if (static_cast<int>(rfc::socket_of(test)) == s && discovery.record(test).destination == icmp->destination) {
              discovery.on_port_unreachable(test, now);
            }
          }
        }
      }
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
          const bool on_socket = static_cast<int>(rfc::socket_of(static_cast<rfc::Test>(t))) == s;
          if (ids[t] == view->transaction_id() && on_socket) test = static_cast<rfc::Test>(t);
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
  report.port_unreachable = v.port_unreachable;
  report.mapping_candidates = v.mapping_candidates;
  report.filtering_candidates = v.filtering_candidates;
  if (!v.server_has_other_address && !v.port_unreachable) report.method = "binding";
  // The server as used: the first answer's mapped address and RTT (mapping test I, else
  // filtering test I, which comes from the other socket).
  for (rfc::Test first : {rfc::Test::kM1, rfc::Test::kF1}) {
    const rfc::TestRecord& r = discovery.record(first);
    if (!r.answered || !r.observation.mapped || report.servers.front().mapped) continue;
    report.servers.front().mapped = r.observation.mapped;
    report.servers.front().rtt = r.rtt;
  }
  if (v.port_unreachable) {
    const auto& a = report.servers.front().address;
    report.servers.front().error = report.icmp_from && a && !report.icmp_from->same_ip(*a)
                                       ? "ICMP port unreachable from " + report.icmp_from->ip_string() +
                                             ", not from the server: a firewall on the way rejects it"
                                       : "ICMP port unreachable: nothing listens on UDP there";
  }
  report.server_change_request_verified = v.server_change_request_verified;
  report.mapping_unknown = v.mapping_unknown;
  report.mapping_reason = v.mapping_reason;
  report.filtering_reason = v.filtering_reason;
  for (std::size_t t = 0; t < rfc::kTestCount; ++t) {
    const auto test = static_cast<rfc::Test>(t);
    const rfc::TestRecord& r = discovery.record(test);
    TestObservation o;
    o.name = std::string(rfc::test_name(test));
    const auto socket = rfc::socket_of(test);
    o.socket = socket == rfc::Socket::kMapping ? "mapping" : socket == rfc::Socket::kFiltering ? "filtering" : "recheck";
    if (r.started) o.destination = r.destination;
    o.change_ip = r.change_ip;
    o.change_port = r.change_port;
    o.transmissions = r.transmissions;
    o.result = !r.started      ? "not-run"
               : r.answered    ? "answered"
               : r.unreachable ? "port-unreachable"
               : r.cut_short   ? "cut-short"
                               : "silent";
    o.response_port = r.response_port;
    if (r.answered) {
      o.mapped = r.observation.mapped;
      o.source = r.observation.source;
      o.rtt = r.rtt;
    }
    o.note = r.note;
    report.tests.push_back(std::move(o));
  }
}

}  // namespace

TransportAddress bind_address(const NatOptions& options, const TransportAddress& server) {
  if (options.local_ip) return *options.local_ip;
  if (auto routed = route_source(server)) return *routed;
  return net::any_address(server.family);
}

NatReport run_nat_discovery(const NatOptions& options) {
  NatReport report;
  const auto start = Clock::now();
  const auto deadline = start + options.timeout;
  if (options.servers.empty()) {
    report.error = "no server given";
    return report;
  }
  std::vector<TransportAddress> addresses;
  // Every server named is listed, also those that could not be resolved.
  for (const auto& target : options.servers) {
    ServerUsed used;
    used.host = target.host;
    const auto resolved = net::resolve(target.host, target.port, options.family, deadline);
    // Every server in the same family as the first, so one socket can reach them all.
    for (const auto& a : resolved.addresses) {
      if (addresses.empty() || a.family == addresses.front().family) {
        used.address = a;
        break;
      }
    }
    if (resolved.addresses.empty()) {
      used.error = resolved.error;
    } else if (!used.address) {
      used.error = "server " + target.host + " has no address in the family of the first server";
    } else {
      addresses.push_back(*used.address);
    }
    if (report.error.empty()) report.error = used.error;
    report.servers.push_back(used);
  }
  if (!report.error.empty()) return report;

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
    // A closed UDP port ends the run at once; TCP gets a moment, not the whole timeout.
    if (report.port_unreachable) report.tcp_works = tcp.result(Clock::now() + std::chrono::milliseconds(300));
  }
  report.elapsed = std::chrono::duration_cast<Duration>(Clock::now() - start);
  return report;
}

}  // namespace natdiag::client
