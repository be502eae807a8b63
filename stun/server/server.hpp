// `natdiag serve`: the I/O around the Responder. UDP on up to four sockets per thread (batched
// with recvmmsg/sendmmsg, SO_REUSEPORT across threads), TCP on one thread, a per-source rate
// limit, and refusal logging bounded to one line per reason per interval.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "stun/net/socket.hpp"
#include "stun/server/responder.hpp"

namespace natdiag::server {

/// Settings of a running server.
struct ServeOptions {
  ServerAddresses addresses;
  bool udp = true;
  bool tcp = true;
  int threads = 1;                 ///< UDP worker threads (SO_REUSEPORT)
  double rate_limit = 200;         ///< requests per second per source IP; 0 turns it off
  std::string software = "natdiag";
  std::chrono::seconds log_interval{10};
};

/// Counters, readable while the server runs.
struct ServerCounters {
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::uint64_t> answered{0};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Refusal::kCount)> refused{};
};

/// Per-source token buckets in a fixed table: no allocation per packet. Sources that collide
/// in the table share a bucket, which can only make the limit stricter.
class RateLimiter {
 public:
  RateLimiter(double per_second, double burst);
  /// True when a packet from `source` may be answered at `now`.
  bool allow(const TransportAddress& source, std::chrono::steady_clock::time_point now) noexcept;

 private:
  struct Bucket {
    std::array<std::uint8_t, 16> ip{};
    double tokens = 0;
    std::chrono::steady_clock::time_point last{};
    bool used = false;
  };
  double per_second_;
  double burst_;
  std::vector<Bucket> table_;
};

/// A bound, ready server. Construction binds every socket (throws net::SocketError).
class Server {
 public:
  using LogSink = std::function<void(const std::string& reason, std::uint64_t count,
                                     const std::string& last_source)>;

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
  struct TcpWorker;
  ServeOptions options_;
  ServerCounters counters_;
  std::vector<std::unique_ptr<UdpWorker>> udp_;
  std::unique_ptr<TcpWorker> tcp_;
};

}  // namespace natdiag::server
