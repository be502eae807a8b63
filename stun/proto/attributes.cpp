#include "stun/proto/attributes.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "stun/proto/bytes.hpp"

namespace natdiag::stun {

// --- names -------------------------------------------------------------------------------

std::optional<std::string_view> attribute_name(std::uint16_t type) noexcept {
  switch (static_cast<AttributeType>(type)) {
    case AttributeType::kMappedAddress: return "MAPPED-ADDRESS";
    case AttributeType::kUsername: return "USERNAME";
    case AttributeType::kMessageIntegrity: return "MESSAGE-INTEGRITY";
    case AttributeType::kErrorCode: return "ERROR-CODE";
    case AttributeType::kUnknownAttributes: return "UNKNOWN-ATTRIBUTES";
    case AttributeType::kRealm: return "REALM";
    case AttributeType::kNonce: return "NONCE";
    case AttributeType::kMessageIntegritySha256: return "MESSAGE-INTEGRITY-SHA256";
    case AttributeType::kPasswordAlgorithm: return "PASSWORD-ALGORITHM";
    case AttributeType::kUserhash: return "USERHASH";
    case AttributeType::kXorMappedAddress: return "XOR-MAPPED-ADDRESS";
    case AttributeType::kPasswordAlgorithms: return "PASSWORD-ALGORITHMS";
    case AttributeType::kAlternateDomain: return "ALTERNATE-DOMAIN";
    case AttributeType::kSoftware: return "SOFTWARE";
    case AttributeType::kAlternateServer: return "ALTERNATE-SERVER";
    case AttributeType::kFingerprint: return "FINGERPRINT";
    case AttributeType::kResponseAddress: return "RESPONSE-ADDRESS";
    case AttributeType::kSourceAddress: return "SOURCE-ADDRESS";
    case AttributeType::kChangedAddress: return "CHANGED-ADDRESS";
    case AttributeType::kPassword: return "PASSWORD";
    case AttributeType::kReflectedFrom: return "REFLECTED-FROM";
    case AttributeType::kChangeRequest: return "CHANGE-REQUEST";
    case AttributeType::kPadding: return "PADDING";
    case AttributeType::kResponsePort: return "RESPONSE-PORT";
    case AttributeType::kCacheTimeout: return "CACHE-TIMEOUT";
    case AttributeType::kResponseOrigin: return "RESPONSE-ORIGIN";
    case AttributeType::kOtherAddress: return "OTHER-ADDRESS";
    case AttributeType::kChannelNumber: return "CHANNEL-NUMBER";
    case AttributeType::kLifetime: return "LIFETIME";
    case AttributeType::kXorPeerAddress: return "XOR-PEER-ADDRESS";
    case AttributeType::kData: return "DATA";
    case AttributeType::kXorRelayedAddress: return "XOR-RELAYED-ADDRESS";
    case AttributeType::kRequestedAddressFamily: return "REQUESTED-ADDRESS-FAMILY";
    case AttributeType::kEvenPort: return "EVEN-PORT";
    case AttributeType::kRequestedTransport: return "REQUESTED-TRANSPORT";
    case AttributeType::kDontFragment: return "DONT-FRAGMENT";
    case AttributeType::kReservationToken: return "RESERVATION-TOKEN";
    case AttributeType::kPriority: return "PRIORITY";
    case AttributeType::kUseCandidate: return "USE-CANDIDATE";
    case AttributeType::kIceControlled: return "ICE-CONTROLLED";
    case AttributeType::kIceControlling: return "ICE-CONTROLLING";
    case AttributeType::kXorMappedAddressLegacy: return "XOR-MAPPED-ADDRESS (legacy 0x8020)";
  }
  return std::nullopt;
}

std::string method_name(std::uint16_t method) {
  switch (static_cast<Method>(method)) {
    case Method::kBinding: return "Binding";
    case Method::kAllocate: return "Allocate";
    case Method::kRefresh: return "Refresh";
    case Method::kSend: return "Send";
    case Method::kData: return "Data";
    case Method::kCreatePermission: return "CreatePermission";
    case Method::kChannelBind: return "ChannelBind";
  }
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%03x", method);
  return buf;
}

std::string_view class_name(MessageClass cls) noexcept {
  switch (cls) {
    case MessageClass::kRequest: return "request";
    case MessageClass::kIndication: return "indication";
    case MessageClass::kSuccessResponse: return "success response";
    case MessageClass::kErrorResponse: return "error response";
  }
  return "?";
}

std::string_view reason_phrase(int code) noexcept {
  switch (code) {
    case 300: return "Try Alternate";
    case 400: return "Bad Request";
    case 401: return "Unauthenticated";
    case 403: return "Forbidden";
    case 420: return "Unknown Attribute";
    case 437: return "Allocation Mismatch";
    case 438: return "Stale Nonce";
    case 440: return "Address Family not Supported";
    case 441: return "Wrong Credentials";
    case 442: return "Unsupported Transport Protocol";
    case 443: return "Peer Address Family Mismatch";
    case 486: return "Allocation Quota Reached";
    case 500: return "Server Error";
    case 508: return "Insufficient Capacity";
    default: return "";
  }
}

// --- TransportAddress ---------------------------------------------------------------------

std::string TransportAddress::ip_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == Family::kIPv4 ? AF_INET : AF_INET6, ip.data(), buf, sizeof buf);
  return buf;
}

