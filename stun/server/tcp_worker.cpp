#include "stun/server/tcp_worker.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "stun/proto/message.hpp"
#include "stun/server/server.hpp"

namespace natdiag::server {

TcpWorker::TcpWorker(const ResponderConfig& config, const TcpLimits& limits, int ipv6_prefix,
                     RateLimiter& limiter, ServerCounters& counters, Refuse refuse)
    : responder_(config), limits_(limits), ipv6_prefix_(ipv6_prefix), limiter_(limiter),
      counters_(counters), refuse_(std::move(refuse)) {
  const auto& a = config.addresses;
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
      if (::listen(fd.get(), 128) != 0) throw net::SocketError("listen TCP", errno);
      listeners_.push_back(Listener{id, std::move(fd)});
    }
  }
}

std::vector<std::string> TcpWorker::listeners() const {
  std::vector<std::string> out;
  for (const auto& l : listeners_) {
    out.push_back("tcp " + net::socket_local_address(l.fd.get()).to_string());
  }
  return out;
}

// Answers every whole message in the buffer; false when the connection must close.
bool TcpWorker::serve_connection(Connection& c, Clock::time_point now) {
  std::array<std::uint8_t, 4096> in{};
  const ssize_t n = ::recv(c.fd.get(), in.data(), in.size(), MSG_DONTWAIT);
  if (n == 0) return false;
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  // After an answer, the first byte of the next request starts its deadline; the first
  // request's deadline runs from the accept. Later bytes of a request never extend it.
  if (c.buffer.empty() && c.answered) c.deadline = now + limits_.request_deadline;
  c.buffer.insert(c.buffer.end(), in.begin(), in.begin() + n);
  while (c.buffer.size() >= 4) {
    const auto size = stun::stun_message_size(c.buffer);
    if (!size) {
      refuse_(Refusal::kMalformed, c.peer);
      return false;  // not STUN framing: the stream cannot be resynchronised
    }
    if (*size > kMaxRequestSize) {
      refuse_(Refusal::kTooLarge, c.peer);
      return false;
    }
    if (c.buffer.size() < *size) break;
    counters_.received.fetch_add(1, std::memory_order_relaxed);
    const auto request = std::span(c.buffer).first(*size);
    std::array<std::uint8_t, kMaxRequestSize> out{};
    Reply reply;
    if (limiter_.allow(c.peer, now)) {
      reply = responder_.respond(request, c.peer, c.id, out);
    } else {
      reply.refusal = Refusal::kRateLimited;
    }
    c.buffer.erase(c.buffer.begin(), c.buffer.begin() + static_cast<std::ptrdiff_t>(*size));
    c.deadline = now + (c.buffer.empty() ? limits_.idle_after_answer : limits_.request_deadline);
    if (reply.refusal != Refusal::kNone) refuse_(reply.refusal, c.peer);
    if (!reply.send) continue;
    if (::send(c.fd.get(), out.data(), reply.size, MSG_NOSIGNAL | MSG_DONTWAIT) !=
        static_cast<ssize_t>(reply.size)) {
      return false;  // a peer that does not read its answers is not waited for
    }
    c.since = now;
    c.answered = true;
    counters_.answered.fetch_add(1, std::memory_order_relaxed);
  }
  return true;
}

// Closes the stalest connection of `key` when that source is at its cap, else the stalest
// of all when the table is full: a new connection is worth more than one that has had its
// chance.
void TcpWorker::make_room_for(const SourceKey& key) {
  auto stalest = connections_.end();
  std::size_t same_source = 0;
  for (auto it = connections_.begin(); it != connections_.end(); ++it) {
    if (!(it->key == key)) continue;
    ++same_source;
    if (stalest == connections_.end() || it->since < stalest->since) stalest = it;
  }
  if (same_source < limits_.max_per_source) {
    if (connections_.size() < limits_.max_connections) return;
    stalest = std::min_element(connections_.begin(), connections_.end(),
                               [](const Connection& a, const Connection& b) { return a.since < b.since; });
  }
  if (stalest == connections_.end()) return;
  refuse_(Refusal::kEvicted, stalest->peer);
  connections_.erase(stalest);
}

void TcpWorker::accept_from(const Listener& l, Clock::time_point now) {
  for (int i = 0; i < 64; ++i) {  // bounded: a connect flood cannot pin the loop
    net::SockAddr peer;
    peer.length = sizeof peer.storage;
    net::FileDescriptor fd(::accept4(l.fd.get(), peer.get(), &peer.length,
                                     SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) return;
    const auto from = net::from_sockaddr(peer.get());
    if (!from) continue;
    const SourceKey key = source_key(*from, ipv6_prefix_);
    if (limits_.max_per_source == 0 || limits_.max_connections == 0) continue;
    make_room_for(key);
    const int on = 1;
    setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    connections_.push_back(
        Connection{l.id, std::move(fd), *from, key, {}, now, now + limits_.request_deadline, false});
  }
}

void TcpWorker::run(const std::atomic<bool>& stop) {
  std::vector<pollfd> fds;
  while (!stop.load(std::memory_order_relaxed)) {
    fds.clear();
    for (auto& c : connections_) fds.push_back(pollfd{c.fd.get(), POLLIN, 0});
    for (auto& l : listeners_) fds.push_back(pollfd{l.fd.get(), POLLIN, 0});
    auto wake = Clock::now() + std::chrono::milliseconds(200);
    for (const auto& c : connections_) wake = std::min(wake, c.deadline);
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake - Clock::now()).count();
    if (::poll(fds.data(), fds.size(), static_cast<int>(std::clamp<std::int64_t>(wait + 1, 0, 200))) < 0) {
      continue;
    }
    const auto now = Clock::now();
    // The connections polled are exactly connections_[0, polled): accepting comes after.
    const std::size_t polled = connections_.size();
    std::size_t kept = 0;
    for (std::size_t i = 0; i < polled; ++i) {
      Connection& c = connections_[i];
      bool keep = true;
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) keep = serve_connection(c, now);
      if (keep && now >= c.deadline) {
        refuse_(c.buffer.empty() ? Refusal::kIdle : Refusal::kIncomplete, c.peer);
        keep = false;
      }
      if (keep) {
        if (kept != i) connections_[kept] = std::move(c);
        ++kept;
      }
    }
    connections_.erase(connections_.begin() + static_cast<std::ptrdiff_t>(kept), connections_.end());
    for (std::size_t i = 0; i < listeners_.size(); ++i) {
      if (fds[polled + i].revents & POLLIN) accept_from(listeners_[i], now);
    }
  }
}

}  // namespace natdiag::server
