// Basic STUN types: methods, classes, attribute types, transaction IDs, transport addresses.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace natdiag::stun {

/// RFC 8489 §5: the magic cookie, fixed in every RFC 5389/8489 message.
inline constexpr std::uint32_t kMagicCookie = 0x2112A442;
/// RFC 8489 §5: the header is 20 bytes.
inline constexpr std::size_t kHeaderSize = 20;
/// RFC 8489 §14.7: FINGERPRINT is CRC-32 of the message XOR 0x5354554e ("STUN").
inline constexpr std::uint32_t kFingerprintXor = 0x5354554E;

/// STUN methods (RFC 8489 §18.2, RFC 8656 §17 for TURN).
enum class Method : std::uint16_t {
  kBinding = 0x001,
  kAllocate = 0x003,
  kRefresh = 0x004,
  kSend = 0x006,
  kData = 0x007,
  kCreatePermission = 0x008,
  kChannelBind = 0x009,
};

/// STUN message classes (RFC 8489 §5), the two C bits.
enum class MessageClass : std::uint8_t {
  kRequest = 0b00,
  kIndication = 0b01,
  kSuccessResponse = 0b10,
  kErrorResponse = 0b11,
};

/// Attribute types, grouped by the RFC that defines them. Values below 0x8000 are
/// comprehension-required (RFC 8489 §14).
enum class AttributeType : std::uint16_t {
  // RFC 8489 (and RFC 5389)
  kMappedAddress = 0x0001,
  kUsername = 0x0006,
  kMessageIntegrity = 0x0008,
  kErrorCode = 0x0009,
  kUnknownAttributes = 0x000A,
  kRealm = 0x0014,
  kNonce = 0x0015,
  kMessageIntegritySha256 = 0x001C,
  kPasswordAlgorithm = 0x001D,
  kUserhash = 0x001E,
  kXorMappedAddress = 0x0020,
  kPasswordAlgorithms = 0x8002,
  kAlternateDomain = 0x8003,
  kSoftware = 0x8022,
  kAlternateServer = 0x8023,
  kFingerprint = 0x8028,
  // RFC 3489 (classic STUN), kept so old servers can be read
  kResponseAddress = 0x0002,
  kSourceAddress = 0x0004,
  kChangedAddress = 0x0005,
  kPassword = 0x0007,
  kReflectedFrom = 0x000B,
  // RFC 5780 (NAT behaviour discovery)
  kChangeRequest = 0x0003,
  kPadding = 0x0026,
  kResponsePort = 0x0027,
  kCacheTimeout = 0x8027,
  kResponseOrigin = 0x802B,
  kOtherAddress = 0x802C,
  // RFC 8656 (TURN)
  kChannelNumber = 0x000C,
  kLifetime = 0x000D,
  kXorPeerAddress = 0x0012,
  kData = 0x0013,
  kXorRelayedAddress = 0x0016,
  kRequestedAddressFamily = 0x0017,
  kEvenPort = 0x0018,
  kRequestedTransport = 0x0019,
  kDontFragment = 0x001A,
  kReservationToken = 0x0022,
  // RFC 8445 (ICE)
  kPriority = 0x0024,
  kUseCandidate = 0x0025,
  kIceControlled = 0x8029,
  kIceControlling = 0x802A,
  // Legacy: XOR-MAPPED-ADDRESS at its pre-RFC 5389 draft value, still sent by some servers.
  kXorMappedAddressLegacy = 0x8020,
};

/// RFC 8489 §14: attribute types 0x0000-0x7FFF must be understood by the receiver.
[[nodiscard]] constexpr bool is_comprehension_required(std::uint16_t type) noexcept {
  return type < 0x8000;
}

/// The RFC name of an attribute type ("XOR-MAPPED-ADDRESS"), or nullopt when unknown.
[[nodiscard]] std::optional<std::string_view> attribute_name(std::uint16_t type) noexcept;
/// The RFC name of a method ("Binding"), or "0x###" when unknown.
[[nodiscard]] std::string method_name(std::uint16_t method);
[[nodiscard]] std::string_view class_name(MessageClass cls) noexcept;

/// RFC 8489 §5: the 14-bit message type interleaves the 12 method bits with the 2 class bits:
///   M11..M7 C1 M6..M4 C0 M3..M0
[[nodiscard]] constexpr std::uint16_t compose_message_type(std::uint16_t method,
                                                           MessageClass cls) noexcept {
  const auto c = static_cast<std::uint16_t>(cls);
  return static_cast<std::uint16_t>((method & 0x000F) | ((method & 0x0070) << 1) |
                                    ((method & 0x0F80) << 2) | ((c & 0x1) << 4) |
                                    ((c & 0x2) << 7));
}
[[nodiscard]] constexpr std::uint16_t compose_message_type(Method method,
                                                           MessageClass cls) noexcept {
  return compose_message_type(static_cast<std::uint16_t>(method), cls);
}
/// The 12-bit method of a message type.
[[nodiscard]] constexpr std::uint16_t method_of(std::uint16_t type) noexcept {
  return static_cast<std::uint16_t>((type & 0x000F) | ((type >> 1) & 0x0070) |
                                    ((type >> 2) & 0x0F80));
}
/// The class of a message type.
[[nodiscard]] constexpr MessageClass class_of(std::uint16_t type) noexcept {
  return static_cast<MessageClass>(((type >> 4) & 0x1) | ((type >> 7) & 0x2));
}

/// RFC 8489 §5: the 96-bit transaction ID.
using TransactionId = std::array<std::uint8_t, 12>;

/// Address family as carried in address attributes (RFC 8489 §14.1).
enum class Family : std::uint8_t { kIPv4 = 0x01, kIPv6 = 0x02 };

/// An IP address and port, as STUN carries them. Pure value type: no sockets involved.
struct TransportAddress {
  Family family = Family::kIPv4;
  std::array<std::uint8_t, 16> ip{};  ///< IPv4 uses the first 4 bytes
  std::uint16_t port = 0;

  [[nodiscard]] std::size_t ip_size() const noexcept { return family == Family::kIPv4 ? 4 : 16; }
  /// "192.0.2.1:32853" or "[2001:db8::1]:32853" (design.md contract).
  [[nodiscard]] std::string to_string() const;
  /// The IP alone: "192.0.2.1" or "2001:db8::1".
  [[nodiscard]] std::string ip_string() const;
  [[nodiscard]] bool same_ip(const TransportAddress& other) const noexcept;
  friend bool operator==(const TransportAddress&, const TransportAddress&) = default;

  /// Parses "1.2.3.4", "1.2.3.4:5", "::1", "[::1]:5". Port 0 when absent.
  [[nodiscard]] static std::optional<TransportAddress> parse(std::string_view text);
};

}  // namespace natdiag::stun
