#include "src/ports/listener.hpp"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "stun/net/endpoint.hpp"

namespace natdiag::ports {
namespace {

using namespace std::chrono_literals;

/// Epoll tags: the kind of descriptor in the top byte, an index or fd below.
constexpr std::uint64_t kUdpTag = 0;
constexpr std::uint64_t kListenTag = 1ull << 56;
constexpr std::uint64_t kConnTag = 2ull << 56;
constexpr std::uint64_t kTagMask = 0xffull << 56;

/// A TCP prober has this long to send its 40 bytes after connecting.
constexpr auto kConnectionLifetime = 2s;
/// Accepted connections waiting for their probe, at most (the oldest is closed first).
constexpr std::size_t kMaxConnections = 512;
/// Descriptors kept free for everything else (resolver, control connection, TLS, /proc).
constexpr std::size_t kSpareDescriptors = 64;

bool ipv6_available() {
  const int fd = ::socket(AF_INET6, SOCK_DGRAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_any;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

/// A bound socket on `port` (any address), or an invalid descriptor with errno set.
net::FileDescriptor bind_port(int type, std::uint16_t port, bool dual_stack) {
  const int family = dual_stack ? AF_INET6 : AF_INET;
  net::FileDescriptor fd(::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fd;
  const int one = 1;
  const int zero = 0;
  if (type == SOCK_STREAM) ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (dual_stack) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  const auto address =
      net::any_address(dual_stack ? stun::Family::kIPv6 : stun::Family::kIPv4, port);
  const auto sa = net::to_sockaddr(address);
  if (::bind(fd.get(), sa.get(), sa.length) != 0) return net::FileDescriptor{};
  if (type == SOCK_STREAM && ::listen(fd.get(), 128) != 0) return net::FileDescriptor{};
  return fd;
}

void add_to_epoll(int epoll, int fd, std::uint64_t tag) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tag;
  if (::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &ev) != 0) {
    throw net::SocketError("epoll_ctl", errno);
  }
}

}  // namespace

std::size_t descriptor_budget() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_max == RLIM_INFINITY) return SIZE_MAX;
  const rlim_t overhead = kSpareDescriptors + kMaxConnections;
  return limit.rlim_max > overhead ? limit.rlim_max - overhead : 0;
}

void ensure_descriptors(std::size_t needed) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t want = needed + kSpareDescriptors;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < want) {
    rlimit raised = limit;
    raised.rlim_cur =
        limit.rlim_max == RLIM_INFINITY ? want : std::min<rlim_t>(limit.rlim_max, want);
    if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < want) {
      // Raising the hard limit needs CAP_SYS_RESOURCE (root); try, then settle for the old one.
      rlimit hard{want, want};
      if (::setrlimit(RLIMIT_NOFILE, &hard) == 0) return;
    }
    ::setrlimit(RLIMIT_NOFILE, &raised);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < want) {
    throw DescriptorLimitError(
        "needs " + std::to_string(want) +
        " file descriptors (one socket per port), but RLIMIT_NOFILE allows " +
        std::to_string(limit.rlim_cur) +
        " and cannot be raised; test fewer ports or raise the limit (ulimit -n)");
  }
}

struct Listener::Connection {
  net::FileDescriptor fd;
  std::uint16_t port = 0;
  TransportAddress from;
  std::array<std::uint8_t, kProbeSize> buffer{};
  std::size_t received = 0;
  TimePoint expires;
};

Listener::Listener(const PortSet& tcp, const PortSet& udp, const Key& key, bool echo_udp)
    : key_(key), echo_udp_(echo_udp) {
  ensure_descriptors(std::size_t{tcp.size()} + udp.size() + kMaxConnections);
  dual_stack_ = ipv6_available();
  epoll_ = net::FileDescriptor(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_.valid()) throw net::SocketError("epoll_create1", errno);
  auto open_all = [&](const PortSet& ports, int type, auto& sockets, PortSet& listening,
                      PortSet& held, std::uint64_t tag) {
    sockets.reserve(ports.size());
    for (const auto port : ports.ports()) {
      auto fd = bind_port(type, port, dual_stack_);
      if (!fd.valid()) {
        const int error = errno;
        if (error == EADDRINUSE) {
          held.add(port, port);
          continue;
        }
        if (error == EMFILE || error == ENFILE) {
          throw DescriptorLimitError(std::string("out of file descriptors after ") +
                                     std::to_string(sockets.size()) + " sockets");
        }
        throw net::SocketError(std::string("cannot listen on ") +
                                   (type == SOCK_DGRAM ? "UDP" : "TCP") + " port " +
                                   std::to_string(port),
                               error);
      }
      add_to_epoll(epoll_.get(), fd.get(), tag | sockets.size());
      sockets.emplace_back(port, std::move(fd));
      listening.add(port, port);
    }
  };
  open_all(udp, SOCK_DGRAM, udp_, listening_udp_, held_udp_, kUdpTag);
  open_all(tcp, SOCK_STREAM, tcp_, listening_tcp_, held_tcp_, kListenTag);
}

