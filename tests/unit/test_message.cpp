// The codec through its public API: RFC 5769 vectors, the type interleave, malformed input.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "stun/proto/attributes.hpp"
#include "stun/proto/integrity.hpp"
#include "stun/proto/message.hpp"
#include "stun/proto/retransmit.hpp"

using namespace natdiag::stun;

namespace {

std::vector<std::uint8_t> from_hex(const std::string& hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  std::string out;
  char buf[3];
  for (auto b : bytes) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    out += buf;
  }
  return out;
}

nlohmann::json vectors() {
  std::ifstream in(NATDIAG_VECTORS);
  REQUIRE_MESSAGE(in.good(), "cannot open " NATDIAG_VECTORS);
  return nlohmann::json::parse(in)["vectors"];
}

nlohmann::json vector_named(const std::string& name) {
  for (const auto& v : vectors()) {
    if (v["name"] == name) return v;
  }
  FAIL("no vector " << name);
  return {};
}

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Re-encodes a decoded message attribute by attribute, keeping each attribute's padding.
std::vector<std::uint8_t> reencode(const MessageView& view) {
  std::vector<std::uint8_t> buffer(view.bytes().size() + 64);
  MessageBuilder b(buffer, view.type(), view.cookie_and_transaction_id());
  for (const auto& attr : view.attributes()) {
    const std::size_t pad_at = attr.offset + 4u + attr.length;
    const std::uint8_t padding = attr.length % 4 != 0 ? view.bytes()[pad_at] : 0;
    b.add_raw(attr.type, view.value(attr), padding);
  }
  REQUIRE(b.ok());
  return {b.bytes().begin(), b.bytes().end()};
}

}  // namespace

TEST_CASE("RFC 5769 2.1: request with USERNAME, MESSAGE-INTEGRITY and FINGERPRINT") {
  const auto v = vector_named("rfc5769-2.1-request");
  const auto bytes = from_hex(v["hex"]);
  REQUIRE(bytes.size() == v["length"].get<std::size_t>());
  auto parsed = MessageView::parse(bytes);
  REQUIRE(parsed.ok());
  const MessageView& m = parsed.value();
  CHECK(m.is(Method::kBinding, MessageClass::kRequest));
  CHECK(m.has_magic_cookie());
  CHECK(as_text(*m.find_value(AttributeType::kSoftware)) == v["expect"]["software"].get<std::string>());
  CHECK(as_text(*m.find_value(AttributeType::kUsername)) == v["expect"]["username"].get<std::string>());
  CHECK(*decode_u32(*m.find_value(AttributeType::kPriority)) == 0x6e0001ffU);
  CHECK(*decode_u64(*m.find_value(AttributeType::kIceControlled)) == 0x932ff9b151263b36ULL);
  const auto key = short_term_key(v["short_term_password"].get<std::string>());
  CHECK(check_message_integrity(m, key) == Check::kValid);
  CHECK(check_fingerprint(m) == Check::kValid);
  CHECK(check_message_integrity(m, short_term_key("wrong")) == Check::kInvalid);
  CHECK(check_message_integrity_sha256(m, key) == Check::kAbsent);
  CHECK(reencode(m) == bytes);

  // Negative check from the vectors file: byte 27 flipped breaks the FINGERPRINT.
  auto flipped = bytes;
  flipped[27] ^= 0x01;
  auto reparsed = MessageView::parse(flipped);
  REQUIRE(reparsed.ok());
  CHECK(check_fingerprint(reparsed.value()) == Check::kInvalid);
}

