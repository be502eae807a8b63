// TURN codec pieces (stun/proto/turn.hpp) and the TURN client's requests, against published
// vectors where they exist: RFC 5769 §2.2/§2.3 for the XOR address encoding that XOR-PEER-
// ADDRESS and XOR-RELAYED-ADDRESS share, RFC 5769 §2.4 for the long-term credential key that
// signs every authenticated TURN request, and an HMAC-SHA1 computed by `openssl dgst` for
// TURN REST credentials.
#include <doctest/doctest.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "stun/client/turn.hpp"
#include "stun/client/turn_audit.hpp"
#include "stun/client/turn_check.hpp"
#include "stun/client/turn_relay.hpp"
#include "stun/client/turn_session.hpp"
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

// --- TurnSession against a scripted server (no sockets) ------------------------------------

namespace {

/// A reliable link whose far end is a function: each request gets the frames it returns.
class ScriptedLink final : public client::TurnLink {
 public:
  using Server = std::function<std::vector<std::vector<std::uint8_t>>(const MessageView&)>;
  explicit ScriptedLink(Server server) : server_(std::move(server)) {}
  bool send(std::span<const std::uint8_t> frame, TimePoint, std::string& error) override {
    sent.emplace_back(frame.begin(), frame.end());
    auto m = MessageView::parse(sent.back());
    if (!m) {
      error = "bad frame";
      return false;
    }
    for (auto& f : server_(*m)) queue_.push_back(std::move(f));
    return true;
  }
  std::optional<std::vector<std::uint8_t>> receive(TimePoint, std::string& error) override {
    if (queue_.empty()) {
      error = "timed out";
      return std::nullopt;
    }
    auto f = std::move(queue_.front());
    queue_.erase(queue_.begin());
    return f;
  }
  [[nodiscard]] bool reliable() const noexcept override { return true; }
  [[nodiscard]] TransportAddress local_address() const override { return {}; }
  std::vector<std::vector<std::uint8_t>> sent;

 private:
  Server server_;
  std::vector<std::vector<std::uint8_t>> queue_;
};

std::vector<std::uint8_t> answer(const MessageView& request, MessageClass cls, int code,
                                 const std::string& nonce, const TransactionId* id = nullptr) {
  std::array<std::uint8_t, 512> buffer{};
  MessageBuilder b(buffer, compose_message_type(request.method(), cls),
                   id ? *id : request.transaction_id());
  if (cls == MessageClass::kErrorResponse) {
    b.add_error_code(code, reason_phrase(code));
    b.add_string(AttributeType::kRealm, "example.org");
    if (!nonce.empty()) b.add_string(AttributeType::kNonce, nonce);
  } else {
    b.add_xor_address(AttributeType::kXorRelayedAddress, *TransportAddress::parse("192.0.2.7:50000"));
  }
  b.add_fingerprint();
  return {b.bytes().begin(), b.bytes().end()};
}

std::string text_of(const MessageView& m, AttributeType t) {
  const auto v = m.find_value(t);
  return v ? std::string(as_text(*v)) : std::string();
}

const auto kNoAttributes = [](MessageBuilder&) {};
using Frames = std::vector<std::vector<std::uint8_t>>;

}  // namespace

TEST_CASE("TurnSession: 401 challenge, then 438 Stale Nonce, then success (RFC 8489 §9.2)") {
  const auto key = long_term_key_md5("user", "example.org", "pass");
  int calls = 0;
  ScriptedLink link([&](const MessageView& req) {
    ++calls;
    if (req.find(AttributeType::kUsername) == nullptr) {
      return Frames{answer(req, MessageClass::kErrorResponse, 401, "nonce-1")};
    }
    // The authenticated request must verify with the long-term key.
    CHECK(check_message_integrity(req, key) == Check::kValid);
    if (text_of(req, AttributeType::kNonce) == "nonce-1") {
      return Frames{answer(req, MessageClass::kErrorResponse, 438, "nonce-2")};
    }
    return Frames{answer(req, MessageClass::kSuccessResponse, 0, "")};
  });
  client::TurnSession session(link, {"user", "pass"}, true);
  const auto a = session.request(Method::kAllocate, kNoAttributes, Clock::now() + std::chrono::seconds(1));
  CHECK(a.success);
  CHECK(calls == 3);
  REQUIRE(session.auth());
  CHECK(session.auth()->nonce == "nonce-2");
  auto third = MessageView::parse(link.sent.back());
  CHECK(text_of(*third, AttributeType::kNonce) == "nonce-2");
  CHECK(text_of(*third, AttributeType::kRealm) == "example.org");
}

