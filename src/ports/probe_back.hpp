// `natdiag serve --probe-back`: the far end of `natdiag ports --via`. A TCP control service;
// each accepted request makes serve send authenticated probes to the ports it names, and only
// to the source address of that control connection (the protocol has no field for another).
// Bounded per request (ports, seconds, rounds, paced rate) and per source (IPv4 address or
// IPv6 prefix, as serve's STUN limit: requests per minute, one at a time; source_budget.hpp); refusals are logged at most once per reason
// per interval.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "src/ports/control.hpp"
#include "stun/net/socket.hpp"

namespace natdiag::ports {

/// Settings of the probe-back service.
struct ProbeBackOptions {
  net::TransportAddress listen;  ///< control address and port (probes leave from its IP)
  std::string secret;            ///< --probe-secret: requests must carry its HMAC
  double rate = 20000;           ///< UDP probes per second per request
  int requests_per_minute = 12;  ///< per source key (profile --via for every server, both families: 6)
  int max_concurrent = 4;        ///< requests served at once, all sources
  int ipv6_prefix = 64;          ///< IPv6 sources count as one per prefix (serve --ipv6-prefix)
  std::size_t max_sources = 4096;  ///< source keys remembered at once; new ones are refused beyond
  std::chrono::seconds log_interval{10};
};

/// The running service. Construction binds the control port (throws SocketError).
class ProbeBackService {
 public:
  using LogSink = std::function<void(const std::string& reason, std::uint64_t count,
                                     const std::string& last_source)>;

  explicit ProbeBackService(ProbeBackOptions options);
  ~ProbeBackService();
  ProbeBackService(const ProbeBackService&) = delete;
  ProbeBackService& operator=(const ProbeBackService&) = delete;

  /// "tcp 203.0.113.10:3480 (probe-back control)".
  [[nodiscard]] std::string listener() const;
  /// Accepts and serves requests until `stop`; waits for running requests before returning.
  void run(const std::atomic<bool>& stop, const LogSink& log);

 private:
  struct Shared;
  void serve_connection(net::FileDescriptor fd);
  ProbeBackOptions options_;
  net::FileDescriptor listener_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace natdiag::ports