std::string TransportAddress::to_string() const {
  const std::string host = ip_string();
  return (family == Family::kIPv4 ? host : "[" + host + "]") + ":" + std::to_string(port);
}

bool TransportAddress::same_ip(const TransportAddress& other) const noexcept {
  return family == other.family && std::memcmp(ip.data(), other.ip.data(), ip_size()) == 0;
}

std::optional<TransportAddress> TransportAddress::parse(std::string_view text) {
  std::string host(text);
  std::uint32_t port = 0;
  auto parse_port = [&port](std::string_view digits) {
    if (digits.empty() || digits.size() > 5) return false;
    port = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return false;
      port = port * 10 + static_cast<std::uint32_t>(c - '0');
    }
    return port <= 65535;
  };
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string::npos) return std::nullopt;
    const std::string rest = host.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !parse_port(std::string_view(rest).substr(1)))) {
      return std::nullopt;
    }
    host = host.substr(1, close - 1);
  } else if (std::count(host.begin(), host.end(), ':') == 1) {
    const auto colon = host.find(':');
    if (!parse_port(std::string_view(host).substr(colon + 1))) return std::nullopt;
    host.resize(colon);
  }
  TransportAddress out;
  out.port = static_cast<std::uint16_t>(port);
  if (inet_pton(AF_INET, host.c_str(), out.ip.data()) == 1) {
    out.family = Family::kIPv4;
    return out;
  }
  if (inet_pton(AF_INET6, host.c_str(), out.ip.data()) == 1) {
    // ::ffff:a.b.c.d (RFC 4291 §2.5.5.2) is the IPv4 address a.b.c.d, as the sockets API
    // reports it too: one address, one form.
    static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(out.ip.data(), kMapped, sizeof kMapped) == 0) {
      std::memmove(out.ip.data(), out.ip.data() + 12, 4);
      std::memset(out.ip.data() + 4, 0, 12);
      out.family = Family::kIPv4;
      return out;
    }
    out.family = Family::kIPv6;
    return out;
  }
  return std::nullopt;
}

// --- decoders -----------------------------------------------------------------------------

Result<TransportAddress> decode_address(std::span<const std::uint8_t> value, std::uint16_t type,
                                        std::size_t offset) noexcept {
  // RFC 8489 §14.1: 8 bits reserved, 8 bits family, 16 bits port, then 4 or 16 address bytes.
  if (value.size() < 4) return DecodeError{DecodeErrorCode::kBadAttributeValue, type, offset};
  const std::uint8_t family = value[1];
  if (family != 0x01 && family != 0x02) {
    return DecodeError{DecodeErrorCode::kBadAddressFamily, type, offset};
  }
  TransportAddress out;
  out.family = static_cast<Family>(family);
  out.port = load_u16(value.data() + 2);
  if (value.size() != 4 + out.ip_size()) {
    return DecodeError{DecodeErrorCode::kBadAttributeValue, type, offset};
  }
  std::memcpy(out.ip.data(), value.data() + 4, out.ip_size());
  return out;
}

Result<TransportAddress> decode_xor_address(const MessageView& message,
                                            const AttributeRef& attr) noexcept {
  if (!message.has_magic_cookie()) {
    return DecodeError{DecodeErrorCode::kNeedsMagicCookie, attr.type, attr.offset};
  }
  auto decoded = decode_address(message.value(attr), attr.type, attr.offset);
  if (!decoded) return decoded;
  TransportAddress& out = decoded.value();
  out.port = static_cast<std::uint16_t>(out.port ^ (kMagicCookie >> 16));
  const auto key = message.bytes().subspan(4, 16);  // cookie, then transaction ID
  for (std::size_t i = 0; i < out.ip_size(); ++i) out.ip[i] ^= key[i];
  return decoded;
}

std::optional<Result<TransportAddress>> find_address(const MessageView& message,
                                                     AttributeType type) noexcept {
  const AttributeRef* attr = message.find(type);
  if (attr == nullptr) return std::nullopt;
  switch (type) {
    case AttributeType::kXorMappedAddress:
    case AttributeType::kXorMappedAddressLegacy:
    case AttributeType::kXorPeerAddress:
    case AttributeType::kXorRelayedAddress:
      return decode_xor_address(message, *attr);
    default:
      return decode_address(message.value(*attr), attr->type, attr->offset);
  }
}

