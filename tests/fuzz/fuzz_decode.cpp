// libFuzzer target for the STUN codec and the RFC 5780 responder (scripts/fuzz.sh builds and
// runs it). For every input:
//   1. MessageView::parse; if it parses, every typed decoder runs on every attribute, and the
//      integrity, fingerprint and comprehension checks run on the message;
//   2. decode -> encode -> decode: the message is rebuilt with MessageBuilder::add_raw and must
//      decode to the same header and attributes, and be byte-identical to the input when each
//      attribute's padding bytes were uniform (add_raw takes one padding byte);
//   3. TURN framing (RFC 8656 §12): the input as ChannelData (UDP and stream rules) must decode
//      inside its bounds and re-encode to itself; stream_frame_size agrees with both decoders,
//      and cutting the input as a stream of frames never reads past its end; CHANNEL-NUMBER and
//      REQUESTED-TRANSPORT decoders run on every attribute (in step 1);
//   4. the input goes to two Responders (two addresses / one address); a reply that is sent
//      must parse and must not be larger than max(input size, Responder::kMinReplyCap).
// A violated property prints one line to stderr and traps, so libFuzzer saves the input.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "stun/proto/attributes.hpp"
#include "stun/proto/integrity.hpp"
#include "stun/proto/message.hpp"
#include "stun/proto/turn.hpp"
#include "stun/proto/types.hpp"
#include "stun/server/responder.hpp"

using namespace natdiag;
using stun::AttributeRef;
using stun::AttributeType;
using stun::MessageView;
using stun::TransportAddress;

