#include "src/ports/wire.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>

namespace natdiag::ports {
namespace {

constexpr std::array<std::uint8_t, 4> kMagic = {'N', 'D', 'P', '1'};
constexpr std::size_t kTaggedBytes = 24;
constexpr std::size_t kTagSize = 16;
/// Code alphabet: lower-case letters and digits without the look-alikes 0 o 1 l i.
constexpr std::string_view kCodeAlphabet = "23456789abcdefghjkmnpqrstuvwxyz";
constexpr std::size_t kCodeLength = 12;

void put_u16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void put_u32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}
void put_u64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (56 - 8 * i));
}
std::uint16_t get_u16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}
std::uint32_t get_u32(const std::uint8_t* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = v << 8 | p[i];
  return v;
}
std::uint64_t get_u64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}

void random_bytes(std::span<std::uint8_t> out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    throw std::runtime_error("no random bytes from OpenSSL");
  }
}

}  // namespace

std::array<std::uint8_t, 32> hmac_sha256(std::span<const std::uint8_t> key,
                                         std::span<const std::uint8_t> data) {
  std::array<std::uint8_t, 32> out{};
  unsigned length = 0;
  static constexpr std::uint8_t kEmpty = 0;
  HMAC(EVP_sha256(), key.empty() ? &kEmpty : key.data(), static_cast<int>(key.size()),
       data.empty() ? &kEmpty : data.data(), data.size(), out.data(), &length);
  return out;
}

std::array<std::uint8_t, kProbeSize> encode_probe(const Probe& probe, const Key& key) {
  std::array<std::uint8_t, kProbeSize> out{};
  std::memcpy(out.data(), kMagic.data(), kMagic.size());
  out[4] = static_cast<std::uint8_t>(probe.type);
  out[5] = static_cast<std::uint8_t>(probe.transport);
  put_u16(out.data() + 6, probe.port);
  put_u64(out.data() + 8, probe.session);
  put_u32(out.data() + 16, probe.sequence);
  const auto tag = hmac_sha256(key, std::span(out).first(kTaggedBytes));
  std::memcpy(out.data() + kTaggedBytes, tag.data(), kTagSize);
  return out;
}

Decoded decode_probe(std::span<const std::uint8_t> bytes, const Key& key) {
  Decoded d;
  if (bytes.size() != kProbeSize) return d;
  if (!std::equal(kMagic.begin(), kMagic.end(), bytes.begin())) {
    d.error = WireError::kMagic;
    return d;
  }
  const std::uint8_t type = bytes[4];
  const std::uint8_t transport = bytes[5];
  if ((type != 1 && type != 2) || (transport != 6 && transport != 17)) {
    d.error = WireError::kType;
    return d;
  }
  const auto tag = hmac_sha256(key, bytes.first(kTaggedBytes));
  if (CRYPTO_memcmp(tag.data(), bytes.data() + kTaggedBytes, kTagSize) != 0) {
    d.error = WireError::kTag;
    return d;
  }
  d.probe = Probe{static_cast<ProbeType>(type), static_cast<Transport>(transport),
                  get_u16(bytes.data() + 6), get_u64(bytes.data() + 8), get_u32(bytes.data() + 16)};
  return d;
}

Probe echo_of(const Probe& probe) {
  Probe echo = probe;
  echo.type = ProbeType::kEcho;
  return echo;
}

std::string new_code() {
  std::array<std::uint8_t, kCodeLength> raw{};
  random_bytes(raw);
  std::string code;
  for (std::size_t i = 0; i < kCodeLength; ++i) {
    if (i > 0 && i % 4 == 0) code.push_back('-');
    // 256 % 31 != 0: a bias of < 1 % per character, irrelevant for a 60-bit session code.
    code.push_back(kCodeAlphabet[raw[i] % kCodeAlphabet.size()]);
  }
  return code;
}

std::optional<std::string> normalise_code(std::string_view code) {
  std::string out;
  for (char c : code) {
    if (c == '-' || c == ' ') continue;
    const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (kCodeAlphabet.find(lower) == std::string_view::npos) return std::nullopt;
    out.push_back(lower);
  }
  if (out.size() != kCodeLength) return std::nullopt;
  return out;
}

Key key_from_code(std::string_view normalised_code) {
  static constexpr std::string_view kLabel = "natdiag-ports-v1";
  return hmac_sha256(
      {reinterpret_cast<const std::uint8_t*>(kLabel.data()), kLabel.size()},
      {reinterpret_cast<const std::uint8_t*>(normalised_code.data()), normalised_code.size()});
}

Key random_key() {
  Key key{};
  random_bytes(key);
  return key;
}

std::uint64_t random_session() {
  std::array<std::uint8_t, 8> raw{};
  random_bytes(raw);
  return get_u64(raw.data());
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (auto b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

std::optional<std::string> bytes_from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

}  // namespace natdiag::ports