Listener::~Listener() = default;

PortSet Listener::udp_missing() const {
  PortSet out;
  for (const auto& [port, fd] : udp_) {
    if (!udp_seen_.contains(port)) out.add(port, port);
  }
  return out;
}

PortSet Listener::tcp_missing() const {
  PortSet out;
  for (const auto& [port, fd] : tcp_) {
    if (!tcp_seen_.contains(port)) out.add(port, port);
  }
  return out;
}

void Listener::record(std::map<std::uint16_t, Arrival>& seen, std::uint16_t port,
                      const TransportAddress& from) {
  ++counters_.accepted;
  seen.try_emplace(port, Arrival{from, stun::Clock::now()});
}

void Listener::poll_until(TimePoint until, bool stop_when_all) {
  std::array<epoll_event, 256> events{};
  for (;;) {
    const auto now = stun::Clock::now();
    expire_connections(now);
    if (stop_when_all && udp_seen_.size() == udp_.size() && tcp_seen_.size() == tcp_.size()) return;
    if (now >= until) return;
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(until - now);
    const int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()),
                               static_cast<int>(std::min<long long>(wait.count(), 100)));
    if (n < 0 && errno != EINTR) throw net::SocketError("epoll_wait", errno);
    for (int i = 0; i < n; ++i) {
      const std::uint64_t tag = events[i].data.u64;
      const std::uint64_t value = tag & ~kTagMask;
      switch (tag & kTagMask) {
        case kUdpTag: on_udp(value); break;
        case kListenTag: on_accept(value); break;
        case kConnTag: on_connection(static_cast<int>(value)); break;
        default: break;
      }
    }
  }
}

void Listener::on_udp(std::size_t index) {
  auto& [port, fd] = udp_[index];
  std::array<std::uint8_t, 512> buffer{};
  for (int i = 0; i < 64; ++i) {  // bounded: other sockets get their turn
    net::SockAddr from;
    from.length = sizeof from.storage;
    const ssize_t n =
        ::recvfrom(fd.get(), buffer.data(), buffer.size(), 0, from.get(), &from.length);
    if (n < 0) return;
    const auto source = net::from_sockaddr(from.get());
    const auto decoded = decode_probe(std::span(buffer).first(static_cast<std::size_t>(n)), key_);
    if (!source || !decoded.probe || decoded.probe->type != ProbeType::kProbe ||
        decoded.probe->transport != Transport::kUdp) {
      ++counters_.unauthenticated;
      continue;
    }
    if (decoded.probe->port != port) {
      ++counters_.misdirected;
      continue;
    }
    record(udp_seen_, port, *source);
    if (!echo_udp_) continue;
    const auto echo = encode_probe(echo_of(*decoded.probe), key_);
    ::sendto(fd.get(), echo.data(), echo.size(), MSG_DONTWAIT, from.get(), from.length);
  }
}

void Listener::on_accept(std::size_t index) {
  auto& [port, fd] = tcp_[index];
  for (int i = 0; i < 16; ++i) {
    net::SockAddr from;
    from.length = sizeof from.storage;
    net::FileDescriptor conn(
        ::accept4(fd.get(), from.get(), &from.length, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!conn.valid()) return;
    if (connections_.size() >= kMaxConnections) connections_.erase(connections_.begin());
    auto c = std::make_unique<Connection>();
    c->port = port;
    c->from = net::from_sockaddr(from.get()).value_or(TransportAddress{});
    c->expires = stun::Clock::now() + kConnectionLifetime;
    const int raw = conn.get();
    add_to_epoll(epoll_.get(), raw, kConnTag | static_cast<std::uint64_t>(raw));
    c->fd = std::move(conn);
    connections_[raw] = std::move(c);
  }
}

void Listener::on_connection(int fd) {
  const auto it = connections_.find(fd);
  if (it == connections_.end()) return;
  auto& c = *it->second;
  const ssize_t n = ::read(fd, c.buffer.data() + c.received, c.buffer.size() - c.received);
  if (n <= 0) {
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    ++counters_.unauthenticated;
    connections_.erase(it);
    return;
  }
  c.received += static_cast<std::size_t>(n);
  if (c.received < c.buffer.size()) return;
  const auto decoded = decode_probe(c.buffer, key_);
  if (!decoded.probe || decoded.probe->type != ProbeType::kProbe ||
      decoded.probe->transport != Transport::kTcp) {
    ++counters_.unauthenticated;
  } else if (decoded.probe->port != c.port) {
    ++counters_.misdirected;
  } else {
    record(tcp_seen_, c.port, c.from);
    const auto echo = encode_probe(echo_of(*decoded.probe), key_);
    [[maybe_unused]] const auto written =
        ::send(fd, echo.data(), echo.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  connections_.erase(it);  // closing removes it from the epoll set
}

void Listener::expire_connections(TimePoint now) {
  for (auto it = connections_.begin(); it != connections_.end();) {
    it = it->second->expires <= now ? connections_.erase(it) : std::next(it);
  }
}

}  // namespace natdiag::ports