TEST_CASE("TurnSession: challenges are answered once; a second 401 or 438 is the answer") {
  for (int code : {401, 438}) {
    CAPTURE(code);
    int calls = 0;
    ScriptedLink link([&](const MessageView& req) {
      ++calls;
      const bool authed = req.find(AttributeType::kUsername) != nullptr;
      return Frames{answer(req, MessageClass::kErrorResponse, authed ? code : 401,
                                "n" + std::to_string(calls))};
    });
    client::TurnSession session(link, {"user", "wrong"}, true);
    const auto a = session.request(Method::kAllocate, kNoAttributes, Clock::now() + std::chrono::seconds(1));
    CHECK_FALSE(a.success);
    CHECK(a.error_code == code);
    CHECK(calls == (code == 401 ? 2 : 3));
  }
  // Without credentials the 401 is returned as it is.
  ScriptedLink link([&](const MessageView& req) {
    return Frames{answer(req, MessageClass::kErrorResponse, 401, "n")};
  });
  client::TurnSession session(link, {}, false);
  const auto a = session.request(Method::kAllocate, kNoAttributes, Clock::now() + std::chrono::seconds(1));
  CHECK(a.error_code == 401);
  CHECK_FALSE(session.challenged());
}

TEST_CASE("TurnSession: relayed data that arrives before a response is kept; strays are not believed") {
  ScriptedLink link([&](const MessageView& req) {
    Frames out;
    // A Data indication, a response with someone else's transaction ID, ChannelData, then ours.
    std::array<std::uint8_t, 256> buffer{};
    MessageBuilder d(buffer, compose_message_type(Method::kData, MessageClass::kIndication),
                     TransactionId{9});
    d.add_xor_address(AttributeType::kXorPeerAddress, *TransportAddress::parse("198.51.100.9:4000"));
    const std::array<std::uint8_t, 3> data{'a', 'b', 'c'};
    d.add_raw(static_cast<std::uint16_t>(AttributeType::kData), data);
    out.emplace_back(d.bytes().begin(), d.bytes().end());
    const TransactionId other{7, 7, 7};
    out.push_back(answer(req, MessageClass::kErrorResponse, 400, "", &other));
    out.push_back(make_channel_data(0x4001, data, true));
    out.push_back(answer(req, MessageClass::kSuccessResponse, 0, ""));
    return out;
  });
  client::TurnSession session(link, {}, false);
  const auto deadline = Clock::now() + std::chrono::seconds(1);
  const auto a = session.request(Method::kRefresh, kNoAttributes, deadline);
  CHECK(a.success);
  auto first = session.receive_data(deadline);
  REQUIRE(first);
  CHECK(first->peer == TransportAddress::parse("198.51.100.9:4000"));
  CHECK(first->data == std::vector<std::uint8_t>{'a', 'b', 'c'});
  auto second = session.receive_data(deadline);
  REQUIRE(second);
  CHECK(second->channel == std::optional<std::uint16_t>(0x4001));
  CHECK_FALSE(session.receive_data(deadline));  // the stray response was not data
  CHECK(session.ignored_frames() == 1);
}

