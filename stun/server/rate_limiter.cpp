#include "stun/server/rate_limiter.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace natdiag::server {

SourceKey source_key(const TransportAddress& source, int ipv6_prefix) noexcept {
  SourceKey key;
  if (source.family == stun::Family::kIPv4) {
    key.family = 4;
    std::copy_n(source.ip.begin(), 4, key.ip.begin());
    return key;
  }
  key.family = 6;
  const int bits = std::clamp(ipv6_prefix, 0, 128);
  for (int i = 0; i < 16; ++i) {
    const int keep = std::clamp(bits - 8 * i, 0, 8);
    key.ip[i] = static_cast<std::uint8_t>(source.ip[i] & (0xFF00 >> keep));
  }
  return key;
}

namespace {

constexpr std::uint64_t rotl(std::uint64_t x, int b) noexcept { return (x << b) | (x >> (64 - b)); }

void sip_round(std::array<std::uint64_t, 4>& v) noexcept {
  v[0] += v[1]; v[1] = rotl(v[1], 13); v[1] ^= v[0]; v[0] = rotl(v[0], 32);
  v[2] += v[3]; v[3] = rotl(v[3], 16); v[3] ^= v[2];
  v[0] += v[3]; v[3] = rotl(v[3], 21); v[3] ^= v[0];
  v[2] += v[1]; v[1] = rotl(v[1], 17); v[1] ^= v[2]; v[2] = rotl(v[2], 32);
}

std::int64_t to_ns(std::chrono::steady_clock::time_point t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

std::uint64_t keyed_hash(const SourceKey& key, const std::array<std::uint64_t, 2>& secret) noexcept {
  // The 17-byte message: 16 IP bytes, then the family; SipHash's final block carries the length.
  std::array<std::uint64_t, 4> v{secret[0] ^ 0x736f6d6570736575ULL, secret[1] ^ 0x646f72616e646f6dULL,
                                 secret[0] ^ 0x6c7967656e657261ULL, secret[1] ^ 0x7465646279746573ULL};
  std::array<std::uint64_t, 3> words{};
  std::memcpy(&words[0], key.ip.data(), 8);
  std::memcpy(&words[1], key.ip.data() + 8, 8);
  words[2] = (std::uint64_t{17} << 56) | key.family;
  for (const std::uint64_t m : words) {
    v[3] ^= m;
    sip_round(v);
    sip_round(v);
    v[0] ^= m;
  }
  v[2] ^= 0xFF;
  for (int i = 0; i < 4; ++i) sip_round(v);
  return v[0] ^ v[1] ^ v[2] ^ v[3];
}

RateLimiter::RateLimiter(double per_second, double burst, int ipv6_prefix, std::size_t capacity)
    : per_second_(per_second), burst_(burst), ipv6_prefix_(ipv6_prefix) {
  if (per_second_ <= 0) return;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(hash_key_.data()),
                 static_cast<int>(sizeof hash_key_)) != 1) {
    throw std::runtime_error("no random bytes for the rate limiter's hash key");
  }
  slots_per_shard_ = std::max(kProbe, capacity / kShards);
  shards_ = std::make_unique<Shard[]>(kShards);
  for (std::size_t s = 0; s < kShards; ++s) shards_[s].slots.resize(slots_per_shard_);
}

bool RateLimiter::allow(const TransportAddress& source,
                        std::chrono::steady_clock::time_point now) noexcept {
  if (per_second_ <= 0) return true;
  const SourceKey key = source_key(source, ipv6_prefix_);
  const std::uint64_t hash = keyed_hash(key, hash_key_);
  Shard& shard = shards_[hash >> 58];  // the top 6 bits: one of 64 shards
  const std::size_t home = static_cast<std::size_t>(hash % slots_per_shard_);
  const std::int64_t now_ns = to_ns(now);
  // Tokens a bucket holds at `now_ns`, refilled since it was last touched.
  auto refilled = [&](const Slot& s) {
    const double elapsed = static_cast<double>(std::max<std::int64_t>(0, now_ns - s.last_ns)) * 1e-9;
    return std::min(burst_, static_cast<double>(s.tokens) + elapsed * per_second_);
  };

  std::lock_guard lock(shard.mutex);
  Slot* found = nullptr;
  Slot* reusable = nullptr;
  for (std::size_t i = 0; i < kProbe; ++i) {
    Slot& s = shard.slots[(home + i) % slots_per_shard_];
    if (s.used && s.key == key) {
      found = &s;
      break;
    }
    // A full bucket is the same as no bucket: taking its slot costs its owner nothing.
    if (reusable == nullptr && (!s.used || refilled(s) >= burst_)) reusable = &s;
  }
  if (found == nullptr) {
    if (reusable == nullptr) return false;  // every slot in reach is in use by a busy source
    *reusable = Slot{key, true, static_cast<float>(burst_), now_ns};
    found = reusable;
  }
  const double tokens = refilled(*found);
  found->last_ns = std::max(found->last_ns, now_ns);
  if (tokens < 1.0) {
    found->tokens = static_cast<float>(tokens);
    return false;
  }
  found->tokens = static_cast<float>(tokens - 1.0);
  return true;
}

}  // namespace natdiag::server
