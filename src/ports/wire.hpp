// The probe that natdiag sends to every port, and the echo a listener answers with: 40 bytes,
// authenticated with a key both ends hold, so that only natdiag's own listener can make a
// port count as open. Pure: no sockets.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |      'N'      |      'D'      |      'P'      |      '1'      |
//   +---------------+---------------+-------------------------------+
//   |  type (1, 2)  | transport 6/17|     port the prober aimed at  |
//   +---------------+---------------+-------------------------------+
//   |                  session (64 bits, the prober's)              |
//   +---------------------------------------------------------------+
//   |                  sequence (round number)                      |
//   +---------------------------------------------------------------+
//   |                  reserved (zero)                              |
//   +---------------------------------------------------------------+
//   |   tag: HMAC-SHA256(key, bytes 0-23), first 16 bytes (4 words)  |
//   +---------------------------------------------------------------+
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace natdiag::ports {

/// Every probe and echo is this long, on UDP and on TCP.
inline constexpr std::size_t kProbeSize = 40;

/// A probe (prober to port) or an echo (listener back to the prober).
enum class ProbeType : std::uint8_t { kProbe = 1, kEcho = 2 };
/// The IP protocol number the probe travels on.
enum class Transport : std::uint8_t { kTcp = 6, kUdp = 17 };

/// The fields of one probe or echo.
struct Probe {
  ProbeType type = ProbeType::kProbe;
  Transport transport = Transport::kUdp;
  std::uint16_t port = 0;  ///< the destination port the prober aimed at
  std::uint64_t session = 0;
  std::uint32_t sequence = 0;
  friend bool operator==(const Probe&, const Probe&) = default;
};

/// The 256-bit key that authenticates probes and echoes.
using Key = std::array<std::uint8_t, 32>;

/// Why bytes are not a probe this key made.
enum class WireError : std::uint8_t { kSize, kMagic, kType, kTag };

/// A decoded probe, or why not.
struct Decoded {
  std::optional<Probe> probe;
  WireError error = WireError::kSize;
};

/// The 40 bytes of `probe`, tagged with `key`.
[[nodiscard]] std::array<std::uint8_t, kProbeSize> encode_probe(const Probe& probe, const Key& key);
/// Checks size, magic, type and the tag (constant-time compare); malformed input is ordinary.
[[nodiscard]] Decoded decode_probe(std::span<const std::uint8_t> bytes, const Key& key);
/// The echo a listener answers `probe` with (same fields, type echo).
[[nodiscard]] Probe echo_of(const Probe& probe);

/// A fresh random code for `ports listen` ("k7fq-2mxa-9pwe": 60 bits, no 0/o/1/l).
[[nodiscard]] std::string new_code();
/// The code without separators and in lower case, or nullopt when it has characters or a
/// length a code never has.
[[nodiscard]] std::optional<std::string> normalise_code(std::string_view code);
/// The key both ends derive from a (normalised) code: HMAC-SHA256("natdiag-ports-v1", code).
[[nodiscard]] Key key_from_code(std::string_view normalised_code);
/// A fresh random key (--via: the key travels to serve on the control connection).
[[nodiscard]] Key random_key();
/// A random 64-bit session id.
[[nodiscard]] std::uint64_t random_session();

/// HMAC-SHA256 of `data` with `key` (for the control protocol's --probe-secret).
[[nodiscard]] std::array<std::uint8_t, 32> hmac_sha256(std::span<const std::uint8_t> key,
                                                       std::span<const std::uint8_t> data);
/// Lower-case hex.
[[nodiscard]] std::string to_hex(std::span<const std::uint8_t> bytes);
/// Hex into exactly N bytes, or nullopt.
template <std::size_t N>
[[nodiscard]] std::optional<std::array<std::uint8_t, N>> from_hex(std::string_view hex);
/// Hex of any length into bytes, or nullopt.
[[nodiscard]] std::optional<std::string> bytes_from_hex(std::string_view hex);

template <std::size_t N>
std::optional<std::array<std::uint8_t, N>> from_hex(std::string_view hex) {
  const auto bytes = bytes_from_hex(hex);
  if (!bytes || bytes->size() != N) return std::nullopt;
  std::array<std::uint8_t, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = static_cast<std::uint8_t>((*bytes)[i]);
  return out;
}

}  // namespace natdiag::ports