std::optional<Result<TransportAddress>> find_mapped_address(const MessageView& message) noexcept {
  // One pass, preferring XOR-MAPPED-ADDRESS, then its legacy twin, then MAPPED-ADDRESS.
  const AttributeRef* best = nullptr;
  int best_rank = 3;
  for (const AttributeRef& attr : message.attributes()) {
    if (attr.ignored) continue;
    int rank = 3;
    switch (static_cast<AttributeType>(attr.type)) {
      case AttributeType::kXorMappedAddress: rank = 0; break;
      case AttributeType::kXorMappedAddressLegacy: rank = 1; break;
      case AttributeType::kMappedAddress: rank = 2; break;
      default: continue;
    }
    if (rank < best_rank) {
      best = &attr;
      best_rank = rank;
    }
  }
  if (best == nullptr) return std::nullopt;
  if (best_rank < 2) return decode_xor_address(message, *best);
  return decode_address(message.value(*best), best->type, best->offset);
}

Result<ErrorCode> decode_error_code(std::span<const std::uint8_t> value) noexcept {
  ByteReader r(value);
  std::uint16_t reserved = 0;
  std::uint8_t cls = 0;
  std::uint8_t number = 0;
  if (!r.read_u16(reserved) || !r.read_u8(cls) || !r.read_u8(number)) {
    return DecodeError{DecodeErrorCode::kBadAttributeValue,
                       static_cast<std::uint16_t>(AttributeType::kErrorCode), 0};
  }
  // RFC 8489 §14.8: "The Class represents the hundreds digit ... between 3 and 6"; the
  // number is 0-99.
  cls &= 0x07;
  if (cls < 3 || cls > 6 || number > 99) {
    return DecodeError{DecodeErrorCode::kBadAttributeValue,
                       static_cast<std::uint16_t>(AttributeType::kErrorCode), 2};
  }
  return ErrorCode{cls * 100 + number, as_text(value.subspan(4))};
}

Result<ChangeRequest> decode_change_request(std::span<const std::uint8_t> value) noexcept {
  if (value.size() != 4) {
    return DecodeError{DecodeErrorCode::kBadAttributeValue,
                       static_cast<std::uint16_t>(AttributeType::kChangeRequest), 0};
  }
  const std::uint32_t flags = load_u32(value.data());
  return ChangeRequest{(flags & 0x4) != 0, (flags & 0x2) != 0};
}

Result<std::uint16_t> decode_response_port(std::span<const std::uint8_t> value) noexcept {
  if (value.size() != 4) {
    return DecodeError{DecodeErrorCode::kBadAttributeValue,
                       static_cast<std::uint16_t>(AttributeType::kResponsePort), 0};
  }
  return load_u16(value.data());
}

Result<std::vector<std::uint16_t>> decode_unknown_attributes(std::span<const std::uint8_t> value) {
  if (value.size() % 2 != 0) {
    return DecodeError{DecodeErrorCode::kBadAttributeValue,
                       static_cast<std::uint16_t>(AttributeType::kUnknownAttributes), 0};
  }
  std::vector<std::uint16_t> out;
  for (std::size_t i = 0; i < value.size(); i += 2) out.push_back(load_u16(value.data() + i));
  return out;
}

Result<std::uint32_t> decode_u32(std::span<const std::uint8_t> value) noexcept {
  if (value.size() != 4) return DecodeError{DecodeErrorCode::kBadAttributeValue, 0, 0};
  return load_u32(value.data());
}

Result<std::uint64_t> decode_u64(std::span<const std::uint8_t> value) noexcept {
  if (value.size() != 8) return DecodeError{DecodeErrorCode::kBadAttributeValue, 0, 0};
  return (std::uint64_t{load_u32(value.data())} << 32) | load_u32(value.data() + 4);
}

std::string_view as_text(std::span<const std::uint8_t> value) noexcept {
  return {reinterpret_cast<const char*>(value.data()), value.size()};
}

Result<std::vector<PasswordAlgorithm>> decode_password_algorithms(
    std::span<const std::uint8_t> value) {
  std::vector<PasswordAlgorithm> out;
  ByteReader r(value);
  while (r.remaining() > 0) {
    PasswordAlgorithm alg;
    std::uint16_t length = 0;
    const std::size_t at = r.offset();
    if (!r.read_u16(alg.algorithm) || !r.read_u16(length) ||
        !r.read_bytes(length, alg.parameters) || !r.skip((4 - length % 4) % 4)) {
      return DecodeError{DecodeErrorCode::kBadAttributeValue,
                         static_cast<std::uint16_t>(AttributeType::kPasswordAlgorithms), at};
    }
    out.push_back(alg);
  }
  return out;
}

