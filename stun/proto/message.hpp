// STUN message decoding (MessageView) and encoding (MessageBuilder), RFC 8489 §5 and §14.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |0 0|     STUN Message Type     |         Message Length        |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                         Magic Cookie                          |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                     Transaction ID (96 bits)                  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  Attributes: Type (16) | Length (16) | Value, padded to 4 bytes |
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "stun/proto/bytes.hpp"
#include "stun/proto/result.hpp"
#include "stun/proto/types.hpp"

namespace natdiag::stun {

/// One attribute of a decoded message: where its TLV starts and how long its value is.
/// Trivial on purpose: a view's table of these is not zeroed on every parse (hot path).
struct AttributeRef {
  std::uint16_t type;
  std::uint16_t length;  ///< value length, without padding
  std::uint16_t offset;  ///< offset of the attribute header within the message
  /// RFC 8489 §14.5/§14.6/§14.7: attributes after MESSAGE-INTEGRITY (other than
  /// MESSAGE-INTEGRITY-SHA256 and FINGERPRINT), or after FINGERPRINT, are ignored.
  bool ignored;
};

/// How many bytes a message on a stream will take, from its first 4 bytes (RFC 8489 §5:
/// 20 + Message Length). nullopt when fewer than 4 bytes are available or the bits
/// say it cannot be STUN.
[[nodiscard]] std::optional<std::size_t> stun_message_size(
    std::span<const std::uint8_t> prefix) noexcept;

/// True when the bytes look like a STUN message at a glance (first bits, cookie, length):
/// a cheap filter for demultiplexing, not a full decode.
[[nodiscard]] bool looks_like_stun(std::span<const std::uint8_t> bytes) noexcept;

/// A decoded, non-owning view of one STUN message. Attributes keep their order; unknown and
/// duplicate ones are kept so a diagnostic can show everything. No heap allocation.
class MessageView {
 public:
  /// Real messages carry fewer than 20 attributes; more than this is refused as malformed.
  static constexpr std::size_t kMaxAttributes = 32;

  /// Decodes one whole message (a datagram, or one framed message from a stream).
  static Result<MessageView> parse(std::span<const std::uint8_t> bytes) noexcept;

  [[nodiscard]] std::uint16_t type() const noexcept { return type_; }
  [[nodiscard]] std::uint16_t method() const noexcept { return method_of(type_); }
  [[nodiscard]] MessageClass message_class() const noexcept { return class_of(type_); }
  [[nodiscard]] bool is(Method m, MessageClass c) const noexcept {
    return type_ == compose_message_type(m, c);
  }
  /// False for RFC 3489 messages, whose 128-bit transaction ID takes the cookie's place.
  [[nodiscard]] bool has_magic_cookie() const noexcept { return has_magic_cookie_; }
  /// The 96-bit transaction ID (bytes 8-19).
  [[nodiscard]] const TransactionId& transaction_id() const noexcept { return transaction_id_; }
  /// Bytes 4-19: the cookie and transaction ID together, which is RFC 3489's 128-bit ID.
  [[nodiscard]] std::span<const std::uint8_t, 16> cookie_and_transaction_id() const noexcept {
    return bytes_.subspan<4, 16>();
  }
  [[nodiscard]] std::span<const std::uint8_t> bytes() const noexcept { return bytes_; }

  [[nodiscard]] std::span<const AttributeRef> attributes() const noexcept {
    return {attributes_.data(), attribute_count_};
  }
  [[nodiscard]] std::span<const std::uint8_t> value(const AttributeRef& attr) const noexcept {
    return bytes_.subspan(attr.offset + 4u, attr.length);
  }
  /// The first attribute of this type that is not ignored, or nullptr.
  [[nodiscard]] const AttributeRef* find(std::uint16_t type) const noexcept;
  [[nodiscard]] const AttributeRef* find(AttributeType type) const noexcept {
    return find(static_cast<std::uint16_t>(type));
  }
  /// The value of the first attribute of this type, or nullopt.
  [[nodiscard]] std::optional<std::span<const std::uint8_t>> find_value(
      AttributeType type) const noexcept;

