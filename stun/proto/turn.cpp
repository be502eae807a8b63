#include "stun/proto/turn.hpp"

#include "stun/proto/bytes.hpp"
#include "stun/proto/types.hpp"

namespace natdiag::stun {

std::array<std::uint8_t, 4> encode_channel_number(std::uint16_t channel) noexcept {
  return {static_cast<std::uint8_t>(channel >> 8), static_cast<std::uint8_t>(channel), 0, 0};
}

Result<std::uint16_t> decode_channel_number(std::span<const std::uint8_t> value) noexcept {
  constexpr auto kType = static_cast<std::uint16_t>(AttributeType::kChannelNumber);
  if (value.size() != 4) return DecodeError{DecodeErrorCode::kBadAttributeValue, kType, 0};
  const std::uint16_t channel = load_u16(value.data());
  // RFC 8656 §12: "0x4000 through 0x4FFF: These values are the allowed channel numbers".
  if (!is_valid_channel(channel)) return DecodeError{DecodeErrorCode::kBadAttributeValue, kType, 0};
  return channel;
}

std::array<std::uint8_t, 4> encode_requested_transport(std::uint8_t protocol) noexcept {
  return {protocol, 0, 0, 0};
}

Result<std::uint8_t> decode_requested_transport(std::span<const std::uint8_t> value) noexcept {
  constexpr auto kType = static_cast<std::uint16_t>(AttributeType::kRequestedTransport);
  if (value.size() != 4) return DecodeError{DecodeErrorCode::kBadAttributeValue, kType, 0};
  return value[0];
}

std::array<std::uint8_t, 4> encode_requested_address_family(bool ipv6) noexcept {
  return {static_cast<std::uint8_t>(ipv6 ? 0x02 : 0x01), 0, 0, 0};
}

bool looks_like_channel_data(std::span<const std::uint8_t> bytes) noexcept {
  return bytes.size() >= 4 && (bytes[0] & 0xC0) == 0x40;
}

Result<ChannelDataView> parse_channel_data(std::span<const std::uint8_t> bytes,
                                           bool stream) noexcept {
  ByteReader r(bytes);
  std::uint16_t channel = 0;
  std::uint16_t length = 0;
  if (!r.read_u16(channel) || !r.read_u16(length)) {
    return DecodeError{DecodeErrorCode::kTruncated, 0, 0};
  }
  if (!is_valid_channel(channel)) return DecodeError{DecodeErrorCode::kNotStun, 0, 0};
  ChannelDataView view{channel, {}};
  if (!r.read_bytes(length, view.data)) return DecodeError{DecodeErrorCode::kTruncated, 0, 4};
  // RFC 8656 §12.5: over TCP/TLS the message is padded to a multiple of four bytes; over UDP
  // "the padding is not required but may be present".
  const std::size_t padding = (4 - length % 4) % 4;
  if (stream ? r.remaining() != padding : r.remaining() > padding) {
    return DecodeError{DecodeErrorCode::kBadLength, 0, r.offset()};
  }
  return view;
}

std::vector<std::uint8_t> make_channel_data(std::uint16_t channel,
                                            std::span<const std::uint8_t> data, bool stream) {
  if (!is_valid_channel(channel) || data.size() > 0xFFFF) return {};
  const std::size_t padding = stream ? (4 - data.size() % 4) % 4 : 0;
  std::vector<std::uint8_t> out(4 + data.size() + padding, 0);
  ByteWriter w(out);
  w.u16(channel);
  w.u16(static_cast<std::uint16_t>(data.size()));
  w.bytes(data);
  return out;
}

std::optional<std::size_t> stream_frame_size(std::span<const std::uint8_t> prefix) noexcept {
  if (prefix.size() < 4) return std::nullopt;
  const std::size_t length = load_u16(prefix.data() + 2);
  switch (prefix[0] & 0xC0) {
    case 0x00:  // RFC 8489 §5: the length excludes the 20-byte header, always a multiple of 4
      if (length % 4 != 0) return std::nullopt;
      return kHeaderSize + length;
    case 0x40:
      if (!is_valid_channel(load_u16(prefix.data()))) return std::nullopt;
      return 4 + length + (4 - length % 4) % 4;
    default: return std::nullopt;
  }
}

}  // namespace natdiag::stun
