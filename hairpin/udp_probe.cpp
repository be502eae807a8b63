#include "hairpin/udp_probe.hpp"

#include <poll.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

#include "stun/client/binding.hpp"
#include "stun/net/interfaces.hpp"
#include "stun/net/resolver.hpp"
#include "stun/net/socket.hpp"
#include "stun/net/transaction.hpp"

namespace natdiag::hairpin {
namespace {

using std::chrono::milliseconds;

/// Gentle: at most five datagrams per check, 100 ms apart at first, then doubling (the RFC
/// 8489 §6.2.1 schedule with a shorter RTO, since the path is one router away).
stun::RetransmitPolicy nonce_policy() {
  stun::RetransmitPolicy p;
  p.initial_rto = milliseconds(100);
  p.max_transmissions = 5;
  return p;
}

/// What happened to the nonce datagrams.
struct EchoOutcome {
  bool received = false;
  std::optional<TransportAddress> from;
  int transmissions = 0;
  bool unreachable = false;  ///< ICMP port unreachable came back from the destination
  int stray = 0;             ///< datagrams on the receiving socket that were not the nonce
  Duration waited{};
  std::optional<Duration> rtt;  ///< the path RTT the silence window was derived from
};

/// Sends the nonce from `sender` to `to` until `receiver` gets it, ICMP says no, or time is up.
EchoOutcome send_nonce(net::UdpSocket& receiver, net::UdpSocket& sender, const TransportAddress& to,
                       TimePoint deadline, PathRtt* rtt) {
  EchoOutcome out;
  const auto start = stun::Clock::now();
  const std::string nonce = "natdiag-hairpin " + random_nonce();
  const std::span<const std::uint8_t> payload(reinterpret_cast<const std::uint8_t*>(nonce.data()),
                                              nonce.size());
  // Connected, so the kernel reports ICMP port unreachable from the destination.
  sender.connect(to);
  stun::RetransmitSchedule schedule(nonce_policy(), start, deadline);
  std::array<std::uint8_t, 512> buffer{};
  // Until the path's RTT is known, look again this often whether it is.
  constexpr milliseconds kRecheck{20};
  while (!out.received && !out.unreachable) {
    const auto now = stun::Clock::now();
    const auto window = silence_window(rtt ? rtt->shortest() : std::nullopt);
    const auto give_up = window ? std::min(deadline, start + *window) : deadline;
    if (now >= give_up) break;
    const auto action = schedule.poll(now);
    if (action == stun::RetransmitSchedule::Action::kGiveUp) break;
    if (action == stun::RetransmitSchedule::Action::kSend) {
      const int error = sender.send_to(payload, to);
      ++out.transmissions;
      if (error == ECONNREFUSED) out.unreachable = true;
      continue;
    }
    auto until = std::min(schedule.next_event(), give_up);
    if (!window) until = std::min(until, now + kRecheck);
    const auto wait_ms =
        std::max<std::int64_t>(0, std::chrono::ceil<milliseconds>(until - now).count());
    pollfd fds[2] = {{receiver.fd(), POLLIN, 0}, {sender.fd(), POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(wait_ms)) <= 0) continue;
    int error = 0;
    while (auto got = receiver.receive(buffer, error)) {
      if (got->size == nonce.size() && std::equal(nonce.begin(), nonce.end(), buffer.begin())) {
        out.received = true;
        if (rtt && out.transmissions == 1) rtt->record(std::chrono::duration_cast<Duration>(stun::Clock::now() - start));
        out.from = got->source;
        break;
      }
      ++out.stray;
    }
    while (sender.receive(buffer, error)) {
    }
    if (error == ECONNREFUSED) {
      out.unreachable = true;
      if (rtt && out.transmissions == 1) rtt->record(std::chrono::duration_cast<Duration>(stun::Clock::now() - start));
    }
  }
  out.waited = std::chrono::duration_cast<Duration>(stun::Clock::now() - start);
  out.rtt = rtt ? rtt->shortest() : std::nullopt;
  return out;
}

std::string format_ms(Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f ms", static_cast<double>(d.count()) / 1e3);
  return buf;
}

std::string sent_count(const EchoOutcome& e) {
  return std::to_string(e.transmissions) + (e.transmissions == 1 ? " datagram" : " datagrams");
}

}  // namespace

CheckResult udp_check(std::uint16_t port, const UdpProbeOptions& options) {
  CheckResult r = check_for(Protocol::kUdp, port);
  r.method = Method::kNonce;
  std::optional<net::UdpSocket> receiver;
  try {
    receiver = net::UdpSocket::bind(net::any_address(options.external_ip.family, port));
  } catch (const net::SocketError& e) {
    r.method = Method::kNone;
    if (e.error_number() == EADDRINUSE) {
      r.result = Result::kSkipped;
      r.detail = "UDP port " + std::to_string(port) +
                 " is in use by another program here (ss -lunp 'sport = :" + std::to_string(port) +
                 "' shows which)";
      r.why =
          "natdiag proves a UDP hairpin by receiving its own datagram on the port; another program "
          "holds it, so natdiag would not see the datagram. Pick a free port in the forwarded "
          "range with --udp.";
      return r;
    }
    r.setup_failed = true;
    r.setup_error = e.error_number();
    r.detail =
        std::string("cannot bind UDP port ") + std::to_string(port) +
        " here: " + std::strerror(e.error_number()) +
        (e.error_number() == EACCES ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" : "");
    r.why = "natdiag needs to receive on the port itself to prove a UDP hairpin.";
    return r;
  }
  auto sender = net::UdpSocket::bind(net::any_address(options.external_ip.family));
  TransportAddress target = options.external_ip;
  target.port = port;
  const auto echo = send_nonce(*receiver, sender, target, options.deadline, options.rtt);
  const std::string pub = target.to_string();
  const std::string how =
      "natdiag bound UDP port " + std::to_string(port) +
      " here and sent a datagram carrying a random nonce from another local socket to " + pub +
      ". ";
  if (echo.received) {
    r.result = Result::kSupported;
    r.returned_from = echo.from;
    r.detail = "natdiag's datagram to " + pub + " came back to this host" +
               (echo.from ? " (from " + echo.from->to_string() + ")" : "");
    r.why = how +
            "The bound socket received that nonce, so the datagram to the public address came back "
            "to this host.";
    return r;
  }
  r.result = Result::kNotSupported;
  if (echo.unreachable) {
    r.detail = pub +
               " answered ICMP port unreachable: the datagram stopped at the router and never came "
               "back here";
    r.why = how + "The reply was an ICMP port unreachable from " + options.external_ip.ip_string() +
            ": the router (or the host it forwards the port to) had nothing listening, while "
            "natdiag's socket here was waiting for it.";
  } else {
    r.detail = "nothing came back within " + format_seconds(echo.waited) + " (" + sent_count(echo) +
               " sent to " + pub + ")";
    r.why = how + "None of them arrived on the bound socket " +
            (echo.rtt ? "within " + format_seconds(echo.waited) + " (" +
                            std::to_string(kSilenceRttFactor) + " round trips of the path, RTT " +
                            format_ms(*echo.rtt) + ", at least " +
                            format_seconds(kSilenceFloor) + ")"
                      : std::string("before the timeout")) +
            ": the router dropped them or delivered them elsewhere.";
  }
  if (echo.stray > 0)
    r.why += " (" + std::to_string(echo.stray) + " other datagram(s) arrived and were ignored.)";
  return r;
}

CheckResult stun_mapping_check(const StunTarget& server, const UdpProbeOptions& options) {
  CheckResult r = check_for(Protocol::kUdp, 0);
  r.method = Method::kStunMapping;
  r.decides_verdict = false;
  const auto now = stun::Clock::now();
  const auto stun_deadline = now + (options.deadline - now) * 6 / 10;
  const auto family = options.external_ip.family == stun::Family::kIPv4
                          ? net::FamilyPreference::kIPv4Only
                          : net::FamilyPreference::kIPv6Only;
  const auto resolved = net::resolve(server.host, server.port, family, stun_deadline);
  const std::string name = server.host + ":" + std::to_string(server.port);
  if (resolved.addresses.empty()) {
    r.detail = "cannot resolve the STUN server " + name + ": " + resolved.error;
    r.why = "The mapping check needs the address the STUN server sees for a socket.";
    return r;
  }
  const auto& stun_address = resolved.addresses.front();
  // Away from the forwarded media range: a port forward would fake a hairpinned mapping.
  auto mapped_socket =
      net::UdpSocket::bind_in_range(net::any_address(options.external_ip.family), 40000, 49151);
  net::UdpTransactions transactions;
  stun::RetransmitPolicy policy;
  policy.initial_rto = milliseconds(200);
  const auto handle = transactions.start(
      {&mapped_socket, stun_address, client::make_binding_request(net::random_transaction_id()),
       policy, stun_deadline, net::SourceMatch::kDestination});
  transactions.run(stun_deadline);
  const auto& outcome = transactions.outcome(handle);
  std::optional<TransportAddress> mapped;
  if (outcome.status == net::UdpOutcome::Status::kResponse) {
    if (auto parsed = stun::MessageView::parse(outcome.response))
      mapped = client::interpret_binding_response(*parsed).mapped;
  }
  if (!mapped) {
    r.detail = "no usable Binding response from the STUN server " + stun_address.to_string() +
               " (" + std::to_string(outcome.transmissions) + " requests sent)";
    r.why = "Without the mapped address there is nothing to send the nonce to.";
    return r;
  }
  r.port = mapped->port;
  r.mapped = *mapped;
  const auto local = mapped_socket.local_address();
  if (mapped->port == local.port && net::find_local_address(*mapped)) {
    r.result = Result::kSkipped;
    r.detail = "no NAT between this host and " + stun_address.to_string() +
               ": the mapped address " + mapped->to_string() + " is this host's own";
    r.why = "Hairpinning is a NAT behaviour; with no NAT on the path there is nothing to test.";
    return r;
  }
  auto sender = net::UdpSocket::bind(net::any_address(options.external_ip.family));
  const auto echo = send_nonce(mapped_socket, sender, *mapped, options.deadline, options.rtt);
  const std::string other =
      mapped->same_ip(options.external_ip) ? "" : " (not " + options.external_ip.ip_string() + "!)";
  const std::string how = "The STUN server " + stun_address.to_string() + " saw socket " +
                          local.to_string() + " as " + mapped->to_string() + other +
                          "; natdiag sent a nonce datagram from another socket to that mapped "
                          "address (RFC 5780 §4.5). ";
  if (echo.received) {
    r.result = Result::kSupported;
    r.returned_from = echo.from;
    r.detail = "a datagram to the STUN-mapped address " + mapped->to_string() + other +
               " came back to the mapped socket";
    r.why = how +
            "It arrived on the mapped socket: the NAT hairpins its UDP mappings (RFC 4787 REQ-9).";
    return r;
  }
  r.result = Result::kNotSupported;
  r.detail =
      "a datagram to the STUN-mapped address " + mapped->to_string() + other +
      " did not come back (" +
      (echo.unreachable ? std::string("ICMP port unreachable") : sent_count(echo) + " sent") + ")";
  r.why = how +
          "It never arrived on the mapped socket: the NAT does not hairpin UDP mappings (RFC 4787 "
          "REQ-9 says it MUST). "
          "LAN peers that are given this server's srflx candidate cannot use it; they connect by "
          "host candidates or TURN.";
  return r;
}

std::vector<std::uint16_t> sample_free_udp_ports(stun::Family family, int count,
                                                 std::uint16_t first, std::uint16_t last) {
  std::vector<std::uint16_t> ports;
  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> pick(first, last);
  for (int tries = 0; tries < 64 && static_cast<int>(ports.size()) < count; ++tries) {
    const auto port = static_cast<std::uint16_t>(pick(random));
    if (std::find(ports.begin(), ports.end(), port) != ports.end()) continue;
    try {
      (void)net::UdpSocket::bind(net::any_address(family, port));
      ports.push_back(port);
    } catch (const net::SocketError&) {
      // taken: sample another
    }
  }
  std::sort(ports.begin(), ports.end());
  return ports;
}

}  // namespace natdiag::hairpin