TEST_CASE("RFC 5769 2.2 and 2.3: responses with XOR-MAPPED-ADDRESS (IPv4, IPv6)") {
  for (const char* name : {"rfc5769-2.2-response-ipv4", "rfc5769-2.3-response-ipv6"}) {
    CAPTURE(name);
    const auto v = vector_named(name);
    const auto bytes = from_hex(v["hex"]);
    auto parsed = MessageView::parse(bytes);
    REQUIRE(parsed.ok());
    const MessageView& m = parsed.value();
    CHECK(m.is(Method::kBinding, MessageClass::kSuccessResponse));
    auto mapped = find_mapped_address(m);
    REQUIRE(mapped.has_value());
    REQUIRE(mapped->ok());
    CHECK(mapped->value().to_string() == v["expect"]["xor_mapped_address"].get<std::string>());
    CHECK(as_text(*m.find_value(AttributeType::kSoftware)) == v["expect"]["software"].get<std::string>());
    CHECK(check_message_integrity(m, short_term_key(v["short_term_password"].get<std::string>())) ==
          Check::kValid);
    CHECK(check_fingerprint(m) == Check::kValid);
    CHECK(reencode(m) == bytes);

    // Build the same message from typed values: SOFTWARE padded with 0x20 as in the RFC,
    // then our own MESSAGE-INTEGRITY and FINGERPRINT must reproduce the vector exactly.
    std::vector<std::uint8_t> buffer(256);
    MessageBuilder b(buffer, m.type(), m.transaction_id());
    b.add_string(AttributeType::kSoftware, v["expect"]["software"].get<std::string>(), 0x20)
        .add_xor_address(AttributeType::kXorMappedAddress, mapped->value())
        .add_message_integrity(short_term_key(v["short_term_password"].get<std::string>()))
        .add_fingerprint();
    REQUIRE(b.ok());
    CHECK(to_hex(b.bytes()) == v["hex"].get<std::string>());
  }
}

TEST_CASE("RFC 5769 2.4: long-term credentials") {
  const auto v = vector_named("rfc5769-2.4-request-long-term");
  const auto bytes = from_hex(v["hex"]);
  auto parsed = MessageView::parse(bytes);
  REQUIRE(parsed.ok());
  const MessageView& m = parsed.value();
  const auto& lt = v["long_term"];
  CHECK(as_text(*m.find_value(AttributeType::kUsername)) == lt["username"].get<std::string>());
  CHECK(as_text(*m.find_value(AttributeType::kRealm)) == v["expect"]["realm"].get<std::string>());
  CHECK(as_text(*m.find_value(AttributeType::kNonce)) == v["expect"]["nonce"].get<std::string>());
  const auto key = long_term_key_md5(lt["username"].get<std::string>(), lt["realm"].get<std::string>(),
                                     lt["password_after_saslprep"].get<std::string>());
  CHECK(to_hex(key) == lt["key_md5_hex"].get<std::string>());
  CHECK(check_message_integrity(m, key) == Check::kValid);
  CHECK(check_fingerprint(m) == Check::kAbsent);
  CHECK(reencode(m) == bytes);

  auto flipped = bytes;
  flipped[32] ^= 0x01;  // inside USERNAME: a mismatch, not a parse error
  auto reparsed = MessageView::parse(flipped);
  REQUIRE(reparsed.ok());
  CHECK(check_message_integrity(reparsed.value(), key) == Check::kInvalid);
}

TEST_CASE("message type: method and class interleave round-trips for every value") {
  for (std::uint16_t method = 0; method < 0x1000; ++method) {
    for (auto cls : {MessageClass::kRequest, MessageClass::kIndication,
                     MessageClass::kSuccessResponse, MessageClass::kErrorResponse}) {
      const std::uint16_t type = compose_message_type(method, cls);
      REQUIRE((type & 0xC000) == 0);
      REQUIRE(method_of(type) == method);
      REQUIRE(class_of(type) == cls);
    }
  }
  CHECK(compose_message_type(Method::kBinding, MessageClass::kRequest) == 0x0001);
  CHECK(compose_message_type(Method::kBinding, MessageClass::kSuccessResponse) == 0x0101);
  CHECK(compose_message_type(Method::kBinding, MessageClass::kErrorResponse) == 0x0111);
  CHECK(compose_message_type(Method::kAllocate, MessageClass::kRequest) == 0x0003);
  CHECK(compose_message_type(Method::kData, MessageClass::kIndication) == 0x0017);
}

TEST_CASE("CRC-32 matches the ISO 3309 check value") {
  CHECK(crc32(as_bytes("123456789")) == 0xCBF43926U);
  CHECK(crc32(as_bytes("")) == 0U);
  // Streaming over split input equals one pass.
  CHECK(crc32(as_bytes("56789"), crc32(as_bytes("1234"))) == 0xCBF43926U);
}

