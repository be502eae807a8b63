// Who may start a probe-back request: per source key (IPv4 by address, IPv6 by prefix, the
// same keys as serve's STUN rate limit), a budget per minute and one request at a time, a cap
// on requests at once, and a bounded table (a key is forgotten once it has nothing to remember).
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <string>

#include "stun/proto/types.hpp"
#include "stun/server/rate_limiter.hpp"

namespace natdiag::ports {

/// The admission rules of `serve --probe-back`. Not thread-safe: the service holds a lock.
class SourceBudget {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  /// `per_minute` requests started per key in any 60 s, `max_running` at once over all keys,
  /// at most `max_sources` keys remembered; IPv6 sources count as one per `ipv6_prefix` bits.
  SourceBudget(int per_minute, int max_running, int ipv6_prefix, std::size_t max_sources);

  /// Empty when `source` may start a request at `now` (release() must follow), else why not:
  /// "per-ip-budget", "busy-ip" (its key has one running), "busy" (max_running reached) or
  /// "too-many-sources" (the table is full of keys still within their minute).
  [[nodiscard]] std::string admit(const stun::TransportAddress& source, TimePoint now);
  /// The request admitted for `source` has ended.
  void release(const stun::TransportAddress& source);

  /// "203.0.113.7", or "2001:db8:1:2::/64" for IPv6: the source as the budget counts it.
  [[nodiscard]] std::string key_text(const stun::TransportAddress& source) const;
  /// Keys remembered now (at most max_sources).
  [[nodiscard]] std::size_t tracked() const noexcept { return entries_.size(); }
  [[nodiscard]] int running() const noexcept { return running_; }

 private:
  struct Entry {
    std::deque<TimePoint> started;  ///< within the last minute
    int running = 0;
  };
  using Key = std::string;  ///< the 16 bytes of the cut IP, then the family
  [[nodiscard]] Key key_of(const stun::TransportAddress& source) const;
  /// Drops start times older than a minute, and every key left with nothing.
  void sweep(TimePoint now);

  int per_minute_;
  int max_running_;
  int ipv6_prefix_;
  std::size_t max_sources_;
  int running_ = 0;
  TimePoint last_sweep_{};
  std::map<Key, Entry> entries_;
};

}  // namespace natdiag::ports