  /// A comprehension-required attribute type natdiag does not know, if any (RFC 8489 §6.3).
  [[nodiscard]] std::optional<std::uint16_t> unknown_comprehension_required() const noexcept;

 private:
  std::span<const std::uint8_t> bytes_;
  std::uint16_t type_ = 0;
  bool has_magic_cookie_ = false;
  TransactionId transaction_id_{};
  std::array<AttributeRef, kMaxAttributes> attributes_;  // only [0, attribute_count_) is set
  std::size_t attribute_count_ = 0;
};

/// Builds a STUN message into a caller-owned buffer, without heap allocation.
/// If the buffer is too small, ok() turns false and bytes() is empty.
class MessageBuilder {
 public:
  /// An RFC 5389/8489 message: the magic cookie, then the 96-bit transaction ID.
  MessageBuilder(std::span<std::uint8_t> buffer, std::uint16_t type,
                 const TransactionId& transaction_id) noexcept;
  /// Any message with the 16 bytes after the length given verbatim (RFC 3489 replies, or
  /// re-encoding a decoded message).
  MessageBuilder(std::span<std::uint8_t> buffer, std::uint16_t type,
                 std::span<const std::uint8_t, 16> cookie_and_transaction_id) noexcept;

  /// Appends an attribute with its value; padding bytes default to zero (RFC 8489 §14).
  MessageBuilder& add_raw(std::uint16_t type, std::span<const std::uint8_t> value,
                          std::uint8_t padding_byte = 0) noexcept;
  MessageBuilder& add_string(AttributeType type, std::string_view text,
                             std::uint8_t padding_byte = 0) noexcept;
  MessageBuilder& add_u32(AttributeType type, std::uint32_t value) noexcept;
  MessageBuilder& add_u64(AttributeType type, std::uint64_t value) noexcept;
  /// MAPPED-ADDRESS format (RFC 8489 §14.1): also OTHER-ADDRESS, RESPONSE-ORIGIN, ...
  MessageBuilder& add_address(AttributeType type, const TransportAddress& address) noexcept;
  /// XOR-MAPPED-ADDRESS format (RFC 8489 §14.2). Needs the magic cookie.
  MessageBuilder& add_xor_address(AttributeType type, const TransportAddress& address) noexcept;
  /// ERROR-CODE (RFC 8489 §14.8): class and number from a code 300-699, and a reason phrase.
  MessageBuilder& add_error_code(int code, std::string_view reason) noexcept;
  /// CHANGE-REQUEST (RFC 5780 §7.2).
  MessageBuilder& add_change_request(bool change_ip, bool change_port) noexcept;
  /// UNKNOWN-ATTRIBUTES (RFC 8489 §14.9).
  MessageBuilder& add_unknown_attributes(std::span<const std::uint16_t> types) noexcept;
  /// MESSAGE-INTEGRITY, HMAC-SHA1 over the message so far (RFC 8489 §14.5).
  MessageBuilder& add_message_integrity(std::span<const std::uint8_t> key) noexcept;
  /// MESSAGE-INTEGRITY-SHA256, HMAC-SHA256 (RFC 8489 §14.6), full 32 bytes.
  MessageBuilder& add_message_integrity_sha256(std::span<const std::uint8_t> key) noexcept;
  /// FINGERPRINT (RFC 8489 §14.7); must be the last attribute.
  MessageBuilder& add_fingerprint() noexcept;

  [[nodiscard]] bool ok() const noexcept { return ok_ && !writer_.overflowed(); }
  [[nodiscard]] std::span<const std::uint8_t> bytes() const noexcept;

 private:
  void set_length() noexcept;
  MessageBuilder& add_hmac(AttributeType type, bool sha256,
                           std::span<const std::uint8_t> key) noexcept;
  [[nodiscard]] bool has_magic_cookie() const noexcept;

  ByteWriter writer_;
  bool ok_ = true;
};

}  // namespace natdiag::stun
