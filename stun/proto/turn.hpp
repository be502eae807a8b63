// TURN codec pieces (RFC 8656), pure: the attribute values TURN adds to STUN, ChannelData
// framing, and how to cut a TCP/TLS stream that carries both STUN messages and ChannelData.
//
// ChannelData (RFC 8656 §12.4):
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |         Channel Number        |            Length             |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                   Application Data (Length bytes)             |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// Over TCP/TLS the message is padded to a multiple of 4 bytes (§12.5); over UDP it need not be.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "stun/proto/result.hpp"

namespace natdiag::stun {

/// RFC 8656 §12: channel numbers 0x4000 through 0x4FFF.
inline constexpr std::uint16_t kChannelMin = 0x4000;
inline constexpr std::uint16_t kChannelMax = 0x4FFF;
/// RFC 8656 §18.7: REQUESTED-TRANSPORT carries an IANA protocol number; UDP is 17.
inline constexpr std::uint8_t kProtocolUdp = 17;
inline constexpr std::uint8_t kProtocolTcp = 6;

[[nodiscard]] constexpr bool is_valid_channel(std::uint16_t channel) noexcept {
  return channel >= kChannelMin && channel <= kChannelMax;
}

/// CHANNEL-NUMBER (RFC 8656 §18.1): the number, then 16 bits RFFU (zero).
[[nodiscard]] std::array<std::uint8_t, 4> encode_channel_number(std::uint16_t channel) noexcept;
/// Decodes CHANNEL-NUMBER; an error for a wrong size or a number outside 0x4000-0x4FFF.
[[nodiscard]] Result<std::uint16_t> decode_channel_number(
    std::span<const std::uint8_t> value) noexcept;

/// REQUESTED-TRANSPORT (RFC 8656 §18.7): the protocol, then 24 bits RFFU.
[[nodiscard]] std::array<std::uint8_t, 4> encode_requested_transport(std::uint8_t protocol) noexcept;
[[nodiscard]] Result<std::uint8_t> decode_requested_transport(
    std::span<const std::uint8_t> value) noexcept;

/// REQUESTED-ADDRESS-FAMILY (RFC 8656 §18.10): the family (0x01 IPv4, 0x02 IPv6), then 24
/// bits RFFU.
[[nodiscard]] std::array<std::uint8_t, 4> encode_requested_address_family(bool ipv6) noexcept;

/// One decoded ChannelData message; `data` points into the input.
struct ChannelDataView {
  std::uint16_t channel = 0;
  std::span<const std::uint8_t> data;
};

/// True when the first two bits say ChannelData (0b01, RFC 8656 §12 and RFC 7983 §7: first
/// byte 64-79), not STUN (0b00).
[[nodiscard]] bool looks_like_channel_data(std::span<const std::uint8_t> bytes) noexcept;
/// Decodes a ChannelData message. `stream`: TCP/TLS, where padding to 4 bytes is required
/// and allowed; over UDP trailing padding up to 3 bytes is accepted too.
[[nodiscard]] Result<ChannelDataView> parse_channel_data(std::span<const std::uint8_t> bytes,
                                                         bool stream) noexcept;
/// Encodes a ChannelData message, padded to 4 bytes when `stream`. Empty for a channel
/// outside 0x4000-0x4FFF or more than 65535 bytes of data.
[[nodiscard]] std::vector<std::uint8_t> make_channel_data(std::uint16_t channel,
                                                          std::span<const std::uint8_t> data,
                                                          bool stream);

/// On a TCP/TLS stream carrying STUN and ChannelData (RFC 8656 §12.5): the size of the frame
/// that starts at `prefix` (STUN: 20 + length; ChannelData: 4 + length rounded up to 4), from
/// its first 4 bytes. nullopt when fewer than 4 bytes are there or the first two bits are
/// neither 0b00 nor 0b01 (the stream is out of step).
[[nodiscard]] std::optional<std::size_t> stream_frame_size(
    std::span<const std::uint8_t> prefix) noexcept;

}  // namespace natdiag::stun
