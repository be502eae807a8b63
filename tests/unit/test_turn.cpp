// TURN codec pieces (stun/proto/turn.hpp) and the TURN client's requests, against published
// vectors where they exist: RFC 5769 §2.2/§2.3 for the XOR address encoding that XOR-PEER-
// ADDRESS and XOR-RELAYED-ADDRESS share, RFC 5769 §2.4 for the long-term credential key that
// signs every authenticated TURN request, and an HMAC-SHA1 computed by `openssl dgst` for
// TURN REST credentials.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "stun/client/turn.hpp"
#include "stun/client/turn_audit.hpp"
#include "stun/client/turn_check.hpp"
#include "stun/proto/attributes.hpp"
#include "stun/proto/integrity.hpp"
#include "stun/proto/message.hpp"
#include "stun/proto/turn.hpp"

using namespace natdiag;
using namespace natdiag::stun;

namespace {

std::vector<std::uint8_t> hex_bytes(const std::string& hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

nlohmann::json vector_named(const std::string& name) {
  std::ifstream in(NATDIAG_VECTORS);
  REQUIRE(in.good());
  const auto all = nlohmann::json::parse(in);
  for (const auto& v : all["vectors"]) {
    if (v["name"] == name) return v;
  }
  FAIL("no vector " << name);
  return {};
}

}  // namespace

TEST_CASE("XOR-PEER-ADDRESS uses RFC 5769's XOR encoding (2.2 IPv4, 2.3 IPv6)") {
  for (const char* name : {"rfc5769-2.2-response-ipv4", "rfc5769-2.3-response-ipv6"}) {
    CAPTURE(name);
    const auto v = vector_named(name);
    const auto bytes = hex_bytes(v["hex"]);
    auto parsed = MessageView::parse(bytes);
    REQUIRE(parsed.ok());
    const auto expected = *TransportAddress::parse(v["expect"]["xor_mapped_address"].get<std::string>());
    const auto published = *parsed->find_value(AttributeType::kXorMappedAddress);
    // Encode the same address as XOR-PEER-ADDRESS in a message with the vector's ID.
    std::array<std::uint8_t, 128> buffer{};
    MessageBuilder b(buffer, compose_message_type(Method::kCreatePermission, MessageClass::kRequest),
                     parsed->transaction_id());
    b.add_xor_address(AttributeType::kXorPeerAddress, expected);
    auto ours = MessageView::parse(b.bytes());
    REQUIRE(ours.ok());
    const auto value = *ours->find_value(AttributeType::kXorPeerAddress);
    CHECK(std::vector<std::uint8_t>(value.begin(), value.end()) ==
          std::vector<std::uint8_t>(published.begin(), published.end()));
    auto decoded = find_address(*ours, AttributeType::kXorPeerAddress);
    REQUIRE(decoded);
    REQUIRE(decoded->ok());
    CHECK(decoded->value() == expected);
  }
}

TEST_CASE("authenticated TURN requests are signed with RFC 5769 2.4's long-term key") {
  const auto v = vector_named("rfc5769-2.4-request-long-term");
  const auto& lt = v["long_term"];
  client::LongTermAuth auth{lt["username"].get<std::string>(), lt["realm"].get<std::string>(),
                            v["expect"]["nonce"].get<std::string>(),
                            long_term_key_md5(lt["username"].get<std::string>(),
                                              lt["realm"].get<std::string>(),
                                              lt["password_after_saslprep"].get<std::string>())};
  const TransactionId id{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  for (const auto& bytes : {client::make_allocate_request(id, &auth),
                            client::make_refresh_request(id, auth, 0)}) {
    auto m = MessageView::parse(bytes);
    REQUIRE(m.ok());
    CHECK(check_message_integrity(*m, auth.key) == Check::kValid);
    CHECK(check_fingerprint(*m) == Check::kValid);
    CHECK(as_text(*m->find_value(AttributeType::kRealm)) == "example.org");
  }
  const auto allocate_bytes = client::make_allocate_request(id, &auth);
  auto allocate = MessageView::parse(allocate_bytes);
  CHECK(decode_requested_transport(*allocate->find_value(AttributeType::kRequestedTransport)).value() ==
        kProtocolUdp);
}

TEST_CASE("TURN REST credentials: timestamp:user and base64(HMAC-SHA1(secret, username))") {
  // Expected password from: printf '1700000000:natdiag' | openssl dgst -sha1 -hmac northwind -binary | base64
  const auto c = client::rest_credentials("northwind", "natdiag", 1700000000);
  CHECK(c.username == "1700000000:natdiag");
  CHECK(c.password == "rwBwCRMR7GE/z97n132bOE4y+MI=");
}

TEST_CASE("CHANNEL-NUMBER and REQUESTED-TRANSPORT (RFC 8656 §18.1, §18.7)") {
  CHECK(encode_channel_number(0x4001) == std::array<std::uint8_t, 4>{0x40, 0x01, 0, 0});
  CHECK(decode_channel_number(encode_channel_number(0x4FFF)).value() == 0x4FFF);
  CHECK_FALSE(decode_channel_number(encode_channel_number(0x3FFF)).ok());
  CHECK_FALSE(decode_channel_number(encode_channel_number(0x5000)).ok());
  const std::array<std::uint8_t, 2> short_value{0x40, 0x00};
  CHECK_FALSE(decode_channel_number(short_value).ok());
  CHECK(encode_requested_transport(kProtocolUdp) == std::array<std::uint8_t, 4>{17, 0, 0, 0});
  // RFC 8656 §18.10: 0x01 IPv4, 0x02 IPv6, then 24 bits RFFU.
  CHECK(encode_requested_address_family(true) == std::array<std::uint8_t, 4>{2, 0, 0, 0});
  CHECK(encode_requested_address_family(false) == std::array<std::uint8_t, 4>{1, 0, 0, 0});
  CHECK_FALSE(decode_requested_transport(short_value).ok());
}

TEST_CASE("ChannelData framing: padding on streams, optional on UDP (RFC 8656 §12.4-§12.5)") {
  const std::vector<std::uint8_t> data{'a', 'b', 'c', 'd', 'e'};
  const auto udp = make_channel_data(0x4000, data, false);
  CHECK(udp == std::vector<std::uint8_t>{0x40, 0x00, 0x00, 0x05, 'a', 'b', 'c', 'd', 'e'});
  const auto tcp = make_channel_data(0x4000, data, true);
  CHECK(tcp.size() == 12);
  CHECK(looks_like_channel_data(tcp));
  auto parsed = parse_channel_data(tcp, true);
  REQUIRE(parsed.ok());
  CHECK(parsed->channel == 0x4000);
  CHECK(std::vector<std::uint8_t>(parsed->data.begin(), parsed->data.end()) == data);
  CHECK(parse_channel_data(udp, false).ok());
  CHECK(parse_channel_data(tcp, false).ok());   // UDP: padding may be present
  CHECK_FALSE(parse_channel_data(udp, true).ok());  // stream: padding required
  auto truncated = tcp;
  truncated.resize(7);
  CHECK_FALSE(parse_channel_data(truncated, true).ok());
  CHECK(make_channel_data(0x3FFF, data, true).empty());
  const std::vector<std::uint8_t> bad_channel{0x7F, 0xFF, 0x00, 0x00};
  CHECK_FALSE(parse_channel_data(bad_channel, false).ok());
}

TEST_CASE("stream framing tells STUN from ChannelData by the first two bits") {
  const TransactionId id{};
  const auto allocate = client::make_allocate_request(id, nullptr);
  CHECK(stream_frame_size(allocate) == allocate.size());
  CHECK(stream_frame_size(make_channel_data(0x4000, std::vector<std::uint8_t>(5, 1), true)) == 12);
  CHECK(stream_frame_size(make_channel_data(0x4000, {}, true)) == 4);
  const std::vector<std::uint8_t> out_of_step{0x80, 0, 0, 0};
  CHECK_FALSE(stream_frame_size(out_of_step).has_value());
  const std::vector<std::uint8_t> odd_stun_length{0x00, 0x01, 0x00, 0x03};
  CHECK_FALSE(stream_frame_size(odd_stun_length).has_value());
  CHECK_FALSE(stream_frame_size(std::vector<std::uint8_t>{0x40, 0}).has_value());
}

TEST_CASE("TURN error codes explained; 400 after credentials is a credentials problem") {
  CHECK(client::explain_turn_error(400, true).find("credentials") != std::string::npos);
  CHECK(client::explain_turn_error(400, false).find("does not do TURN") != std::string::npos);
  CHECK(client::explain_turn_error(508, true).find("min-port") != std::string::npos);
  CHECK(client::explain_turn_error(486, true).find("quota") != std::string::npos);
}

TEST_CASE("audit targets and findings") {
  const auto relay = *TransportAddress::parse("203.0.113.10:50000");
  const auto server = *TransportAddress::parse("203.0.113.10:3478");
  auto targets = client::audit_targets(relay, server);
  auto has = [&](const std::string& ip) {
    return std::any_of(targets.begin(), targets.end(), [&](const auto& t) { return t.ip == ip; });
  };
  CHECK(has("127.0.0.1"));
  CHECK(has("::1"));
  CHECK(has("0.0.0.0"));
  CHECK(has("169.254.169.254"));
  CHECK(has("224.0.0.1"));
  CHECK_FALSE(has("203.0.113.10"));  // the relay's own address: relay-to-relay needs it
  targets = client::audit_targets(relay, *TransportAddress::parse("203.0.113.20:3478"));
  CHECK(has("203.0.113.20"));

  std::vector<client::AuditProbe> probes = {{"127.0.0.1", "loopback", "accepted", std::nullopt},
                                            {"10.0.0.1", "private", "accepted", std::nullopt},
                                            {"224.0.0.1", "multicast", "refused", 403},
                                            {"::1", "loopback", "not-applicable", 443}};
  const auto findings = client::audit_findings(probes, std::string("Coturn-4.6.1"));
  REQUIRE(findings.size() == 3);
  CHECK(findings[0].id == "audit-loopback");
  CHECK(findings[1].id == "audit-private");
  CHECK(findings[2].id == "software-announced");
  CHECK(findings[2].severity == "info");
  CHECK(std::find(findings[1].fix.begin(), findings[1].fix.end(),
                  "denied-peer-ip=10.0.0.0-10.255.255.255") != findings[1].fix.end());
  CHECK(client::audit_findings({probes[2], probes[3]}, std::nullopt).empty());
}
