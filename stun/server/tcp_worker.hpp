// The TCP side of `natdiag serve` (RFC 8489 §6.2.2): one thread, poll, per-source connection
// caps and deadlines so that no source can keep the others out.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "stun/net/socket.hpp"
#include "stun/server/rate_limiter.hpp"
#include "stun/server/responder.hpp"

namespace natdiag::server {

struct ServerCounters;

/// How long and how many TCP connections may stay. The deadlines are what slowloris meets:
/// bytes that do not complete a request never extend them.
struct TcpLimits {
  std::size_t max_connections = 256;  ///< in all; when full, the stalest one makes room
  std::size_t max_per_source = 8;     ///< per source key (IPv6: per prefix); its stalest goes
  /// To send a whole request: the first from the accept, each later one from its first byte.
  std::chrono::milliseconds request_deadline{3000};
  std::chrono::milliseconds idle_after_answer{5000};  ///< quiet time allowed after an answer
};

/// Accepts, reads, answers and sheds TCP connections on the server's listeners.
class TcpWorker {
 public:
  using Refuse = std::function<void(Refusal, const TransportAddress&)>;

  /// Binds and listens on every socket of `addresses` (throws net::SocketError).
  TcpWorker(const ResponderConfig& config, const TcpLimits& limits, int ipv6_prefix,
            RateLimiter& limiter, ServerCounters& counters, Refuse refuse);

  /// Serves until `stop` turns true (checked at least every 200 ms).
  void run(const std::atomic<bool>& stop);

  /// "tcp 203.0.113.10:3478", ...
  [[nodiscard]] std::vector<std::string> listeners() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Listener {
    SocketId id;
    net::FileDescriptor fd;
  };
  struct Connection {
    SocketId id;
    net::FileDescriptor fd;
    TransportAddress peer;
    SourceKey key;
    std::vector<std::uint8_t> buffer;
    Clock::time_point since;     ///< accepted, or last answered: what "stale" compares
    Clock::time_point deadline;  ///< closed at this time unless a request completes
    bool answered = false;       ///< an answer went out: the next request gets a fresh deadline
  };

  bool serve_connection(Connection& c, Clock::time_point now);
  void accept_from(const Listener& l, Clock::time_point now);
  void make_room_for(const SourceKey& key);

  Responder responder_;
  TcpLimits limits_;
  int ipv6_prefix_;
  RateLimiter& limiter_;
  ServerCounters& counters_;
  Refuse refuse_;
  std::vector<Listener> listeners_;
  std::vector<Connection> connections_;
};

}  // namespace natdiag::server