std::string printable_text(std::span<const std::uint8_t> value) {
  // The bytes as they came, except control characters and bytes that are not UTF-8, which a
  // server could use to rewrite the terminal or break JSON: those become \xNN.
  std::string out;
  char buf[5];
  std::size_t i = 0;
  while (i < value.size()) {
    const std::uint8_t b = value[i];
    std::size_t length = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
    bool ok = length > 0 && i + length <= value.size() && !(length == 1 && (b < 0x20 || b == 0x7f)) &&
              !(length == 2 && b < 0xC2);
    for (std::size_t k = 1; ok && k < length; ++k) ok = (value[i + k] & 0xC0) == 0x80;
    if (ok) {
      out.append(reinterpret_cast<const char*>(value.data() + i), length);
      i += length;
    } else {
      std::snprintf(buf, sizeof buf, "\\x%02x", b);
      out += buf;
      ++i;
    }
  }
  return out;
}

std::string describe_attribute(const MessageView& message, const AttributeRef& attr) {
  const auto type = static_cast<AttributeType>(attr.type);
  const auto value = message.value(attr);
  auto hex = [](std::span<const std::uint8_t> bytes) {
    std::string out;
    char buf[3];
    for (std::uint8_t b : bytes.first(std::min<std::size_t>(bytes.size(), 64))) {
      std::snprintf(buf, sizeof buf, "%02x", b);
      out += buf;
    }
    if (bytes.size() > 64) out += "...";
    return out;
  };
  switch (type) {
    case AttributeType::kMappedAddress: case AttributeType::kXorMappedAddress:
    case AttributeType::kXorMappedAddressLegacy: case AttributeType::kOtherAddress:
    case AttributeType::kResponseOrigin: case AttributeType::kAlternateServer:
    case AttributeType::kSourceAddress: case AttributeType::kChangedAddress:
    case AttributeType::kXorPeerAddress: case AttributeType::kXorRelayedAddress:
    case AttributeType::kResponseAddress: case AttributeType::kReflectedFrom: {
      const bool xored = type == AttributeType::kXorMappedAddress ||
                         type == AttributeType::kXorMappedAddressLegacy ||
                         type == AttributeType::kXorPeerAddress ||
                         type == AttributeType::kXorRelayedAddress;
      auto addr = xored ? decode_xor_address(message, attr)
                        : decode_address(value, attr.type, attr.offset);
      return addr ? addr->to_string() : "malformed: " + addr.error().describe();
    }
    case AttributeType::kSoftware: case AttributeType::kUsername: case AttributeType::kRealm:
    case AttributeType::kNonce: case AttributeType::kAlternateDomain:
      return printable_text(value);
    case AttributeType::kErrorCode: {
      auto err = decode_error_code(value);
      return err ? std::to_string(err->code) + " " + std::string(err->reason)
                 : "malformed: " + err.error().describe();
    }
    case AttributeType::kChangeRequest: {
      auto cr = decode_change_request(value);
      if (!cr) return "malformed";
      return std::string(cr->change_ip ? "change-ip" : "") +
             (cr->change_ip && cr->change_port ? "," : "") + (cr->change_port ? "change-port" : "") +
             (!cr->change_ip && !cr->change_port ? "none" : "");
    }
    case AttributeType::kPadding:
      return std::to_string(value.size()) + " bytes";
    default:
      return value.empty() ? "(empty)" : "0x" + hex(value);
  }
}

std::string DecodeError::describe() const {
  const char* what = "";
  switch (code) {
    case DecodeErrorCode::kTruncated: what = "message truncated"; break;
    case DecodeErrorCode::kNotStun: what = "first two bits are not zero (not STUN)"; break;
    case DecodeErrorCode::kBadLength: what = "message length does not match the packet"; break;
    case DecodeErrorCode::kAttributeOverrun: what = "attribute runs past the end of the message"; break;
    case DecodeErrorCode::kTooManyAttributes: what = "too many attributes"; break;
    case DecodeErrorCode::kBadAttributeValue: what = "attribute value malformed"; break;
    case DecodeErrorCode::kBadAddressFamily: what = "unknown address family"; break;
    case DecodeErrorCode::kNeedsMagicCookie: what = "XOR attribute without magic cookie"; break;
  }
  char prefix[64];
  if (attribute_type != 0) {
    std::snprintf(prefix, sizeof prefix, "attribute 0x%04x at byte %zu: ", attribute_type, offset);
  } else {
    std::snprintf(prefix, sizeof prefix, "at byte %zu: ", offset);
  }
  return std::string(prefix) + what;
}

}  // namespace natdiag::stun