namespace {

[[noreturn]] void fail(const char* what, int line) {
  std::fprintf(stderr, "fuzz_decode.cpp:%d: property violated: %s\n", line, what);
  __builtin_trap();
}
#define FUZZ_CHECK(cond)                   \
  do {                                     \
    if (!(cond)) fail(#cond, __LINE__);    \
  } while (false)

// Keeps results alive so the optimizer cannot drop the calls.
volatile std::size_t g_sink = 0;
template <typename T>
void sink(const T& value) {
  g_sink = g_sink + static_cast<std::size_t>(sizeof value);
}

// RFC 5769's short-term password, so the seed vectors 2.1-2.3 reach the "valid" branch.
constexpr std::string_view kShortTermPassword = "VOkJxbRl1RmTxUk/WvJxBt";

const std::vector<std::uint8_t>& short_key() {
  static const std::vector<std::uint8_t> key = stun::short_term_key(kShortTermPassword);
  return key;
}
// RFC 5769 2.4's long-term key: MD5("マトリックス:example.org:TheMatrIX").
const std::array<std::uint8_t, 16>& long_key() {
  static const std::array<std::uint8_t, 16> key =
      stun::long_term_key_md5("\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf"
                              "\xe3\x82\xb9",
                              "example.org", "TheMatrIX");
  return key;
}

constexpr AttributeType kAddressTypes[] = {
    AttributeType::kMappedAddress,     AttributeType::kXorMappedAddress,
    AttributeType::kXorMappedAddressLegacy, AttributeType::kAlternateServer,
    AttributeType::kResponseAddress,   AttributeType::kSourceAddress,
    AttributeType::kChangedAddress,    AttributeType::kReflectedFrom,
    AttributeType::kResponseOrigin,    AttributeType::kOtherAddress,
    AttributeType::kXorPeerAddress,    AttributeType::kXorRelayedAddress,
};

bool same_bytes(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

void check_address(const stun::Result<TransportAddress>& addr) {
  if (addr) {
    FUZZ_CHECK(addr->family == stun::Family::kIPv4 || addr->family == stun::Family::kIPv6);
    sink(addr->to_string().size());
  } else {
    sink(addr.error().describe().size());
  }
}

// Parse invariants that do not depend on re-encoding: attributes tile the body exactly.
void check_layout(const MessageView& m, std::span<const std::uint8_t> input) {
  FUZZ_CHECK(m.bytes().data() == input.data() && m.bytes().size() == input.size());
  FUZZ_CHECK(m.attributes().size() <= MessageView::kMaxAttributes);
  std::size_t at = stun::kHeaderSize;
  for (const AttributeRef& attr : m.attributes()) {
    FUZZ_CHECK(attr.offset == at);
    FUZZ_CHECK(attr.type == ((input[at] << 8) | input[at + 1]));
    FUZZ_CHECK(attr.length == ((input[at + 2] << 8) | input[at + 3]));
    at += 4 + ((std::size_t{attr.length} + 3) & ~std::size_t{3});
    FUZZ_CHECK(at <= input.size());
  }
  FUZZ_CHECK(at == input.size());
}

// (a) Every decoder on every attribute, and the message-level checks.
void run_decoders(const MessageView& m) {
  sink(m.method());
  sink(stun::method_name(m.method()).size());
  sink(stun::class_name(m.message_class()).size());
  sink(m.has_magic_cookie());

  for (const AttributeRef& attr : m.attributes()) {
    const auto value = m.value(attr);
    FUZZ_CHECK(value.size() == attr.length);
    sink(stun::attribute_name(attr.type).has_value());

    check_address(stun::decode_address(value, attr.type, attr.offset));
    const auto xored = stun::decode_xor_address(m, attr);
    check_address(xored);
    FUZZ_CHECK(m.has_magic_cookie() || !xored.ok());

    if (auto e = stun::decode_error_code(value)) {
      FUZZ_CHECK(e->code >= 300 && e->code <= 699);
      FUZZ_CHECK(e->reason.size() + 4 == value.size());
      sink(stun::reason_phrase(e->code).size());
    } else {
      sink(e.error().describe().size());
    }
    if (auto c = stun::decode_change_request(value)) sink(c->change_ip);
    if (auto p = stun::decode_response_port(value)) sink(*p);
    if (auto u = stun::decode_unknown_attributes(value)) {
      FUZZ_CHECK(u->size() * 2 == value.size());
    }
    if (auto algs = stun::decode_password_algorithms(value)) {
      for (const auto& alg : *algs) {
        // Parameters must point inside the attribute value.
        FUZZ_CHECK(alg.parameters.data() >= value.data());
        FUZZ_CHECK(alg.parameters.data() + alg.parameters.size() <= value.data() + value.size());
      }
    }
    if (auto v = stun::decode_u32(value)) sink(*v);
    if (auto v = stun::decode_u64(value)) sink(*v);
    if (auto channel = stun::decode_channel_number(value)) {
      FUZZ_CHECK(stun::is_valid_channel(*channel));
      if (value[2] == 0 && value[3] == 0) {
        FUZZ_CHECK(same_bytes(stun::encode_channel_number(*channel), value));
      }
    }
    if (auto protocol = stun::decode_requested_transport(value)) FUZZ_CHECK(value[0] == *protocol);
    sink(stun::as_text(value).size());
    sink(stun::describe_attribute(m, attr).size());
  }

  for (AttributeType type : kAddressTypes) {
    if (auto found = stun::find_address(m, type)) {
      check_address(*found);
      FUZZ_CHECK(m.find(type) != nullptr);
    } else {
      FUZZ_CHECK(m.find(type) == nullptr);
    }
  }
  if (auto mapped = stun::find_mapped_address(m)) check_address(*mapped);

  sink(stun::check_fingerprint(m));
  sink(stun::check_message_integrity(m, short_key()));
  sink(stun::check_message_integrity(m, long_key()));
  sink(stun::check_message_integrity_sha256(m, short_key()));
  if (auto unknown = m.unknown_comprehension_required()) {
    FUZZ_CHECK(stun::is_comprehension_required(*unknown));
    FUZZ_CHECK(!stun::attribute_name(*unknown).has_value());
  }
}

// (b) decode -> encode -> decode.
void check_reencode(const MessageView& m, std::span<const std::uint8_t> input) {
  bool uniform_padding = true;
  // Exactly the input's size: ASan catches the builder writing one byte too many.
  std::vector<std::uint8_t> buffer(input.size());
  stun::MessageBuilder b(buffer, m.type(), m.cookie_and_transaction_id());
  for (const AttributeRef& attr : m.attributes()) {
    const std::size_t pad_at = attr.offset + 4u + attr.length;
    const std::size_t pad_len = (4 - attr.length % 4) % 4;
    const std::uint8_t padding = pad_len != 0 ? input[pad_at] : 0;
    for (std::size_t i = 1; i < pad_len; ++i) {
      if (input[pad_at + i] != padding) uniform_padding = false;
    }
    b.add_raw(attr.type, m.value(attr), padding);
  }
  FUZZ_CHECK(b.ok());
  const auto out = b.bytes();
  FUZZ_CHECK(out.size() == input.size());
  if (uniform_padding) FUZZ_CHECK(same_bytes(out, input));

  auto again = MessageView::parse(out);
  FUZZ_CHECK(again.ok());
  const MessageView& r = again.value();
  FUZZ_CHECK(r.type() == m.type());
  FUZZ_CHECK(r.has_magic_cookie() == m.has_magic_cookie());
  FUZZ_CHECK(r.transaction_id() == m.transaction_id());
  FUZZ_CHECK(same_bytes(r.cookie_and_transaction_id(), m.cookie_and_transaction_id()));
  FUZZ_CHECK(r.attributes().size() == m.attributes().size());
  for (std::size_t i = 0; i < m.attributes().size(); ++i) {
    const AttributeRef& a = m.attributes()[i];
    const AttributeRef& c = r.attributes()[i];
    FUZZ_CHECK(c.type == a.type);
    FUZZ_CHECK(c.length == a.length);
    FUZZ_CHECK(c.offset == a.offset);
    FUZZ_CHECK(c.ignored == a.ignored);
    FUZZ_CHECK(same_bytes(r.value(c), m.value(a)));
  }
}

// Typed round trips where the encoding is canonical: a decoded address re-encoded by
// add_address / add_xor_address gives back the same value bytes (when the reserved byte is 0).
void check_typed_roundtrip(const MessageView& m) {
  std::array<std::uint8_t, 64> buffer{};
  for (const AttributeRef& attr : m.attributes()) {
    const auto value = m.value(attr);
    if (value.empty() || value[0] != 0) continue;
    if (auto plain = stun::decode_address(value, attr.type, attr.offset)) {
      stun::MessageBuilder b(buffer, m.type(), m.cookie_and_transaction_id());
      b.add_address(static_cast<AttributeType>(attr.type), *plain);
      FUZZ_CHECK(b.ok());
      FUZZ_CHECK(same_bytes(b.bytes().subspan(stun::kHeaderSize + 4), value));
    }
    if (auto xored = stun::decode_xor_address(m, attr)) {
      stun::MessageBuilder b(buffer, m.type(), m.cookie_and_transaction_id());
      b.add_xor_address(static_cast<AttributeType>(attr.type), *xored);
      FUZZ_CHECK(b.ok());
      FUZZ_CHECK(same_bytes(b.bytes().subspan(stun::kHeaderSize + 4), value));
    }
  }
}

// 3. TURN framing.
void check_turn_framing(std::span<const std::uint8_t> input, bool parses_as_stun) {
  sink(stun::looks_like_channel_data(input));
  const auto frame = stun::stream_frame_size(input);
  for (bool stream : {false, true}) {
    auto cd = stun::parse_channel_data(input, stream);
    if (!cd) {
      sink(cd.error().describe().size());
      continue;
    }
    FUZZ_CHECK(stun::is_valid_channel(cd->channel));
    FUZZ_CHECK(cd->data.data() == input.data() + 4);
    FUZZ_CHECK(cd->data.size() + 4 <= input.size());
    FUZZ_CHECK(stun::looks_like_channel_data(input));
    const auto again = stun::make_channel_data(cd->channel, cd->data, stream);
    FUZZ_CHECK(again.size() >= 4 + cd->data.size());
    FUZZ_CHECK(same_bytes(std::span(again).subspan(0, 4 + cd->data.size()),
                          input.first(4 + cd->data.size())));
    if (stream) FUZZ_CHECK(frame && *frame == input.size());
  }
  if (parses_as_stun && input.size() >= 4) FUZZ_CHECK(frame && *frame == input.size());
  // The input as a TCP stream of frames: every cut is within the bytes there.
  std::size_t at = 0;
  for (int frames = 0; frames < 1000 && at < input.size(); ++frames) {
    const auto size = stun::stream_frame_size(input.subspan(at));
    if (!size) break;
    FUZZ_CHECK(*size >= 4);
    if (*size > input.size() - at) break;  // a reader would wait for more bytes
    at += *size;
  }
  FUZZ_CHECK(at <= input.size());
}

// 4. The responder.
server::ServerAddresses addresses(bool two) {
  server::ServerAddresses a;
  a.primary_ip = *TransportAddress::parse("203.0.113.10");
  if (two) a.alternate_ip = *TransportAddress::parse("203.0.113.11");
  a.port = 3478;
  a.alt_port = 3479;
  return a;
}

const server::Responder& responder(bool two) {
  static const server::Responder two_ips(server::ResponderConfig{addresses(true)});
  static const server::Responder one_ip(server::ResponderConfig{addresses(false)});
  return two ? two_ips : one_ip;
}

void check_responder(std::span<const std::uint8_t> input, bool parses) {
  static const TransportAddress kSources[] = {
      *TransportAddress::parse("198.51.100.7:54321"),
      *TransportAddress::parse("[2001:db8::7]:40000"),
  };
  // Exactly 1500 bytes, so ASan sees any write past the documented minimum.
  std::vector<std::uint8_t> out(1500);
  const std::size_t cap = std::max(input.size(), server::Responder::kMinReplyCap);
  for (bool two : {true, false}) {
    for (std::uint8_t arrived = 0; arrived < 4; ++arrived) {
      const server::SocketId on{static_cast<std::uint8_t>(arrived >> 1),
                                static_cast<std::uint8_t>(arrived & 1)};
      const TransportAddress& source = kSources[arrived & 1];
      const server::Reply reply = responder(two).respond(input, source, on, out);
      sink(server::refusal_name(reply.refusal).size());
      if (!reply.send) continue;
      FUZZ_CHECK(parses);
      FUZZ_CHECK(reply.size <= cap);
      FUZZ_CHECK(reply.size <= out.size());
      auto parsed = MessageView::parse(std::span(out).first(reply.size));
      FUZZ_CHECK(parsed.ok());
      run_decoders(parsed.value());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  sink(stun::stun_message_size(input).has_value());
  sink(stun::looks_like_stun(input));

  auto parsed = MessageView::parse(input);
  if (parsed) {
    const MessageView& m = parsed.value();
    check_layout(m, input);
    run_decoders(m);
    check_reencode(m, input);
    check_typed_roundtrip(m);
  } else {
    sink(parsed.error().describe().size());
  }
  check_turn_framing(input, parsed.ok());
  check_responder(input, parsed.ok());
  return 0;
}
