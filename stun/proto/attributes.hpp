// Typed reading of attribute values (RFC 8489 §14, RFC 5780 §7, RFC 3489 §11.2).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stun/proto/message.hpp"

namespace natdiag::stun {

/// ERROR-CODE (RFC 8489 §14.8).
struct ErrorCode {
  int code = 0;  ///< 300-699
  std::string_view reason;
};

/// CHANGE-REQUEST flags (RFC 5780 §7.2).
struct ChangeRequest {
  bool change_ip = false;
  bool change_port = false;
};

/// MAPPED-ADDRESS format (also OTHER-ADDRESS, RESPONSE-ORIGIN, ALTERNATE-SERVER, and RFC
/// 3489's SOURCE-ADDRESS and CHANGED-ADDRESS).
[[nodiscard]] Result<TransportAddress> decode_address(std::span<const std::uint8_t> value,
                                                      std::uint16_t type = 0,
                                                      std::size_t offset = 0) noexcept;
/// XOR-MAPPED-ADDRESS format, un-XORed with the message's cookie and transaction ID.
[[nodiscard]] Result<TransportAddress> decode_xor_address(const MessageView& message,
                                                          const AttributeRef& attr) noexcept;
/// The attribute `type` of `message`, decoded as an address of the right format (XOR for
/// XOR-* types). nullopt when absent; an error when present and malformed.
[[nodiscard]] std::optional<Result<TransportAddress>> find_address(const MessageView& message,
                                                                   AttributeType type) noexcept;
/// The reflexive address of a Binding response: XOR-MAPPED-ADDRESS, else its legacy 0x8020
/// twin, else MAPPED-ADDRESS (RFC 3489 servers).
[[nodiscard]] std::optional<Result<TransportAddress>> find_mapped_address(
    const MessageView& message) noexcept;

[[nodiscard]] Result<ErrorCode> decode_error_code(std::span<const std::uint8_t> value) noexcept;
[[nodiscard]] Result<ChangeRequest> decode_change_request(
    std::span<const std::uint8_t> value) noexcept;
/// RESPONSE-PORT (RFC 5780 §7.5): a 16-bit port then 16 reserved bits.
[[nodiscard]] Result<std::uint16_t> decode_response_port(
    std::span<const std::uint8_t> value) noexcept;
[[nodiscard]] Result<std::vector<std::uint16_t>> decode_unknown_attributes(
    std::span<const std::uint8_t> value);
[[nodiscard]] Result<std::uint32_t> decode_u32(std::span<const std::uint8_t> value) noexcept;
[[nodiscard]] Result<std::uint64_t> decode_u64(std::span<const std::uint8_t> value) noexcept;
/// Text attributes (SOFTWARE, USERNAME, REALM, NONCE, reason phrases) are UTF-8 bytes.
[[nodiscard]] std::string_view as_text(std::span<const std::uint8_t> value) noexcept;

/// A PASSWORD-ALGORITHM(S) entry (RFC 8489 §14.11-14.12).
struct PasswordAlgorithm {
  std::uint16_t algorithm = 0;  ///< 0x0001 MD5, 0x0002 SHA-256
  std::span<const std::uint8_t> parameters;
};
[[nodiscard]] Result<std::vector<PasswordAlgorithm>> decode_password_algorithms(
    std::span<const std::uint8_t> value);

/// The standard reason phrase for common error codes (RFC 8489 §14.8, RFC 5780, RFC 8656).
[[nodiscard]] std::string_view reason_phrase(int code) noexcept;

/// Text from the wire (SOFTWARE, REALM, ...) safe to print and to put in JSON: valid UTF-8 kept,
/// control characters and other bytes written as \xNN.
[[nodiscard]] std::string printable_text(std::span<const std::uint8_t> value);
/// One line describing an attribute's value for people ("192.0.2.1:32853", "natdiag 0.1.0"
/// (text unquoted, through printable_text), "0x6e0001ff", hex for unknown types).
[[nodiscard]] std::string describe_attribute(const MessageView& message, const AttributeRef& attr);

}  // namespace natdiag::stun