TEST_CASE("malformed input is reported with the error, attribute and offset") {
  const auto good = from_hex(vector_named("rfc5769-2.2-response-ipv4")["hex"]);

  SUBCASE("shorter than a header") {
    auto r = MessageView::parse(std::span(good).first(19));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == DecodeErrorCode::kTruncated);
  }
  SUBCASE("top bits set") {
    auto bad = good;
    bad[0] |= 0x80;
    auto r = MessageView::parse(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == DecodeErrorCode::kNotStun);
  }
  SUBCASE("length does not match the datagram") {
    auto r = MessageView::parse(std::span(good).first(good.size() - 4));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == DecodeErrorCode::kBadLength);
  }
  SUBCASE("an attribute longer than the message") {
    auto bad = good;
    bad[22] = 0x01;  // SOFTWARE length: 0x010b
    auto r = MessageView::parse(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == DecodeErrorCode::kAttributeOverrun);
    CHECK(r.error().attribute_type == 0x8022);
    CHECK(r.error().offset == 20);
    CHECK(r.error().describe() == "attribute 0x8022 at byte 20: attribute runs past the end of the message");
  }
  SUBCASE("too many attributes") {
    std::vector<std::uint8_t> buffer(2048);
    MessageBuilder b(buffer, 0x0001, TransactionId{});
    for (std::size_t i = 0; i <= MessageView::kMaxAttributes; ++i) b.add_raw(0x8099, {});
    auto r = MessageView::parse(b.bytes());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == DecodeErrorCode::kTooManyAttributes);
  }
  SUBCASE("address attribute with a bad family or size") {
    const std::uint8_t bad_family[] = {0, 3, 0, 80, 1, 2, 3, 4};
    CHECK(decode_address(bad_family).error().code == DecodeErrorCode::kBadAddressFamily);
    const std::uint8_t short_v6[] = {0, 2, 0, 80, 1, 2, 3, 4};
    CHECK(decode_address(short_v6).error().code == DecodeErrorCode::kBadAttributeValue);
  }
  SUBCASE("ERROR-CODE class out of range") {
    const std::uint8_t bad[] = {0, 0, 7, 1};
    CHECK_FALSE(decode_error_code(bad).ok());
    const std::uint8_t ok[] = {0, 0, 4, 20, 'x'};
    CHECK(decode_error_code(ok)->code == 420);
  }
}

TEST_CASE("attributes after MESSAGE-INTEGRITY are kept but ignored (RFC 8489 §14.5)") {
  std::vector<std::uint8_t> buffer(256);
  const auto key = short_term_key("pw");
  MessageBuilder b(buffer, compose_message_type(Method::kBinding, MessageClass::kRequest), TransactionId{1, 2, 3});
  b.add_message_integrity(key).add_string(AttributeType::kSoftware, "late").add_fingerprint();
  REQUIRE(b.ok());
  auto r = MessageView::parse(b.bytes());
  REQUIRE(r.ok());
  const auto& m = r.value();
  REQUIRE(m.attributes().size() == 3);
  CHECK(m.attributes()[1].ignored);
  CHECK_FALSE(m.attributes()[2].ignored);  // FINGERPRINT may follow
  CHECK(m.find(AttributeType::kSoftware) == nullptr);
  CHECK(check_message_integrity(m, key) == Check::kValid);
  CHECK(check_fingerprint(m) == Check::kValid);
}

TEST_CASE("MESSAGE-INTEGRITY-SHA256 and long-term SHA-256 keys") {
  std::vector<std::uint8_t> buffer(256);
  const auto key = long_term_key_sha256("user", "realm", "pass");
  MessageBuilder b(buffer, compose_message_type(Method::kAllocate, MessageClass::kRequest), TransactionId{9});
  b.add_string(AttributeType::kUsername, "user").add_message_integrity_sha256(key).add_fingerprint();
  REQUIRE(b.ok());
  auto r = MessageView::parse(b.bytes());
  REQUIRE(r.ok());
  CHECK(check_message_integrity_sha256(r.value(), key) == Check::kValid);
  CHECK(check_message_integrity_sha256(r.value(), long_term_key_sha256("user", "realm", "other")) ==
        Check::kInvalid);
  CHECK(check_message_integrity(r.value(), key) == Check::kAbsent);
}

