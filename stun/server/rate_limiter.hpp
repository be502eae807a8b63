// Per-source limits of `natdiag serve`: which sources count as one (IPv4 by address, IPv6 by
// prefix), and a token-bucket rate limiter with exact keys that all worker threads share.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "stun/proto/types.hpp"

namespace natdiag::server {

using stun::TransportAddress;

/// A source as limits see it: an IPv4 address, or an IPv6 address cut to a prefix (by default
/// /64, one subscriber's network: anyone with a /64 holds 2^64 addresses).
struct SourceKey {
  std::array<std::uint8_t, 16> ip{};
  std::uint8_t family = 0;  ///< 4 or 6
  friend bool operator==(const SourceKey&, const SourceKey&) = default;
};

/// The key of `source`, IPv6 cut to `ipv6_prefix` bits (0..128).
[[nodiscard]] SourceKey source_key(const TransportAddress& source, int ipv6_prefix) noexcept;

/// Token buckets per source key (`rate` per second, `burst` at most), shared by every thread
/// of a server. Keys are exact: a source never shares a bucket with another, so a flood from
/// one key never costs another key its budget. The table is fixed (no allocation per packet)
/// and indexed by a keyed hash (SipHash with a random key), so nobody can aim at another
/// source's slot. A slot is reused only when its bucket has refilled, which loses nothing;
/// a newcomer that finds no such slot in its probe window is refused.
class RateLimiter {
 public:
  /// `per_second` 0 turns the limiter off. `capacity` is rounded to a multiple of the shards.
  RateLimiter(double per_second, double burst, int ipv6_prefix = 64, std::size_t capacity = 32768);

  /// True when a packet from `source` may be answered at `now`. Thread-safe.
  bool allow(const TransportAddress& source, std::chrono::steady_clock::time_point now) noexcept;

  [[nodiscard]] int ipv6_prefix() const noexcept { return ipv6_prefix_; }

 private:
  struct Slot {
    SourceKey key;
    bool used = false;
    float tokens = 0;
    std::int64_t last_ns = 0;  ///< steady clock, when `tokens` was last brought up to date
  };
  struct Shard {
    std::mutex mutex;
    std::vector<Slot> slots;
  };
  static constexpr std::size_t kShards = 64;
  static constexpr std::size_t kProbe = 16;

  double per_second_;
  double burst_;
  int ipv6_prefix_;
  std::array<std::uint64_t, 2> hash_key_{};
  std::unique_ptr<Shard[]> shards_;
  std::size_t slots_per_shard_ = 0;
};

/// SipHash-2-4 (Aumasson and Bernstein) of `key` under `secret`: the keyed hash of the limits.
[[nodiscard]] std::uint64_t keyed_hash(const SourceKey& key,
                                       const std::array<std::uint64_t, 2>& secret) noexcept;

}  // namespace natdiag::server
