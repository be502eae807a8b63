#include "stun/server/server.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>

#include "stun/proto/message.hpp"

namespace natdiag::server {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::size_t kBatch = 64;           // datagrams per recvmmsg/sendmmsg
constexpr std::size_t kPacketSize = 2048;    // larger datagrams are truncated, then refused
constexpr std::size_t kMaxTcpConnections = 256;
constexpr auto kTcpIdle = std::chrono::seconds(30);

// The last source of each refusal reason, for the log line. Best effort: a busy lock skips.
struct LastSources {
  std::mutex mutex;
  std::array<std::string, static_cast<std::size_t>(Refusal::kCount)> source;

  void remember(Refusal r, const TransportAddress& from) {
    std::unique_lock lock(mutex, std::try_to_lock);
    if (lock) source[static_cast<std::size_t>(r)] = from.to_string();
  }
};

LastSources& last_sources() {
  static LastSources instance;
  return instance;
}

void count_refusal(ServerCounters& counters, Refusal r, const TransportAddress& from) {
  counters.refused[static_cast<std::size_t>(r)].fetch_add(1, std::memory_order_relaxed);
  last_sources().remember(r, from);
}

}  // namespace

// --- rate limiter ---------------------------------------------------------------------------

RateLimiter::RateLimiter(double per_second, double burst)
    : per_second_(per_second), burst_(burst), table_(per_second > 0 ? 4096 : 0) {}

bool RateLimiter::allow(const TransportAddress& source, SteadyClock::time_point now) noexcept {
  if (per_second_ <= 0) return true;
  std::uint32_t hash = 2166136261U;  // FNV-1a over the IP
  for (std::size_t i = 0; i < source.ip_size(); ++i) hash = (hash ^ source.ip[i]) * 16777619U;
  Bucket& b = table_[hash % table_.size()];
  if (!b.used || b.ip != source.ip) {
    // A new source, or one that has been quiet long enough to lose its slot, starts full.
    if (!b.used || now - b.last > std::chrono::seconds(10)) {
      b = Bucket{source.ip, burst_, now, true};
    }
  }
  const double elapsed = std::chrono::duration<double>(now - b.last).count();
  b.tokens = std::min(burst_, b.tokens + elapsed * per_second_);
  b.last = now;
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

// --- UDP ----------------------------------------------------------------------------------

struct Server::UdpWorker {
  struct Bound {
    SocketId id;
    net::UdpSocket socket;
  };
  std::vector<Bound> sockets;
  Responder responder;
  RateLimiter limiter;
  ServerCounters& counters;
  std::thread thread;

  // Batch buffers, allocated once per worker.
  using PacketBuffers = std::vector<std::array<std::uint8_t, kPacketSize>>;
  PacketBuffers in = PacketBuffers(kBatch);
  PacketBuffers out = PacketBuffers(kBatch);
  std::array<mmsghdr, kBatch> in_msgs{};
  std::array<iovec, kBatch> in_iov{};
  std::array<sockaddr_storage, kBatch> in_addr{};
  std::array<mmsghdr, kBatch> out_msgs{};
  std::array<iovec, kBatch> out_iov{};
  std::array<net::SockAddr, kBatch> out_addr{};

  UdpWorker(const ServeOptions& options, ServerCounters& c)
      : responder(ResponderConfig{options.addresses, options.software, false}),
        limiter(options.rate_limit, std::max(20.0, options.rate_limit)),
        counters(c) {
    const auto& a = options.addresses;
    const int ips = a.alternate_ip ? 2 : 1;
    const int ports = a.alternate_ip ? 2 : 1;
    for (std::uint8_t ip = 0; ip < ips; ++ip) {
      for (std::uint8_t port = 0; port < ports; ++port) {
        const SocketId id{ip, port};
        sockets.push_back(Bound{id, net::UdpSocket::bind(a.address_of(id), options.threads > 1)});
      }
    }
  }

  net::UdpSocket* socket_for(SocketId id) {
    for (auto& b : sockets) {
      if (b.id == id) return &b.socket;
    }
    return nullptr;
  }

  // One recvmmsg on one socket, then the replies grouped by the socket they leave from.
  void serve_batch(Bound& bound) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      in_iov[i] = iovec{in[i].data(), kPacketSize};
      in_msgs[i].msg_hdr = msghdr{};
      in_msgs[i].msg_hdr.msg_iov = &in_iov[i];
      in_msgs[i].msg_hdr.msg_iovlen = 1;
      in_msgs[i].msg_hdr.msg_name = &in_addr[i];
      in_msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    }
    const int n = recvmmsg(bound.socket.fd(), in_msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;
    counters.received.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
    const auto now = SteadyClock::now();
    std::array<Reply, kBatch> replies{};
    for (int i = 0; i < n; ++i) {
      auto source = net::from_sockaddr(reinterpret_cast<const sockaddr*>(&in_addr[i]));
      if (!source) continue;
      const std::size_t size = std::min<std::size_t>(in_msgs[i].msg_len, kPacketSize);
      if (!limiter.allow(*source, now)) {
        count_refusal(counters, Refusal::kRateLimited, *source);
        continue;
      }
      replies[i] = responder.respond(std::span(in[i]).first(size), *source, bound.id, out[i]);
      if (replies[i].refusal != Refusal::kNone) count_refusal(counters, replies[i].refusal, *source);
    }
    // Send grouped by outgoing socket; most replies leave from the socket they arrived on.
    for (auto& from : sockets) {
      unsigned count = 0;
      for (int i = 0; i < n; ++i) {
        if (!replies[i].send || !(replies[i].from == from.id)) continue;
        out_addr[count] = net::to_sockaddr(replies[i].to);
        out_iov[count] = iovec{out[i].data(), replies[i].size};
        out_msgs[count].msg_hdr = msghdr{};
        out_msgs[count].msg_hdr.msg_iov = &out_iov[count];
        out_msgs[count].msg_hdr.msg_iovlen = 1;
        out_msgs[count].msg_hdr.msg_name = out_addr[count].get();
        out_msgs[count].msg_hdr.msg_namelen = out_addr[count].length;
        ++count;
      }
      unsigned done = 0;
      while (done < count) {
        const int sent = sendmmsg(from.socket.fd(), out_msgs.data() + done, count - done, 0);
        if (sent <= 0) {
          if (sent < 0 && errno == EINTR) continue;
          ++done;  // skip the datagram the kernel refused (e.g. EACCES, unreachable)
          continue;
        }
        done += static_cast<unsigned>(sent);
        counters.answered.fetch_add(static_cast<std::uint64_t>(sent), std::memory_order_relaxed);
      }
    }
  }

  void run(const std::atomic<bool>& stop) {
    std::vector<pollfd> fds;
    for (auto& b : sockets) fds.push_back(pollfd{b.socket.fd(), POLLIN, 0});
    while (!stop.load(std::memory_order_relaxed)) {
      if (::poll(fds.data(), fds.size(), 200) <= 0) continue;
      for (std::size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].revents & POLLIN) serve_batch(sockets[i]);
      }
    }
  }
};

