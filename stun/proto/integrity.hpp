// MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT checks, and credential keys
// (RFC 8489 §9, §14.5-§14.7). Integrity and fingerprint are separate checks: a message
// can carry either, both, or neither.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "stun/proto/message.hpp"

namespace natdiag::stun {

/// The outcome of one integrity or fingerprint check.
enum class Check : std::uint8_t {
  kAbsent,   ///< the message does not carry the attribute
  kValid,    ///< present and correct
  kInvalid,  ///< present and wrong (or of the wrong size)
};

/// CRC-32 (ISO 3309 / ITU-T V.42, as in zlib), continuing from `crc` (0 to start).
[[nodiscard]] std::uint32_t crc32(std::span<const std::uint8_t> data, std::uint32_t crc = 0) noexcept;

/// RFC 8489 §14.7: CRC-32 of the message up to FINGERPRINT, with the header length covering
/// FINGERPRINT, XOR 0x5354554e.
[[nodiscard]] Check check_fingerprint(const MessageView& message) noexcept;
/// RFC 8489 §14.5: HMAC-SHA1 over the message up to MESSAGE-INTEGRITY, with the header length
/// covering MESSAGE-INTEGRITY, compared in constant time.
[[nodiscard]] Check check_message_integrity(const MessageView& message,
                                            std::span<const std::uint8_t> key) noexcept;
/// RFC 8489 §14.6: the same with HMAC-SHA256 (truncations to 16..32 bytes accepted).
[[nodiscard]] Check check_message_integrity_sha256(const MessageView& message,
                                                   std::span<const std::uint8_t> key) noexcept;

/// RFC 8489 §9.1.1: the short-term key is the password (after OpaqueString preparation,
/// which leaves ASCII unchanged; natdiag uses the password as given).
[[nodiscard]] std::vector<std::uint8_t> short_term_key(std::string_view password);
/// RFC 8489 §9.2.2: MD5(username ":" realm ":" password), the password as given (already
/// prepared with OpaqueString when it is not ASCII).
[[nodiscard]] std::array<std::uint8_t, 16> long_term_key_md5(std::string_view username,
                                                             std::string_view realm,
                                                             std::string_view password);
/// RFC 8489 §9.2.2 with PASSWORD-ALGORITHM SHA-256: SHA-256(username ":" realm ":" password).
[[nodiscard]] std::array<std::uint8_t, 32> long_term_key_sha256(std::string_view username,
                                                                std::string_view realm,
                                                                std::string_view password);

/// HMAC of `header_with_patched_length` (20 bytes) followed by `rest`, into out (20 or 32 bytes).
/// Used by the builder and the checks; returns false when OpenSSL fails.
bool hmac_message(bool sha256, std::span<const std::uint8_t> key,
                  std::span<const std::uint8_t, kHeaderSize> header,
                  std::span<const std::uint8_t> rest, std::span<std::uint8_t> out) noexcept;

}  // namespace natdiag::stun
