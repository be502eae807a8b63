#include "stun/proto/message.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "stun/proto/integrity.hpp"

namespace natdiag::stun {

std::optional<std::size_t> stun_message_size(std::span<const std::uint8_t> prefix) noexcept {
  if (prefix.size() < 4 || (prefix[0] & 0xC0) != 0) return std::nullopt;
  const std::uint16_t length = load_u16(prefix.data() + 2);
  if (length % 4 != 0) return std::nullopt;
  return kHeaderSize + length;
}

bool looks_like_stun(std::span<const std::uint8_t> bytes) noexcept {
  return bytes.size() >= kHeaderSize && (bytes[0] & 0xC0) == 0 &&
         stun_message_size(bytes) == bytes.size();
}

Result<MessageView> MessageView::parse(std::span<const std::uint8_t> bytes) noexcept {
  MessageView view;
  if (bytes.size() < kHeaderSize) return DecodeError{DecodeErrorCode::kTruncated, 0, bytes.size()};
  const std::uint16_t type = load_u16(bytes.data());
  const std::uint16_t length = load_u16(bytes.data() + 2);
  const std::uint32_t cookie = load_u32(bytes.data() + 4);
  // RFC 8489 §5: "The most significant 2 bits of every STUN message MUST be zeroes."
  if ((type & 0xC000) != 0) return DecodeError{DecodeErrorCode::kNotStun, 0, 0};
  // RFC 8489 §5: the length "MUST contain the size of the message in bytes, not including
  // the 20-byte STUN header"; attributes are padded, so it is always a multiple of 4.
  if (length % 4 != 0 || kHeaderSize + length != bytes.size()) {
    return DecodeError{DecodeErrorCode::kBadLength, 0, 2};
  }
  view.bytes_ = bytes;
  view.type_ = type;
  view.has_magic_cookie_ = cookie == kMagicCookie;
  std::memcpy(view.transaction_id_.data(), bytes.data() + 8, view.transaction_id_.size());

  // What the attributes seen so far make of the next one (RFC 8489 §14.5-§14.7).
  enum class After : std::uint8_t { kNothing, kIntegrity, kIntegritySha256, kFingerprint };
  After after = After::kNothing;
  const std::uint8_t* p = bytes.data();
  const std::size_t end = bytes.size();
  std::size_t at = kHeaderSize;
  std::size_t count = 0;  // kept local so the loop does not update the view through memory
  while (at < end) {
    if (end - at < 4) return DecodeError{DecodeErrorCode::kTruncated, 0, at};
    const std::uint16_t attr_type = load_u16(p + at);
    const std::uint16_t attr_length = load_u16(p + at + 2);
    // The length is trusted only after it is checked against the bytes left, padding included.
    const std::size_t padded = (std::size_t{attr_length} + 3) & ~std::size_t{3};
    if (padded > end - at - 4) return DecodeError{DecodeErrorCode::kAttributeOverrun, attr_type, at};
    if (count == kMaxAttributes) {
      return DecodeError{DecodeErrorCode::kTooManyAttributes, attr_type, at};
    }
    const auto known = static_cast<AttributeType>(attr_type);
    bool ignored = false;
    switch (after) {
      case After::kNothing: break;
      case After::kIntegrity:
        ignored = known != AttributeType::kMessageIntegritySha256 && known != AttributeType::kFingerprint;
        break;
      case After::kIntegritySha256: ignored = known != AttributeType::kFingerprint; break;
      case After::kFingerprint: ignored = true; break;
    }
    view.attributes_[count++] =
        AttributeRef{attr_type, attr_length, static_cast<std::uint16_t>(at), ignored};
    if (!ignored) {
      if (known == AttributeType::kFingerprint) {
        after = After::kFingerprint;
      } else if (known == AttributeType::kMessageIntegritySha256) {
        after = After::kIntegritySha256;
      } else if (known == AttributeType::kMessageIntegrity) {
        after = After::kIntegrity;
      }
    }
    at += 4 + padded;
  }
  view.attribute_count_ = count;
  return view;
}

const AttributeRef* MessageView::find(std::uint16_t type) const noexcept {
  for (std::size_t i = 0; i < attribute_count_; ++i) {
    if (attributes_[i].type == type && !attributes_[i].ignored) return &attributes_[i];
  }
  return nullptr;
}

std::optional<std::span<const std::uint8_t>> MessageView::find_value(
    AttributeType type) const noexcept {
  const AttributeRef* attr = find(type);
  if (attr == nullptr) return std::nullopt;
  return value(*attr);
}

std::optional<std::uint16_t> MessageView::unknown_comprehension_required() const noexcept {
  for (const AttributeRef& attr : attributes()) {
    if (!attr.ignored && is_comprehension_required(attr.type) && !attribute_name(attr.type)) {
      return attr.type;
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------

MessageBuilder::MessageBuilder(std::span<std::uint8_t> buffer, std::uint16_t type,
                               const TransactionId& transaction_id) noexcept
    : writer_(buffer) {
  writer_.u16(type);
  writer_.u16(0);
  writer_.u32(kMagicCookie);
  writer_.bytes(transaction_id);
}

MessageBuilder::MessageBuilder(std::span<std::uint8_t> buffer, std::uint16_t type,
                               std::span<const std::uint8_t, 16> cookie_and_id) noexcept
    : writer_(buffer) {
  writer_.u16(type);
  writer_.u16(0);
  writer_.bytes(cookie_and_id);
}

bool MessageBuilder::has_magic_cookie() const noexcept {
  const auto out = writer_.written();
  return out.size() >= 8 && load_u32(out.data() + 4) == kMagicCookie;
}

void MessageBuilder::set_length() noexcept {
  writer_.patch_u16(2, static_cast<std::uint16_t>(writer_.size() - kHeaderSize));
}

std::span<const std::uint8_t> MessageBuilder::bytes() const noexcept {
  if (!ok()) return {};
  return writer_.written();
}

MessageBuilder& MessageBuilder::add_raw(std::uint16_t type, std::span<const std::uint8_t> value,
                                        std::uint8_t padding_byte) noexcept {
  if (value.size() > 0xFFFF) {
    ok_ = false;
    return *this;
  }
  writer_.u16(type);
  writer_.u16(static_cast<std::uint16_t>(value.size()));
  writer_.bytes(value);
  writer_.fill((4 - value.size() % 4) % 4, padding_byte);
  if (writer_.size() - kHeaderSize > 0xFFFF) ok_ = false;
  set_length();
  return *this;
}

MessageBuilder& MessageBuilder::add_string(AttributeType type, std::string_view text,
                                           std::uint8_t padding_byte) noexcept {
  return add_raw(static_cast<std::uint16_t>(type),
                 {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}, padding_byte);
}

MessageBuilder& MessageBuilder::add_u32(AttributeType type, std::uint32_t value) noexcept {
  std::array<std::uint8_t, 4> v{};
  ByteWriter(v).u32(value);
  return add_raw(static_cast<std::uint16_t>(type), v);
}

MessageBuilder& MessageBuilder::add_u64(AttributeType type, std::uint64_t value) noexcept {
  std::array<std::uint8_t, 8> v{};
  ByteWriter(v).u64(value);
  return add_raw(static_cast<std::uint16_t>(type), v);
}

MessageBuilder& MessageBuilder::add_address(AttributeType type,
                                            const TransportAddress& address) noexcept {
  // RFC 8489 §14.1: 0x00, family, port, then 4 or 16 address bytes.
  std::array<std::uint8_t, 20> v{};
  ByteWriter w(v);
  w.u8(0);
  w.u8(static_cast<std::uint8_t>(address.family));
  w.u16(address.port);
  w.bytes(std::span(address.ip).first(address.ip_size()));
  return add_raw(static_cast<std::uint16_t>(type), w.written());
}

MessageBuilder& MessageBuilder::add_xor_address(AttributeType type,
                                                const TransportAddress& address) noexcept {
  // RFC 8489 §14.2: X-Port is the port XOR the cookie's top 16 bits; X-Address is the
  // address XOR the cookie (IPv4) or XOR the cookie followed by the transaction ID (IPv6).
  const auto out = writer_.written();
  if (!has_magic_cookie()) {
    ok_ = false;
    return *this;
  }
  std::array<std::uint8_t, 20> v{};
  ByteWriter w(v);
  w.u8(0);
  w.u8(static_cast<std::uint8_t>(address.family));
  w.u16(static_cast<std::uint16_t>(address.port ^ (kMagicCookie >> 16)));
  for (std::size_t i = 0; i < address.ip_size(); ++i) {
    w.u8(static_cast<std::uint8_t>(address.ip[i] ^ out[4 + i]));  // bytes 4.. = cookie, ID
  }
  return add_raw(static_cast<std::uint16_t>(type), w.written());
}

MessageBuilder& MessageBuilder::add_error_code(int code, std::string_view reason) noexcept {
  // RFC 8489 §14.8: 21 reserved bits, Class (hundreds, 3-6), Number (0-99), reason phrase.
  if (code < 300 || code > 699) {
    ok_ = false;
    return *this;
  }
  std::array<std::uint8_t, 4 + 763> v{};
  ByteWriter w(v);
  w.u16(0);
  w.u8(static_cast<std::uint8_t>(code / 100));
  w.u8(static_cast<std::uint8_t>(code % 100));
  w.bytes({reinterpret_cast<const std::uint8_t*>(reason.data()),
           std::min<std::size_t>(reason.size(), 763)});
  return add_raw(static_cast<std::uint16_t>(AttributeType::kErrorCode), w.written());
}

MessageBuilder& MessageBuilder::add_change_request(bool change_ip, bool change_port) noexcept {
  // RFC 5780 §7.2: flag A (0x4) change IP, flag B (0x2) change port.
  return add_u32(AttributeType::kChangeRequest,
                 (change_ip ? 0x4U : 0U) | (change_port ? 0x2U : 0U));
}

MessageBuilder& MessageBuilder::add_unknown_attributes(
    std::span<const std::uint16_t> types) noexcept {
  std::array<std::uint8_t, 64> v{};
  ByteWriter w(v);
  for (std::uint16_t t : types) w.u16(t);
  if (w.overflowed()) ok_ = false;
  return add_raw(static_cast<std::uint16_t>(AttributeType::kUnknownAttributes), w.written());
}

MessageBuilder& MessageBuilder::add_hmac(AttributeType type, bool sha256,
                                         std::span<const std::uint8_t> key) noexcept {
  // RFC 8489 §14.5: the HMAC covers the message up to the attribute, with the header length
  // already counting the attribute itself (4 + 20 or 4 + 32 bytes).
  const std::size_t mac_size = sha256 ? 32 : 20;
  const auto so_far = writer_.written();
  if (writer_.overflowed() || so_far.size() < kHeaderSize) {
    ok_ = false;
    return *this;
  }
  std::array<std::uint8_t, kHeaderSize> header{};
  std::memcpy(header.data(), so_far.data(), kHeaderSize);
  const std::size_t length = so_far.size() - kHeaderSize + 4 + mac_size;
  header[2] = static_cast<std::uint8_t>(length >> 8);
  header[3] = static_cast<std::uint8_t>(length);
  std::array<std::uint8_t, 32> mac{};
  if (!hmac_message(sha256, key, header, so_far.subspan(kHeaderSize),
                    std::span(mac).first(mac_size))) {
    ok_ = false;
    return *this;
  }
  return add_raw(static_cast<std::uint16_t>(type), std::span(mac).first(mac_size));
}

MessageBuilder& MessageBuilder::add_message_integrity(std::span<const std::uint8_t> key) noexcept {
  return add_hmac(AttributeType::kMessageIntegrity, false, key);
}

MessageBuilder& MessageBuilder::add_message_integrity_sha256(
    std::span<const std::uint8_t> key) noexcept {
  return add_hmac(AttributeType::kMessageIntegritySha256, true, key);
}

MessageBuilder& MessageBuilder::add_fingerprint() noexcept {
  // RFC 8489 §14.7: CRC-32 over the message up to the attribute, the length already
  // counting the 8-byte FINGERPRINT attribute, XOR 0x5354554e.
  if (writer_.overflowed()) {
    ok_ = false;
    return *this;
  }
  const auto so_far = writer_.written();
  std::array<std::uint8_t, kHeaderSize> header{};
  std::memcpy(header.data(), so_far.data(), kHeaderSize);
  const std::size_t length = so_far.size() - kHeaderSize + 8;
  header[2] = static_cast<std::uint8_t>(length >> 8);
  header[3] = static_cast<std::uint8_t>(length);
  const std::uint32_t crc = crc32(so_far.subspan(kHeaderSize), crc32(header));
  return add_u32(AttributeType::kFingerprint, crc ^ kFingerprintXor);
}

}  // namespace natdiag::stun