TEST_CASE("TurnSession: a 401 with an over-long REALM or NONCE is malformed, never a throw") {
  for (const char* which : {"realm", "nonce"}) {
    CAPTURE(which);
    const bool long_realm = std::string(which) == "realm";
    ScriptedLink link([&](const MessageView& req) {
      std::array<std::uint8_t, 2048> buffer{};
      MessageBuilder b(buffer, compose_message_type(req.method(), MessageClass::kErrorResponse),
                       req.transaction_id());
      b.add_error_code(401, "Unauthorized");
      b.add_string(AttributeType::kRealm, long_realm ? std::string(800, 'r') : "example.org");
      b.add_string(AttributeType::kNonce, long_realm ? "n" : std::string(764, 'n'));
      b.add_fingerprint();
      return Frames{{b.bytes().begin(), b.bytes().end()}};
    });
    client::TurnSession session(link, {std::string(508, 'u'), "pass"}, true);
    client::TurnAnswer a;
    REQUIRE_NOTHROW(a = session.request(Method::kAllocate, kNoAttributes,
                                        Clock::now() + std::chrono::seconds(1)));
    CHECK_FALSE(a.success);
    CHECK(a.error_code == 401);
    CHECK(a.malformed.find(long_realm ? "REALM of 800 bytes" : "NONCE of 764 bytes") != std::string::npos);
    CHECK_FALSE(session.challenged());  // not echoed back
    CHECK(link.sent.size() == 1);
  }
  // At the limits (USERNAME 508, REALM and NONCE 763 bytes) the authenticated request is sent.
  ScriptedLink link([&](const MessageView& req) {
    if (req.find(AttributeType::kUsername) != nullptr) {
      return Frames{answer(req, MessageClass::kSuccessResponse, 0, "")};
    }
    std::array<std::uint8_t, 2048> buffer{};
    MessageBuilder b(buffer, compose_message_type(req.method(), MessageClass::kErrorResponse),
                     req.transaction_id());
    b.add_error_code(401, "Unauthorized");
    b.add_string(AttributeType::kRealm, std::string(763, 'r'));
    b.add_string(AttributeType::kNonce, std::string(763, 'n'));
    b.add_fingerprint();
    return Frames{{b.bytes().begin(), b.bytes().end()}};
  });
  client::TurnSession session(link, {std::string(508, 'u'), "pass"}, true);
  client::TurnAnswer a;
  REQUIRE_NOTHROW(a = session.request(Method::kAllocate, kNoAttributes,
                                      Clock::now() + std::chrono::seconds(1)));
  CHECK(a.success);
  REQUIRE(link.sent.size() == 2);
  CHECK(text_of(*MessageView::parse(link.sent[1]), AttributeType::kUsername).size() == 508);
}

// --- the relay test's verdicts (no data sent: permissions refused, or the decision alone) -----

namespace {

/// A report as test_relay finds it after a successful Allocate.
client::TurnCheckReport allocated(const std::string& server, const std::string& relayed,
                                  const std::string& mapped) {
  client::TurnCheckReport r;
  r.server = TransportAddress::parse(server);
  r.relayed = TransportAddress::parse(relayed);
  r.mapped = TransportAddress::parse(mapped);
  return r;
}

bool has_finding(const client::TurnCheckReport& r, const std::string& id) {
  return std::any_of(r.findings.begin(), r.findings.end(), [&](const auto& f) { return f.id == id; });
}

}  // namespace

TEST_CASE("relay: 403 to every private peer is a hardened server, the relay untested (not broken)") {
  // The relayed address is loopback so the echo peer's socket (bound, never sending here:
  // no permission was granted) stays on this host.
  auto forbid = [](const MessageView& req) {
    return Frames{answer(req, MessageClass::kErrorResponse, 403, "")};
  };
  ScriptedLink link(forbid);
  client::TurnSession session(link, {}, false);
  auto r = allocated("127.0.0.1:3478", "127.0.0.1:9", "10.1.2.3:40000");
  client::test_relay(session, 2, Clock::now() + std::chrono::seconds(1), r);
  CHECK(r.problem.empty());
  CHECK(r.relay_unknown == "private-peers-refused");
  REQUIRE(has_finding(r, "relay-untested-private"));
  CHECK(r.findings.back().severity == "info");
  CHECK(r.findings.back().message.find("outside the server's LAN") != std::string::npos);
  CHECK(r.verdict.find("relay not tested") != std::string::npos);
  CHECK(link.sent.size() == 2);  // 127.0.0.1 and 10.1.2.3 asked
  CHECK_FALSE(r.send_data.has_value());

  // A public address refused too: the server refuses what Internet peers would need.
  ScriptedLink link2(forbid);
  client::TurnSession session2(link2, {}, false);
  r = allocated("127.0.0.1:3478", "127.0.0.1:9", "198.51.100.7:40000");
  client::test_relay(session2, 2, Clock::now() + std::chrono::seconds(1), r);
  CHECK(r.problem == "permission-refused");
  CHECK(r.relay_unknown.empty());

  // Private addresses, but not every answer a 403 (a 400): no excuse either.
  ScriptedLink link3([](const MessageView& req) {
    return Frames{answer(req, MessageClass::kErrorResponse, 400, "")};
  });
  client::TurnSession session3(link3, {}, false);
  r = allocated("127.0.0.1:3478", "127.0.0.1:9", "10.1.2.3:40000");
  client::test_relay(session3, 2, Clock::now() + std::chrono::seconds(1), r);
  CHECK(r.problem == "permission-refused");
}

