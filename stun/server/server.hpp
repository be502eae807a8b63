// `natdiag serve`: the I/O around the Responder. UDP on up to four sockets per thread (batched
// with recvmmsg/sendmmsg, SO_REUSEPORT across threads), TCP on one thread (tcp_worker.hpp),
// one per-source rate limit shared by all of them, and refusal logging bounded to one line per
// reason per interval.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "stun/net/socket.hpp"
#include "stun/server/rate_limiter.hpp"
#include "stun/server/responder.hpp"
#include "stun/server/tcp_worker.hpp"

namespace natdiag::server {

/// Settings of a running server.
struct ServeOptions {
  ServerAddresses addresses;
  bool udp = true;
  bool tcp = true;
  int threads = 1;                 ///< UDP worker threads (SO_REUSEPORT)
  double rate_limit = 200;         ///< requests per second per source key, all threads together; 0: off
  int ipv6_prefix = 64;            ///< IPv6 sources are limited per prefix of this length
  TcpLimits tcp_limits;
  std::string software = "natdiag";  ///< at most kMaxSoftwareBytes (the constructor checks)
  std::chrono::seconds log_interval{10};
};

/// Counters, readable while the server runs.
struct ServerCounters {
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::uint64_t> answered{0};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Refusal::kCount)> refused{};
};

/// A bound, ready server. Construction binds every socket (throws net::SocketError).
class Server {
 public:
  using LogSink = std::function<void(const std::string& reason, std::uint64_t count,
                                     const std::string& last_source)>;

  /// Binds every socket. Throws net::SocketError, or std::invalid_argument for a SOFTWARE
  /// longer than kMaxSoftwareBytes.
  explicit Server(ServeOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Serves until `stop` turns true (checked at least every 200 ms). `log` is called from
  /// this thread at most once per reason per log_interval, with the count since the last call.
  void run(const std::atomic<bool>& stop, const LogSink& log);

  /// "udp 203.0.113.10:3478", ... : what is listening.
  [[nodiscard]] std::vector<std::string> listeners() const;
  [[nodiscard]] const ServerCounters& counters() const noexcept { return counters_; }

 private:
  struct UdpWorker;
  ServeOptions options_;
  ServerCounters counters_;
  RateLimiter limiter_;
  std::vector<std::unique_ptr<UdpWorker>> udp_;
  std::unique_ptr<TcpWorker> tcp_;
  std::thread tcp_thread_;
};

}  // namespace natdiag::server
