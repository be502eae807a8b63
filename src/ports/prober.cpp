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

std::string icmp_text(const sock_extended_err& ee, bool v6) {
  if (!v6 && ee.ee_type == 3 && ee.ee_code == 3) return "ICMP port unreachable";
  if (v6 && ee.ee_type == 1 && ee.ee_code == 4) return "ICMPv6 port unreachable";
  if (!v6 && ee.ee_type == 3 && (ee.ee_code == 9 || ee.ee_code == 10 || ee.ee_code == 13)) {
    return "ICMP administratively prohibited";
  }
  if (v6 && ee.ee_type == 1 && ee.ee_code == 1) return "ICMPv6 administratively prohibited";
  return std::string(v6 ? "ICMPv6" : "ICMP") + " type " + std::to_string(ee.ee_type) + " code " +
         std::to_string(ee.ee_code);
}

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
}

std::size_t UdpProber::send_round(const std::vector<std::uint16_t>& ports, std::uint32_t round,
                                  TimePoint deadline) {
  std::vector<std::array<std::uint8_t, kProbeSize>> payloads(kBatch);
  std::vector<net::SockAddr> addresses(kBatch);
  std::vector<iovec> iov(kBatch);
  std::vector<mmsghdr> messages(kBatch);
  std::size_t next = 0;
  std::size_t sent_now = 0;
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
      // ECONNREFUSED and friends report an earlier ICMP error: read it, then go on.
      receive_errors();
      if (errno == ENOBUFS || errno == EAGAIN) std::this_thread::sleep_for(1ms);
      continue;
    }
    next += static_cast<std::size_t>(n);
    sent_now += static_cast<std::size_t>(n);
    sent_ += static_cast<std::uint64_t>(n);
    pacer_.sent(static_cast<std::size_t>(n), now);
  }
  receive_pending();
  receive_errors();
  return sent_now;
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
  const bool v6 = target_.family == stun::Family::kIPv6;
  for (int i = 0; i < 4096; ++i) {
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
    if (::recvmsg(socket_.fd(), &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return;
    const auto destination = net::from_sockaddr(original.get());
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      const bool is_err = (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
                          (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR);
      if (!is_err) continue;
      sock_extended_err ee{};
      std::memcpy(&ee, CMSG_DATA(c), sizeof ee);
      if (ee.ee_origin != SO_EE_ORIGIN_ICMP && ee.ee_origin != SO_EE_ORIGIN_ICMP6) continue;
      if (!destination || !destination->same_ip(target_)) continue;
      const auto* offender_sa = SO_EE_OFFENDER(reinterpret_cast<sock_extended_err*>(CMSG_DATA(c)));
      auto offender = net::from_sockaddr(offender_sa);
      UdpReply reply{offender.value_or(*destination), icmp_text(ee, v6)};
      reply.from.port = 0;
      icmp_.try_emplace(destination->port, reply);
    }
  }
}

std::string_view tcp_kind_name(TcpResult::Kind kind) noexcept {
  switch (kind) {
    case TcpResult::Kind::kEcho: return "echo";
    case TcpResult::Kind::kConnected: return "connected";
    case TcpResult::Kind::kRefused: return "refused";
    case TcpResult::Kind::kUnreachable: return "unreachable";
    case TcpResult::Kind::kTimeout: return "timeout";
  }
  return "timeout";
}

TcpResult::Kind tcp_kind_from_name(std::string_view name) noexcept {
  for (auto k : {TcpResult::Kind::kEcho, TcpResult::Kind::kConnected, TcpResult::Kind::kRefused,
                 TcpResult::Kind::kUnreachable}) {
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
    if (local) {
      auto l = *local;
      l.port = 0;
      const auto sa = net::to_sockaddr(l);
      if (::bind(fd.get(), sa.get(), sa.length) != 0) throw net::SocketError("bind", errno);
    }
    const auto sa = net::to_sockaddr(to);
    if (::connect(fd.get(), sa.get(), sa.length) != 0 && errno != EINPROGRESS) {
      results[port] = {
          errno == ECONNREFUSED ? TcpResult::Kind::kRefused : TcpResult::Kind::kUnreachable,
          std::strerror(errno)};
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
          finish(a, {error == ECONNREFUSED ? TcpResult::Kind::kRefused
                     : error == ETIMEDOUT  ? TcpResult::Kind::kTimeout
                                           : TcpResult::Kind::kUnreachable,
                     std::strerror(error)});
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
