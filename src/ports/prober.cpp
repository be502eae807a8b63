#include "src/ports/prober.hpp"

#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "stun/net/endpoint.hpp"

namespace natdiag::ports {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kBatch = 64;

/// ENOBUFS / EAGAIN on one send this many times in a row: the port is given up as untested.
constexpr int kMaxBufferRetries = 200;
/// Another error on the same port this many times in a row is this host's, not an earlier
/// ICMP error the kernel reports on the next send (that one clears itself once reported).
constexpr int kMaxLocalFailures = 3;

/// One ICMP error from a socket's error queue.
struct QueuedIcmp {
  IcmpError icmp;
  std::optional<TransportAddress> destination;  ///< where the probe went
  std::optional<TransportAddress> offender;     ///< who sent the ICMP error
};

/// Reads (at most `limit`) ICMP errors from `fd`'s error queue (IP_RECVERR / IPV6_RECVERR).
std::vector<QueuedIcmp> read_error_queue(int fd, std::size_t limit) {
  std::vector<QueuedIcmp> out;
  for (std::size_t i = 0; i < limit; ++i) {
    std::array<std::uint8_t, 512> data{};
    std::array<char, 512> control{};
    net::SockAddr original;
    iovec iov{data.data(), data.size()};
    msghdr msg{};
    msg.msg_name = original.get();
    msg.msg_namelen = sizeof original.storage;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    if (::recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) break;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      const bool is_err = (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
                          (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR);
      if (!is_err) continue;
      sock_extended_err ee{};
      std::memcpy(&ee, CMSG_DATA(c), sizeof ee);
      if (ee.ee_origin != SO_EE_ORIGIN_ICMP && ee.ee_origin != SO_EE_ORIGIN_ICMP6) continue;
      const auto* offender = SO_EE_OFFENDER(reinterpret_cast<sock_extended_err*>(CMSG_DATA(c)));
      out.push_back({{ee.ee_type, ee.ee_code, ee.ee_origin == SO_EE_ORIGIN_ICMP6},
                     msg.msg_namelen > 0 ? net::from_sockaddr(original.get()) : std::nullopt,
                     net::from_sockaddr(offender)});
    }
  }
  return out;
}

/// This host's address towards `target` (the kernel's route choice), or nothing without a route.
std::optional<TransportAddress> route_source(const TransportAddress& target) {
  net::FileDescriptor fd(::socket(net::to_af(target.family), SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return std::nullopt;
  TransportAddress to = target;
  if (to.port == 0) to.port = 9;
  const auto sa = net::to_sockaddr(to);
  if (::connect(fd.get(), sa.get(), sa.length) != 0) return std::nullopt;
  return net::socket_local_address(fd.get());
}

/// True for the errors the kernel may report on a send for an earlier ICMP error
/// (IP_RECVERR sets sk_err), rather than for this send.
bool maybe_earlier_icmp(int error) {
  return error == ECONNREFUSED || error == EHOSTUNREACH || error == ENETUNREACH ||
         error == EHOSTDOWN || error == ENONET || error == ENOPROTOOPT || error == EPROTO ||
         error == EMSGSIZE || error == EOPNOTSUPP || error == EACCES;
}

}  // namespace

IcmpMeaning icmp_meaning(const IcmpError& e) noexcept {
  if (!e.v6 && e.type == 3 && e.code == 3) return IcmpMeaning::kPortUnreachable;
  if (e.v6 && e.type == 1 && e.code == 4) return IcmpMeaning::kPortUnreachable;
  if (!e.v6 && e.type == 3 && (e.code == 9 || e.code == 10 || e.code == 13))
    return IcmpMeaning::kProhibited;
  if (e.v6 && e.type == 1 && e.code == 1) return IcmpMeaning::kProhibited;
  return IcmpMeaning::kOther;
}

std::string icmp_text(const IcmpError& e) {
  const std::string name = e.v6 ? "ICMPv6" : "ICMP";
  switch (icmp_meaning(e)) {
    case IcmpMeaning::kPortUnreachable: return name + " port unreachable";
    case IcmpMeaning::kProhibited: return name + " administratively prohibited";
    case IcmpMeaning::kOther: break;
  }
  if (!e.v6 && e.type == 3 && e.code == 0) return "ICMP network unreachable";
  if (!e.v6 && e.type == 3 && e.code == 1) return "ICMP host unreachable";
  if (e.v6 && e.type == 1 && e.code == 0) return "ICMPv6 no route to destination";
  if (e.v6 && e.type == 1 && e.code == 3) return "ICMPv6 address unreachable";
  if ((!e.v6 && e.type == 11) || (e.v6 && e.type == 3)) return name + " time exceeded";
  return name + " type " + std::to_string(e.type) + " code " + std::to_string(e.code);
}

IcmpMeaning icmp_meaning_of_text(std::string_view text) noexcept {
  if (text == "ICMP port unreachable" || text == "ICMPv6 port unreachable")
    return IcmpMeaning::kPortUnreachable;
  if (text == "ICMP administratively prohibited" || text == "ICMPv6 administratively prohibited")
    return IcmpMeaning::kProhibited;
  return IcmpMeaning::kOther;
}

namespace {

void wait_readable(int fd, TimePoint until) {
  const auto now = stun::Clock::now();
  if (until <= now) return;
  pollfd p{fd, POLLIN | POLLERR, 0};
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(until - now).count();
  ::poll(&p, 1, static_cast<int>(std::min<long long>(ms, 100)));
}

}  // namespace

Pacer::Pacer(double rate, std::size_t burst) noexcept
    : rate_(rate > 0 ? rate : 1), burst_(std::max<std::size_t>(burst, 1)) {}

std::size_t Pacer::allowance(TimePoint now) noexcept {
  if (now < next_) return 0;
  return burst_;
}

void Pacer::sent(std::size_t count, TimePoint now) noexcept {
  const auto spacing = std::chrono::duration<double>(static_cast<double>(count) / rate_);
  // A pause saves nothing up: the next burst waits a full spacing after this one.
  next_ = std::max(next_, now) + std::chrono::duration_cast<stun::Clock::duration>(spacing);
}

UdpProber::UdpProber(const TransportAddress& target, const Key& key, std::uint64_t session,
                     double rate, const std::optional<TransportAddress>& local)
    : target_(target),
      key_(key),
      session_(session),
      pacer_(rate, kBatch),
      socket_(net::UdpSocket::bind(local.value_or(net::any_address(target.family)))) {
  const int one = 1;
  const bool v6 = target.family == stun::Family::kIPv6;
  ::setsockopt(socket_.fd(), v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_RECVERR : IP_RECVERR, &one,
               sizeof one);
  const int buffer = 1 << 20;
  ::setsockopt(socket_.fd(), SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  ::setsockopt(socket_.fd(), SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
  source_ = local && !local->same_ip(net::any_address(target.family)) ? std::optional(*local)
                                                                      : route_source(target);
}

std::size_t UdpProber::send_round(const std::vector<std::uint16_t>& ports, std::uint32_t round,
                                  TimePoint deadline) {
  std::vector<std::array<std::uint8_t, kProbeSize>> payloads(kBatch);
  std::vector<net::SockAddr> addresses(kBatch);
  std::vector<iovec> iov(kBatch);
  std::vector<mmsghdr> messages(kBatch);
  std::size_t next = 0;
  std::size_t sent_now = 0;
  int buffer_retries = 0;
  int local_failures = 0;
  int first_error = 0;
  auto give_up = [&](std::uint16_t port, const std::string& why) {
    if (!sent_ports_[port]) {
      TransportAddress here = source_.value_or(net::any_address(target_.family));
      here.port = 0;
      untested_.insert_or_assign(port, UdpReply{here, why});
    }
    ++next;
    buffer_retries = local_failures = first_error = 0;
  };
  while (next < ports.size()) {
    auto now = stun::Clock::now();
    if (now >= deadline) break;
    std::size_t allowed = pacer_.allowance(now);
    if (allowed == 0) {
      receive_pending();
      receive_errors();
      const auto wake = std::min(pacer_.next_time(), deadline);
      if (wake - stun::Clock::now() > 1ms) {
        wait_readable(socket_.fd(), wake);
      } else {
        std::this_thread::sleep_until(wake);
      }
      continue;
    }
    const std::size_t count = std::min({allowed, kBatch, ports.size() - next});
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint16_t port = ports[next + i];
      payloads[i] = encode_probe({ProbeType::kProbe, Transport::kUdp, port, session_, round}, key_);
      TransportAddress to = target_;
      to.port = port;
      addresses[i] = net::to_sockaddr(to);
      iov[i] = {payloads[i].data(), payloads[i].size()};
      messages[i] = {};
      messages[i].msg_hdr.msg_name = addresses[i].get();
      messages[i].msg_hdr.msg_namelen = addresses[i].length;
      messages[i].msg_hdr.msg_iov = &iov[i];
      messages[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = ::sendmmsg(socket_.fd(), messages.data(), static_cast<unsigned>(count), 0);
    if (n <= 0) {
      const int error = n < 0 ? errno : EIO;
      receive_errors();
      if (error == EINTR) continue;
      if (error == ENOBUFS || error == EAGAIN || error == EWOULDBLOCK) {
        if (++buffer_retries >= kMaxBufferRetries) {
          give_up(ports[next], std::string(std::strerror(error)) + " on this host, after " +
                                   std::to_string(kMaxBufferRetries) + " tries");
        } else {
          std::this_thread::sleep_for(1ms);
        }
        continue;
      }
      // ECONNREFUSED and friends may report an earlier ICMP error (it clears once reported):
      // try again. Any other error, or the same port failing again, is this host's own.
      if (first_error == 0) first_error = error;
      if (!maybe_earlier_icmp(error) || ++local_failures >= kMaxLocalFailures) {
        const int reason = maybe_earlier_icmp(error) ? first_error : error;
        give_up(ports[next], "the probe could not be sent from this host: " +
                                 std::string(std::strerror(reason)));
      }
      continue;
    }
    for (int i = 0; i < n; ++i) {
      sent_ports_[ports[next + static_cast<std::size_t>(i)]] = true;
      untested_.erase(ports[next + static_cast<std::size_t>(i)]);
    }
    buffer_retries = local_failures = first_error = 0;
    next += static_cast<std::size_t>(n);
    sent_now += static_cast<std::size_t>(n);
    sent_ += static_cast<std::uint64_t>(n);
    pacer_.sent(static_cast<std::size_t>(n), now);
  }
  receive_pending();
  receive_errors();
  return sent_now;
}

void UdpProber::mark_unsent(const std::vector<std::uint16_t>& ports) {
  for (auto port : ports) {
    if (sent_ports_[port]) continue;
    TransportAddress here = source_.value_or(net::any_address(target_.family));
    here.port = 0;
    untested_.try_emplace(port, UdpReply{here, "no probe was sent before the time ran out"});
  }
}

void UdpProber::drain_until(TimePoint until) {
  for (;;) {
    receive_pending();
    receive_errors();
    if (stun::Clock::now() >= until) return;
    wait_readable(socket_.fd(), until);
  }
}

void UdpProber::receive_pending() {
  std::array<std::uint8_t, 512> buffer{};
  for (int i = 0; i < 4096; ++i) {
    net::SockAddr from;
    from.length = sizeof from.storage;
    const ssize_t n = ::recvfrom(socket_.fd(), buffer.data(), buffer.size(), MSG_DONTWAIT,
                                 from.get(), &from.length);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      receive_errors();  // an ICMP error surfaced on recvfrom
      continue;
    }
    const auto source = net::from_sockaddr(from.get());
    if (!source || !source->same_ip(target_)) continue;  // not from the target: never believed
    const auto decoded = decode_probe(std::span(buffer).first(static_cast<std::size_t>(n)), key_);
    if (decoded.probe && decoded.probe->type == ProbeType::kEcho &&
        decoded.probe->transport == Transport::kUdp && decoded.probe->session == session_ &&
        decoded.probe->port == source->port) {
      echoed_.try_emplace(source->port, UdpReply{*source, "echo"});
    } else {
      other_.try_emplace(
          source->port, UdpReply{*source, decoded.probe ? "an echo for another probe"
                                                        : "a datagram that is not natdiag's echo"});
    }
  }
}

void UdpProber::receive_errors() {
  for (const auto& e : read_error_queue(socket_.fd(), 4096)) {
    if (!e.destination || !e.destination->same_ip(target_)) continue;
    const auto port = e.destination->port;
    if (!sent_ports_[port]) continue;  // no probe went there: nothing to explain
    UdpReply reply{e.offender.value_or(*e.destination), icmp_text(e.icmp), e.icmp};
    reply.from.port = 0;
    if (source_ && reply.from.same_ip(*source_) && !reply.from.same_ip(target_)) {
      reply.detail +=
          " from this host (" + reply.from.ip_string() + "): the probe did not leave it";
      untested_.try_emplace(port, std::move(reply));
      continue;
    }
    icmp_.try_emplace(port, std::move(reply));
  }
}

namespace {

/// What a failed connection attempt showed: the ICMP error behind it (IP_RECVERR) decides
/// between closed (port unreachable from the target), the path (any other), and this host.
TcpResult connect_failure(int fd, const TransportAddress& target, int error) {
  const auto queued = read_error_queue(fd, 8);
  if (queued.empty()) {
    if (error == ECONNREFUSED) return {TcpResult::Kind::kRefused, "connection refused (TCP RST)"};
    if (error == ETIMEDOUT)
      return {TcpResult::Kind::kTimeout, "no answer to the connection attempt"};
    return {TcpResult::Kind::kUnreachable, std::strerror(error)};
  }
  const auto& e = queued.back();
  const auto from = e.offender.value_or(target);
  const auto here = net::socket_local_address(fd);
  std::string detail = icmp_text(e.icmp) + " from " + from.ip_string();
  if (from.same_ip(here) && !from.same_ip(target)) {
    return {TcpResult::Kind::kNotSent,
            icmp_text(e.icmp) + " from this host (" + from.ip_string() +
                "): the connection attempt did not leave it",
            e.icmp};
  }
  if (icmp_meaning(e.icmp) == IcmpMeaning::kPortUnreachable && from.same_ip(target))
    return {TcpResult::Kind::kRefused, std::move(detail), e.icmp};
  return {TcpResult::Kind::kUnreachable, std::move(detail), e.icmp};
}

}  // namespace

std::string_view tcp_kind_name(TcpResult::Kind kind) noexcept {
  switch (kind) {
    case TcpResult::Kind::kEcho: return "echo";
    case TcpResult::Kind::kConnected: return "connected";
    case TcpResult::Kind::kRefused: return "refused";
    case TcpResult::Kind::kUnreachable: return "unreachable";
    case TcpResult::Kind::kTimeout: return "timeout";
    case TcpResult::Kind::kNotSent: return "not-sent";
  }
  return "timeout";
}

TcpResult::Kind tcp_kind_from_name(std::string_view name) noexcept {
  for (auto k : {TcpResult::Kind::kEcho, TcpResult::Kind::kConnected, TcpResult::Kind::kRefused,
                 TcpResult::Kind::kUnreachable, TcpResult::Kind::kNotSent}) {
    if (tcp_kind_name(k) == name) return k;
  }
  return TcpResult::Kind::kTimeout;
}

std::map<std::uint16_t, TcpResult> probe_tcp(const TransportAddress& target,
                                             const std::vector<std::uint16_t>& ports,
                                             const Key& key, std::uint64_t session,
                                             TimePoint deadline,
                                             const std::optional<TransportAddress>& local) {
  struct Attempt {
    std::uint16_t port;
    net::FileDescriptor fd;
    bool connected = false;
    std::array<std::uint8_t, kProbeSize> buffer{};
    std::size_t received = 0;
  };
  std::map<std::uint16_t, TcpResult> results;
  std::vector<Attempt> attempts;
  for (const auto port : ports) {
    TransportAddress to = target;
    to.port = port;
    net::FileDescriptor fd(
        ::socket(net::to_af(target.family), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) throw net::SocketError("socket", errno);
    const int one = 1;
    const bool v6 = target.family == stun::Family::kIPv6;
    ::setsockopt(fd.get(), v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_RECVERR : IP_RECVERR, &one,
                 sizeof one);
    if (local) {
      auto l = *local;
      l.port = 0;
      const auto sa = net::to_sockaddr(l);
      if (::bind(fd.get(), sa.get(), sa.length) != 0) throw net::SocketError("bind", errno);
    }
    const auto sa = net::to_sockaddr(to);
    if (::connect(fd.get(), sa.get(), sa.length) != 0 && errno != EINPROGRESS) {
      // At once, before any answer could come: this host's own error (no route, EPERM...).
      results[port] = errno == ECONNREFUSED
                          ? TcpResult{TcpResult::Kind::kRefused, "connection refused (TCP RST)"}
                          : TcpResult{TcpResult::Kind::kNotSent,
                                      "the connection could not be tried from this host: " +
                                          std::string(std::strerror(errno))};
      continue;
    }
    attempts.push_back({port, std::move(fd)});
  }
  auto finish = [&](Attempt& a, TcpResult result) {
    results[a.port] = std::move(result);
    a.fd = net::FileDescriptor{};
  };
  for (;;) {
    std::vector<pollfd> polls;
    std::vector<Attempt*> owners;
    for (auto& a : attempts) {
      if (!a.fd.valid()) continue;
      polls.push_back({a.fd.get(), static_cast<short>(a.connected ? POLLIN : POLLOUT), 0});
      owners.push_back(&a);
    }
    if (polls.empty()) break;
    const auto now = stun::Clock::now();
    if (now >= deadline) break;
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
    if (::poll(polls.data(), polls.size(), static_cast<int>(std::min<long long>(ms, 100))) < 0 &&
        errno != EINTR) {
      break;
    }
    for (std::size_t i = 0; i < polls.size(); ++i) {
      auto& a = *owners[i];
      if (polls[i].revents == 0) continue;
      if (!a.connected) {
        int error = 0;
        socklen_t len = sizeof error;
        ::getsockopt(a.fd.get(), SOL_SOCKET, SO_ERROR, &error, &len);
        if (error != 0) {
          finish(a, connect_failure(a.fd.get(), target, error));
          continue;
        }
        a.connected = true;
        const auto probe =
            encode_probe({ProbeType::kProbe, Transport::kTcp, a.port, session, 0}, key);
        if (::send(a.fd.get(), probe.data(), probe.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(probe.size())) {
          finish(a, {TcpResult::Kind::kConnected, "connected, but the probe could not be sent"});
        }
        continue;
      }
      const ssize_t n =
          ::read(a.fd.get(), a.buffer.data() + a.received, a.buffer.size() - a.received);
      if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        finish(a, {TcpResult::Kind::kConnected, "connected, then closed without natdiag's echo"});
        continue;
      }
      a.received += static_cast<std::size_t>(n);
      if (a.received < a.buffer.size()) continue;
      const auto decoded = decode_probe(a.buffer, key);
      const bool ok = decoded.probe && decoded.probe->type == ProbeType::kEcho &&
                      decoded.probe->session == session && decoded.probe->port == a.port &&
                      decoded.probe->transport == Transport::kTcp;
      finish(a, ok ? TcpResult{TcpResult::Kind::kEcho, "echo"}
                   : TcpResult{TcpResult::Kind::kConnected,
                               "connected, but the answer is not natdiag's echo"});
    }
  }
  for (auto& a : attempts) {
    if (!a.fd.valid()) continue;
    finish(a, a.connected
                  ? TcpResult{TcpResult::Kind::kConnected, "connected, but no echo came back"}
                  : TcpResult{TcpResult::Kind::kTimeout, "no answer to the connection attempt"});
  }
  return results;
}

}  // namespace natdiag::ports