TEST_CASE("relay: no data back from a public relay reached at a private address is unknown (hairpin)") {
  const std::string why = "data never came through the relay";
  auto r = allocated("10.0.0.5:3478", "203.0.113.10:50000", "10.0.0.9:40000");
  client::report_no_data(why, r);
  CHECK(r.problem.empty());
  CHECK(r.relay_unknown == "hairpin-or-blocked");
  CHECK_FALSE(has_finding(r, "relay-no-data"));
  REQUIRE(has_finding(r, "relay-untested-hairpin"));
  CHECK(r.findings.back().fix.empty());  // no firewall advice: nothing shows the ports blocked
  CHECK(r.findings.back().message.find("hairpin") != std::string::npos);
  CHECK(r.verdict.find("min-port") == std::string::npos);

  r = allocated("127.0.0.1:3478", "203.0.113.10:50000", "127.0.0.1:40000");  // on the TURN host
  client::report_no_data(why, r);
  CHECK(r.relay_unknown == "hairpin-or-blocked");

  // Reached at a public address: silence is the relay ports (the firewall advice stays).
  r = allocated("203.0.113.10:3478", "203.0.113.10:50000", "198.51.100.7:40000");
  client::report_no_data(why, r);
  CHECK(r.problem == "relay-no-data");
  REQUIRE(has_finding(r, "relay-no-data"));
  CHECK(r.findings.back().fix.at(0).find("min-port..max-port") != std::string::npos);
  // Private server and private relay: both on this network, no hairpin in the way.
  r = allocated("10.0.0.5:3478", "10.0.0.5:50000", "10.0.0.9:40000");
  client::report_no_data(why, r);
  CHECK(r.problem == "relay-no-data");
}

TEST_CASE("relay-private: external-ip advice only from a server address of the relay's family") {
  const auto relay4 = *TransportAddress::parse("10.0.0.5:50000");
  auto [same, same_verdict] =
      client::private_relay_finding(*TransportAddress::parse("203.0.113.10:3478"), relay4);
  CHECK(same.severity == "critical");
  CHECK(same.fix == std::vector<std::string>{"external-ip=203.0.113.10/10.0.0.5"});
  CHECK(same_verdict.find("external-ip=203.0.113.10/10.0.0.5") != std::string::npos);

  auto [mixed, mixed_verdict] =
      client::private_relay_finding(*TransportAddress::parse("[2001:db8::10]:3478"), relay4);
  CHECK(mixed.severity == "critical");
  CHECK(mixed.fix == std::vector<std::string>{"external-ip=PUBLIC_IPv4/10.0.0.5"});
  CHECK(mixed.message.find("public IPv4 address is unknown") != std::string::npos);
  CHECK(mixed.message.find("natdiag turn -4") != std::string::npos);
  for (const auto& text : {mixed.message, mixed_verdict, mixed.fix[0]}) {
    CHECK(text.find("2001:db8::10/") == std::string::npos);  // never a mixed-family pair
  }
  CHECK_FALSE(mixed_verdict.empty());

  auto [lan, lan_verdict] =
      client::private_relay_finding(*TransportAddress::parse("10.0.0.5:3478"), relay4);
  CHECK(lan.severity == "info");
  CHECK(lan_verdict.empty());
}