TEST_CASE("RFC 3489 messages (no magic cookie) decode; XOR attributes are refused") {
  std::vector<std::uint8_t> buffer(128);
  const std::array<std::uint8_t, 16> legacy_id{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  MessageBuilder b(buffer, 0x0101, legacy_id);
  const auto addr = *TransportAddress::parse("192.0.2.7:4242");
  b.add_address(AttributeType::kMappedAddress, addr);
  b.add_xor_address(AttributeType::kXorMappedAddress, addr);
  CHECK_FALSE(b.ok());  // XOR needs the cookie
  MessageBuilder ok(buffer, 0x0101, legacy_id);
  ok.add_address(AttributeType::kMappedAddress, addr);
  auto r = MessageView::parse(ok.bytes());
  REQUIRE(r.ok());
  CHECK_FALSE(r->has_magic_cookie());
  CHECK(find_mapped_address(r.value())->value() == addr);
}

TEST_CASE("unknown and duplicate attributes survive, comprehension-required ones are flagged") {
  std::vector<std::uint8_t> buffer(128);
  MessageBuilder b(buffer, 0x0101, TransactionId{});
  const std::uint8_t v[] = {1, 2, 3};
  b.add_raw(0x7777, v).add_raw(0x8888, v).add_raw(0x8888, {});
  auto r = MessageView::parse(b.bytes());
  REQUIRE(r.ok());
  CHECK(r->attributes().size() == 3);
  CHECK(r->unknown_comprehension_required() == 0x7777);
  CHECK(r->value(r->attributes()[0]).size() == 3);
}

TEST_CASE("TransportAddress parsing and printing") {
  CHECK(TransportAddress::parse("10.1.2.3:80")->to_string() == "10.1.2.3:80");
  CHECK(TransportAddress::parse("[2001:db8::1]:3478")->to_string() == "[2001:db8::1]:3478");
  CHECK(TransportAddress::parse("::1")->family == Family::kIPv6);
  CHECK_FALSE(TransportAddress::parse("10.1.2.3:70000"));
  CHECK_FALSE(TransportAddress::parse("example.org"));
  CHECK_FALSE(TransportAddress::parse(""));
}

TEST_CASE("retransmission schedule follows RFC 8489 §6.2.1 with a fake clock") {
  using namespace std::chrono;
  const TimePoint t0{};
  RetransmitSchedule s(RetransmitPolicy{}, t0, t0 + seconds(60));
  std::vector<milliseconds::rep> sends;
  TimePoint now = t0;
  for (int guard = 0; guard < 100; ++guard) {
    const auto action = s.poll(now);
    if (action == RetransmitSchedule::Action::kSend) {
      sends.push_back(duration_cast<milliseconds>(now - t0).count());
      continue;
    }
    if (action == RetransmitSchedule::Action::kGiveUp) break;
    now = s.next_event();
  }
  CHECK(sends == std::vector<milliseconds::rep>{0, 500, 1500, 3500, 7500, 15500, 31500});
  CHECK(duration_cast<milliseconds>(now - t0).count() == 39500);

  // An overall deadline cuts the schedule short.
  RetransmitSchedule short_one(RetransmitPolicy{}, t0, t0 + milliseconds(2000));
  int count = 0;
  now = t0;
  while (true) {
    const auto action = short_one.poll(now);
    if (action == RetransmitSchedule::Action::kSend) { ++count; continue; }
    if (action == RetransmitSchedule::Action::kGiveUp) break;
    now = short_one.next_event();
  }
  CHECK(count == 3);
  CHECK(duration_cast<milliseconds>(now - t0).count() == 2000);

  // A deadline already past (`stun --timeout 1e-7`, issue 10 defect 7): one request still
  // goes out, then the schedule gives up; never "no response" after sending nothing.
  RetransmitSchedule past(RetransmitPolicy{}, t0 + milliseconds(5), t0 + milliseconds(1));
  CHECK(past.poll(t0 + milliseconds(5)) == RetransmitSchedule::Action::kSend);
  CHECK(past.transmissions() == 1);
  CHECK(past.poll(t0 + milliseconds(5)) == RetransmitSchedule::Action::kGiveUp);
}