// --- TCP ----------------------------------------------------------------------------------

struct Server::TcpWorker {
  struct Listener {
    SocketId id;
    net::FileDescriptor fd;
  };
  struct Connection {
    SocketId id;
    net::FileDescriptor fd;
    TransportAddress peer;
    std::vector<std::uint8_t> buffer;
    SteadyClock::time_point last_activity;
  };
  std::vector<Listener> listeners;
  std::vector<Connection> connections;
  Responder responder;
  ServerCounters& counters;
  std::thread thread;

  TcpWorker(const ServeOptions& options, ServerCounters& c)
      : responder(ResponderConfig{options.addresses, options.software, true}), counters(c) {
    const auto& a = options.addresses;
    const int n = a.alternate_ip ? 2 : 1;
    for (std::uint8_t ip = 0; ip < n; ++ip) {
      for (std::uint8_t port = 0; port < n; ++port) {
        const SocketId id{ip, port};
        const auto addr = a.address_of(id);
        net::FileDescriptor fd(::socket(net::to_af(addr.family),
                                        SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (!fd.valid()) throw net::SocketError("socket(TCP)", errno);
        const int on = 1;
        setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        if (addr.family == stun::Family::kIPv6) {
          setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
        }
        const auto sa = net::to_sockaddr(addr);
        if (::bind(fd.get(), sa.get(), sa.length) != 0) {
          throw net::BindError("bind TCP " + addr.to_string(), errno);
        }
        if (::listen(fd.get(), 64) != 0) throw net::SocketError("listen TCP", errno);
        listeners.push_back(Listener{id, std::move(fd)});
      }
    }
  }

  // Answers every whole message in the buffer; false when the connection must close.
  bool serve_connection(Connection& c) {
    std::array<std::uint8_t, 4096> in{};
    const ssize_t n = ::recv(c.fd.get(), in.data(), in.size(), MSG_DONTWAIT);
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    c.last_activity = SteadyClock::now();
    c.buffer.insert(c.buffer.end(), in.begin(), in.begin() + n);
    counters.received.fetch_add(1, std::memory_order_relaxed);
    while (c.buffer.size() >= 4) {
      const auto size = stun::stun_message_size(c.buffer);
      if (!size || *size > kPacketSize) {
        count_refusal(counters, Refusal::kMalformed, c.peer);
        return false;  // not STUN framing: the stream cannot be resynchronised
      }
      if (c.buffer.size() < *size) break;
      std::array<std::uint8_t, kPacketSize> out{};
      const Reply reply = responder.respond(std::span(c.buffer).first(*size), c.peer, c.id, out);
      c.buffer.erase(c.buffer.begin(), c.buffer.begin() + static_cast<std::ptrdiff_t>(*size));
      if (reply.refusal != Refusal::kNone) count_refusal(counters, reply.refusal, c.peer);
      if (!reply.send) continue;
      if (::send(c.fd.get(), out.data(), reply.size, MSG_NOSIGNAL | MSG_DONTWAIT) !=
          static_cast<ssize_t>(reply.size)) {
        return false;  // a peer that does not read its answers is not waited for
      }
      counters.answered.fetch_add(1, std::memory_order_relaxed);
    }
    return true;
  }

  void run(const std::atomic<bool>& stop) {
    std::vector<pollfd> fds;
    while (!stop.load(std::memory_order_relaxed)) {
      fds.clear();
      for (auto& l : listeners) fds.push_back(pollfd{l.fd.get(), POLLIN, 0});
      for (auto& c : connections) fds.push_back(pollfd{c.fd.get(), POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 200) < 0) continue;
      const auto now = SteadyClock::now();
      for (std::size_t i = 0; i < listeners.size(); ++i) {
        if (!(fds[i].revents & POLLIN)) continue;
        net::SockAddr peer;
        peer.length = sizeof peer.storage;
        net::FileDescriptor fd(::accept4(listeners[i].fd.get(), peer.get(), &peer.length,
                                         SOCK_NONBLOCK | SOCK_CLOEXEC));
        auto from = fd.valid() ? net::from_sockaddr(peer.get()) : std::nullopt;
        if (!from || connections.size() >= kMaxTcpConnections) continue;
        const int on = 1;
        setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        connections.push_back(Connection{listeners[i].id, std::move(fd), *from, {}, now});
      }
      std::vector<Connection> alive;
      alive.reserve(connections.size());
      for (std::size_t i = 0; i < connections.size(); ++i) {
        auto& c = connections[i];
        const auto& p = fds[listeners.size() + i];
        bool keep = now - c.last_activity < kTcpIdle;
        if (keep && (p.revents & (POLLIN | POLLHUP | POLLERR))) keep = serve_connection(c);
        if (keep) alive.push_back(std::move(c));
      }
      connections = std::move(alive);
    }
  }
};

// --- Server -------------------------------------------------------------------------------

Server::Server(ServeOptions options) : options_(std::move(options)) {
  if (options_.udp && options_.threads > 1) {
    // SO_REUSEPORT would let this server share its ports with another process that also set
    // it, silently splitting the traffic. A plain bind first proves the ports are free.
    const auto& a = options_.addresses;
    for (std::uint8_t ip = 0; ip < (a.alternate_ip ? 2 : 1); ++ip) {
      for (std::uint8_t port = 0; port < (a.alternate_ip ? 2 : 1); ++port) {
        (void)net::UdpSocket::bind(a.address_of(SocketId{ip, port}), false);
      }
    }
  }
  if (options_.udp) {
    for (int i = 0; i < std::max(1, options_.threads); ++i) {
      udp_.push_back(std::make_unique<UdpWorker>(options_, counters_));
    }
  }
  if (options_.tcp) tcp_ = std::make_unique<TcpWorker>(options_, counters_);
}

Server::~Server() = default;

std::vector<std::string> Server::listeners() const {
  std::vector<std::string> out;
  if (!udp_.empty()) {
    for (const auto& b : udp_.front()->sockets) out.push_back("udp " + b.socket.local_address().to_string());
  }
  if (tcp_) {
    for (const auto& l : tcp_->listeners) out.push_back("tcp " + net::socket_local_address(l.fd.get()).to_string());
  }
  return out;
}

void Server::run(const std::atomic<bool>& stop, const LogSink& log) {
  for (auto& w : udp_) w->thread = std::thread([&w, &stop] { w->run(stop); });
  if (tcp_) tcp_->thread = std::thread([this, &stop] { tcp_->run(stop); });

  std::array<std::uint64_t, static_cast<std::size_t>(Refusal::kCount)> logged{};
  std::array<SteadyClock::time_point, static_cast<std::size_t>(Refusal::kCount)> last_log{};
  // Logs what was refused since the last line of each reason; `flush` ignores the interval
  // (at shutdown, so no refusal goes unreported).
  auto log_refusals = [&](bool flush) {
    const auto now = SteadyClock::now();
    for (std::size_t r = 1; r < logged.size(); ++r) {
      const std::uint64_t total = counters_.refused[r].load(std::memory_order_relaxed);
      if (total == logged[r] || (!flush && last_log[r] != SteadyClock::time_point{} &&
                                 now - last_log[r] < options_.log_interval)) {
        continue;
      }
      std::string source;
      {
        std::lock_guard lock(last_sources().mutex);
        source = last_sources().source[r];
      }
      if (log) log(std::string(refusal_name(static_cast<Refusal>(r))), total - logged[r], source);
      logged[r] = total;
      last_log[r] = now;
    }
  };
  while (!stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    log_refusals(false);
  }
  for (auto& w : udp_) w->thread.join();
  if (tcp_) tcp_->thread.join();
  log_refusals(true);
}

}  // namespace natdiag::server
