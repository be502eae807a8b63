#include "stun/server/responder.hpp"

#include <algorithm>
#include <array>

#include "stun/proto/attributes.hpp"
#include "stun/proto/integrity.hpp"
#include "stun/proto/message.hpp"

namespace natdiag::server {

using stun::AttributeType;
using stun::MessageBuilder;
using stun::MessageClass;

TransportAddress ServerAddresses::address_of(SocketId id) const noexcept {
  TransportAddress out = id.ip == 0 || !alternate_ip ? primary_ip : *alternate_ip;
  out.port = id.port == 0 ? port : alt_port;
  return out;
}

std::string_view refusal_name(Refusal r) noexcept {
  switch (r) {
    case Refusal::kNone: return "none";
    case Refusal::kMalformed: return "malformed";
    case Refusal::kNotARequest: return "not-a-request";
    case Refusal::kTooLarge: return "too-large";
    case Refusal::kRateLimited: return "rate-limited";
    case Refusal::kBadRequest: return "bad-request";
    case Refusal::kUnknownAttribute: return "unknown-attribute";
    case Refusal::kIdle: return "tcp-idle";
    case Refusal::kIncomplete: return "tcp-incomplete";
    case Refusal::kEvicted: return "tcp-evicted";
    case Refusal::kCount: break;
  }
  return "?";
}

namespace {

// The types natdiag serve understands in a Binding request; any other comprehension-required
// attribute gets a 420 (RFC 8489 §6.3.1).
bool understood(std::uint16_t type, bool rfc5780) noexcept {
  switch (static_cast<AttributeType>(type)) {
    case AttributeType::kChangeRequest:
      return rfc5780;
    case AttributeType::kUsername: case AttributeType::kMessageIntegrity:
    case AttributeType::kMessageIntegritySha256: case AttributeType::kRealm:
    case AttributeType::kNonce: case AttributeType::kUserhash:
    case AttributeType::kPasswordAlgorithm: case AttributeType::kPriority:
    case AttributeType::kUseCandidate: case AttributeType::kPadding:
    case AttributeType::kResponsePort: case AttributeType::kXorMappedAddress:
    case AttributeType::kMappedAddress: case AttributeType::kErrorCode:
    case AttributeType::kUnknownAttributes:
      return true;
    default:
      return !stun::is_comprehension_required(type);
  }
}

Reply error_reply(const stun::MessageView& request, int code, std::string_view reason,
                  Refusal refusal, const TransportAddress& to, SocketId from,
                  std::span<std::uint8_t> out, std::span<const std::uint16_t> unknown = {}) noexcept {
  MessageBuilder b(out, stun::compose_message_type(request.method(), MessageClass::kErrorResponse),
                   request.cookie_and_transaction_id());
  b.add_error_code(code, reason);
  if (!unknown.empty()) b.add_unknown_attributes(unknown);
  if (request.has_magic_cookie()) b.add_fingerprint();
  Reply reply;
  reply.refusal = refusal;
  reply.send = b.ok();
  reply.from = from;
  reply.to = to;
  reply.size = b.bytes().size();
  return reply;
}

}  // namespace

Reply Responder::respond(std::span<const std::uint8_t> request, const TransportAddress& source,
                         SocketId arrived_on, std::span<std::uint8_t> out) const noexcept {
  Reply drop;
  auto parsed = stun::MessageView::parse(request);
  if (!parsed) {
    // A request that is well formed but has more attributes than a view indexes is too large
    // for this server, not malformed: say which.
    drop.refusal = parsed.error().code == stun::DecodeErrorCode::kTooManyAttributes
                       ? Refusal::kTooLarge
                       : Refusal::kMalformed;
    return drop;
  }
  const stun::MessageView& msg = parsed.value();
  // Never answer responses or indications: that is how reflection loops between servers start.
  if (msg.message_class() != MessageClass::kRequest) {
    drop.refusal = Refusal::kNotARequest;
    return drop;
  }
  if (stun::check_fingerprint(msg) == stun::Check::kInvalid) {
    drop.refusal = Refusal::kMalformed;
    return drop;
  }
  const auto& addrs = config_.addresses;
  // OTHER-ADDRESS goes out on every transport (RFC 5780's TCP mapping test needs it), but
  // CHANGE-REQUEST cannot be honoured on a stream: the answer must use the same connection.
  const bool rfc5780 = addrs.full_rfc5780();
  const bool change_request_ok = rfc5780 && !config_.stream;
  if (msg.method() != static_cast<std::uint16_t>(stun::Method::kBinding)) {
    return error_reply(msg, 400, "natdiag serve answers Binding only", Refusal::kBadRequest,
                       source, arrived_on, out);
  }

  // RFC 8489 §6.3.1: unknown comprehension-required attributes -> 420 with the list.
  std::array<std::uint16_t, 8> unknown{};
  std::size_t unknown_count = 0;
  for (const auto& attr : msg.attributes()) {
    if (!attr.ignored && !understood(attr.type, change_request_ok) && unknown_count < unknown.size()) {
      unknown[unknown_count++] = attr.type;
    }
  }
  if (unknown_count > 0) {
    const bool change = std::find(unknown.begin(), unknown.begin() + unknown_count,
                                  static_cast<std::uint16_t>(AttributeType::kChangeRequest)) !=
                        unknown.begin() + unknown_count;
    // RFC 5780 §6.1: without an alternate address, CHANGE-REQUEST gets 420.
    return error_reply(msg, 420,
                       change ? "CHANGE-REQUEST needs a server with two addresses"
                              : "Unknown Attribute",
                       Refusal::kUnknownAttribute, source, arrived_on, out,
                       std::span(unknown).first(unknown_count));
  }

  stun::ChangeRequest change;
  if (auto value = msg.find_value(AttributeType::kChangeRequest)) {
    auto decoded = stun::decode_change_request(*value);
    if (!decoded) {
      return error_reply(msg, 400, "malformed CHANGE-REQUEST", Refusal::kBadRequest, source,
                         arrived_on, out);
    }
    change = *decoded;
  }
  std::optional<std::uint16_t> response_port;
  if (auto value = msg.find_value(AttributeType::kResponsePort)) {
    auto decoded = stun::decode_response_port(*value);
    if (!decoded || config_.stream) {
      return error_reply(msg, 400, "RESPONSE-PORT is malformed or not possible here",
                         Refusal::kBadRequest, source, arrived_on, out);
    }
    response_port = *decoded;
  }
  const auto padding = msg.find_value(AttributeType::kPadding);
  // RFC 5780 §6.1: "If the Request contains both PADDING and RESPONSE-PORT, the server MUST
  // return an error response of type 400."
  if (padding && response_port) {
    return error_reply(msg, 400, "PADDING with RESPONSE-PORT", Refusal::kBadRequest, source,
                       arrived_on, out);
  }

  Reply reply;
  reply.from = SocketId{static_cast<std::uint8_t>(arrived_on.ip ^ (change.change_ip ? 1 : 0)),
                        static_cast<std::uint8_t>(arrived_on.port ^ (change.change_port ? 1 : 0))};
  reply.to = source;
  if (response_port) reply.to.port = *response_port;

  MessageBuilder b(out, stun::compose_message_type(stun::Method::kBinding,
                                                   MessageClass::kSuccessResponse),
                   msg.cookie_and_transaction_id());
  // RFC 5780 §7.3: RESPONSE-ORIGIN is the address the answer is sent from; a wildcard (0.0.0.0,
  // ::) is none, whether or not the caller flagged it, so it is left out rather than sent.
  const TransportAddress origin = addrs.address_of(reply.from);
  const bool origin_known = !addrs.wildcard && std::ranges::any_of(origin.ip, [](std::uint8_t b) { return b != 0; });
  const SocketId other{static_cast<std::uint8_t>(arrived_on.ip ^ 1),
                       static_cast<std::uint8_t>(arrived_on.port ^ 1)};
  if (msg.has_magic_cookie()) {
    b.add_xor_address(AttributeType::kXorMappedAddress, source);
    // MAPPED-ADDRESS too, as coturn and stuntman send it: RFC 8489 §14.1 keeps it for
    // backwards compatibility, and some clients (turnutils_natdiscovery) look for it.
    b.add_address(AttributeType::kMappedAddress, source);
    if (origin_known) b.add_address(AttributeType::kResponseOrigin, origin);
    // RFC 5780 §7.4: OTHER-ADDRESS is the address that differs in both IP and port from the
    // one the request arrived on.
    if (rfc5780) b.add_address(AttributeType::kOtherAddress, addrs.address_of(other));
  } else {
    // RFC 3489 §11.2: MAPPED-ADDRESS, SOURCE-ADDRESS and CHANGED-ADDRESS.
    b.add_address(AttributeType::kMappedAddress, source);
    if (origin_known) b.add_address(AttributeType::kSourceAddress, origin);
    if (rfc5780) b.add_address(AttributeType::kChangedAddress, addrs.address_of(other));
  }
  if (!config_.software.empty()) {
    b.add_string(AttributeType::kSoftware,
                 std::string_view(config_.software).substr(0, kMaxSoftwareBytes));
  }
  const std::size_t so_far = b.bytes().size() + (msg.has_magic_cookie() ? 8 : 0);  // + FINGERPRINT
  // The cap limits what PADDING adds; the answer itself always goes out.
  const std::size_t cap = std::max({request.size(), kMinReplyCap, so_far});
  if (padding && msg.has_magic_cookie()) {
    // RFC 5780 §7.6: pad the response like the request, within the reflection cap.
    const std::size_t room = cap > so_far + 4 ? cap - so_far - 4 : 0;
    const std::size_t pad = std::min<std::size_t>(padding->size(), room) & ~std::size_t{3};
    static constexpr std::array<std::uint8_t, 1500> kZeros{};
    b.add_raw(static_cast<std::uint16_t>(AttributeType::kPadding),
              std::span(kZeros).first(std::min(pad, kZeros.size())));
  }
  if (msg.has_magic_cookie()) b.add_fingerprint();
  if (!b.ok() || b.bytes().size() > cap) {
    drop.refusal = Refusal::kTooLarge;
    return drop;
  }
  reply.send = true;
  reply.size = b.bytes().size();
  return reply;
}

}  // namespace natdiag::server
