// natdiag ice's pure parts: TURN URIs (RFC 7065), TURN REST credentials, the Allocate probe's
// messages and their classification, NiceCandidate conversion, candidate merging, and the
// warnings and health verdict from lists of candidates and probe results.
#include <doctest/doctest.h>
#include <nice/agent.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "ice/candidate.hpp"
#include "ice/diagnose.hpp"
#include "tests/unit/ice_test_helpers.hpp"
#include "ice/glib_ptr.hpp"
#include "ice/nice_convert.hpp"
#include "src/cli_common.hpp"
#include "src/turn_uri.hpp"
#include "stun/client/turn.hpp"
#include "stun/proto/attributes.hpp"
#include "stun/proto/integrity.hpp"

using natdiag::client::Transport;
using natdiag::client::TurnVerdict;
using natdiag::ice::Candidate;
using natdiag::ice::CandidateTransport;
using natdiag::ice::CandidateType;
using natdiag::stun::AttributeType;
using natdiag::stun::TransportAddress;
namespace cli = natdiag::cli;
namespace client = natdiag::client;
namespace ice = natdiag::ice;
namespace stun = natdiag::stun;

using natdiag::test::addr;
using natdiag::test::any_contains;
using natdiag::test::cand;

namespace {

const stun::TransactionId kId{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

/// An Allocate response of `cls` built by `fill` on a builder.
template <typename F>
std::vector<std::uint8_t> allocate_response(stun::MessageClass cls, F&& fill) {
  std::array<std::uint8_t, 512> buffer{};
  stun::MessageBuilder b(buffer, stun::compose_message_type(stun::Method::kAllocate, cls), kId);
  fill(b);
  const auto bytes = b.bytes();
  return {bytes.begin(), bytes.end()};
}

client::AllocateAnswer interpret(const std::vector<std::uint8_t>& bytes) {
  const auto view = stun::MessageView::parse(bytes);
  REQUIRE(view.ok());
  return client::interpret_allocate_response(*view);
}

}  // namespace

TEST_CASE("TURN URIs (RFC 7065): schemes, default ports and transports") {
  auto u = cli::parse_turn_uri("turn:turn.example.org", "--turn");
  CHECK(u.host == "turn.example.org");
  CHECK(u.port == 3478);
  CHECK(u.transport == Transport::kUdp);

  u = cli::parse_turn_uri("turn:203.0.113.10:5000?transport=tcp", "--turn");
  CHECK(u.host == "203.0.113.10");
  CHECK(u.port == 5000);
  CHECK(u.transport == Transport::kTcp);

  u = cli::parse_turn_uri("turn:203.0.113.10?transport=udp", "--turn");
  CHECK(u.transport == Transport::kUdp);

  u = cli::parse_turn_uri("turns:turn.example.org", "--turn");
  CHECK(u.port == 5349);
  CHECK(u.transport == Transport::kTls);

  u = cli::parse_turn_uri("TURNS:[2001:db8::1]:443?transport=tcp", "--turn");
  CHECK(u.host == "2001:db8::1");
  CHECK(u.port == 443);
  CHECK(u.transport == Transport::kTls);
}

TEST_CASE("TURN URIs: bad input is a usage error naming the value") {
  for (const char* bad :
       {"stun:203.0.113.10", "203.0.113.10", "turn:", "turn:host:70000", "turn:host:0",
        "turn:host?transport=sctp", "turns:host?transport=udp", "turn:host?foo=bar", "turn://host",
        "turn:user@host", "turn:[::1", "turn:stun:host"}) {
    CAPTURE(bad);
    try {
      (void)cli::parse_turn_uri(bad, "--turn");
      FAIL("accepted");
    } catch (const cli::UsageError& e) {
      CHECK(std::string(e.what()).find("--turn") != std::string::npos);
    }
  }
}

TEST_CASE("base64 (RFC 4648 §10 vectors)") {
  auto b64 = [](std::string_view s) {
    return client::base64_encode({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
  };
  CHECK(b64("") == "");
  CHECK(b64("f") == "Zg==");
  CHECK(b64("fo") == "Zm8=");
  CHECK(b64("foo") == "Zm9v");
  CHECK(b64("foob") == "Zm9vYg==");
  CHECK(b64("fooba") == "Zm9vYmE=");
  CHECK(b64("foobar") == "Zm9vYmFy");
}

TEST_CASE("TURN REST credentials as coturn's use-auth-secret checks them") {
  // Expected password from an independent HMAC-SHA1 + base64 (Python hmac/base64).
  const auto c = client::rest_credentials("north", "natdiag", 1700000000);
  CHECK(c.username == "1700000000:natdiag");
  CHECK(c.password == "YhC4dV44bnYy2bO3waXW+3rS+4E=");
  const auto later = client::rest_credentials("north", "alice");
  const auto colon = later.username.find(':');
  REQUIRE(colon != std::string::npos);
  CHECK(later.username.substr(colon + 1) == "alice");
  CHECK(std::stoll(later.username.substr(0, colon)) > 1700000000);
  CHECK(later.password.size() == 28);  // 20 bytes of HMAC-SHA1 in base64
}

TEST_CASE("Allocate requests: REQUESTED-TRANSPORT UDP, then long-term credentials") {
  const auto plain = client::make_allocate_request(kId, nullptr);
  const auto view = stun::MessageView::parse(plain);
  REQUIRE(view.ok());
  CHECK(view->is(stun::Method::kAllocate, stun::MessageClass::kRequest));
  const auto transport = view->find_value(AttributeType::kRequestedTransport);
  REQUIRE(transport);
  CHECK(transport->size() == 4);
  CHECK((*transport)[0] == 17);
  CHECK(view->find(AttributeType::kMessageIntegrity) == nullptr);
  CHECK(stun::check_fingerprint(*view) == stun::Check::kValid);

  client::LongTermAuth auth{"natdiag", "natdiag.test", "abcdef",
                            stun::long_term_key_md5("natdiag", "natdiag.test", "secretpw")};
  const auto signed_request = client::make_allocate_request(kId, &auth);
  const auto signed_view = stun::MessageView::parse(signed_request);
  REQUIRE(signed_view.ok());
  CHECK(stun::as_text(*signed_view->find_value(AttributeType::kUsername)) == "natdiag");
  CHECK(stun::as_text(*signed_view->find_value(AttributeType::kRealm)) == "natdiag.test");
  CHECK(stun::as_text(*signed_view->find_value(AttributeType::kNonce)) == "abcdef");
  CHECK(stun::check_message_integrity(*signed_view, auth.key) == stun::Check::kValid);
  const auto wrong = stun::long_term_key_md5("natdiag", "natdiag.test", "wrong");
  CHECK(stun::check_message_integrity(*signed_view, wrong) == stun::Check::kInvalid);

  const auto refresh = client::make_refresh_request(kId, auth, 0);
  const auto refresh_view = stun::MessageView::parse(refresh);
  REQUIRE(refresh_view.ok());
  CHECK(refresh_view->is(stun::Method::kRefresh, stun::MessageClass::kRequest));
  CHECK(*stun::decode_u32(*refresh_view->find_value(AttributeType::kLifetime)) == 0);
}

TEST_CASE("Allocate responses: challenge, stale nonce, errors, success") {
  using Kind = client::AllocateAnswer::Kind;
  const auto challenge =
      interpret(allocate_response(stun::MessageClass::kErrorResponse, [](auto& b) {
        b.add_error_code(401, "Unauthorized");
        b.add_string(AttributeType::kRealm, "natdiag.test");
        b.add_string(AttributeType::kNonce, "n1");
      }));
  CHECK(challenge.kind == Kind::kChallenge);
  CHECK(challenge.realm == "natdiag.test");
  CHECK(challenge.nonce == "n1");

  const auto bare_401 = interpret(allocate_response(
      stun::MessageClass::kErrorResponse, [](auto& b) { b.add_error_code(401, "Unauthorized"); }));
  CHECK(bare_401.kind == Kind::kError);
  CHECK(bare_401.error_code == 401);

  const auto stale = interpret(allocate_response(stun::MessageClass::kErrorResponse, [](auto& b) {
    b.add_error_code(438, "Stale Nonce");
    b.add_string(AttributeType::kNonce, "n2");
  }));
  CHECK(stale.kind == Kind::kStaleNonce);
  CHECK(stale.nonce == "n2");

  const auto quota = interpret(allocate_response(stun::MessageClass::kErrorResponse,
                                                 [](auto& b) { b.add_error_code(486, ""); }));
  CHECK(quota.kind == Kind::kError);
  CHECK(quota.error_code == 486);
  CHECK(quota.reason == std::string(stun::reason_phrase(486)));

  const auto no_code =
      interpret(allocate_response(stun::MessageClass::kErrorResponse, [](auto&) {}));
  CHECK(no_code.kind == Kind::kMalformed);

  const auto ok = interpret(allocate_response(stun::MessageClass::kSuccessResponse, [](auto& b) {
    b.add_xor_address(AttributeType::kXorRelayedAddress, addr("203.0.113.10:49160"));
    b.add_xor_address(AttributeType::kXorMappedAddress, addr("203.0.113.1:40000"));
    b.add_u32(AttributeType::kLifetime, 600);
    b.add_string(AttributeType::kSoftware, "Coturn");
  }));
  CHECK(ok.kind == Kind::kSuccess);
  CHECK(ok.relayed == addr("203.0.113.10:49160"));
  CHECK(ok.mapped == addr("203.0.113.1:40000"));
  CHECK(ok.lifetime == 600u);
  CHECK(ok.software == "Coturn");

  const auto no_relay =
      interpret(allocate_response(stun::MessageClass::kSuccessResponse, [](auto& b) {
        b.add_xor_address(AttributeType::kXorMappedAddress, addr("203.0.113.1:40000"));
      }));
  CHECK(no_relay.kind == Kind::kMalformed);

  std::array<std::uint8_t, 64> buffer{};
  stun::MessageBuilder binding(
      buffer,
      stun::compose_message_type(stun::Method::kBinding, stun::MessageClass::kSuccessResponse),
      kId);
  const auto binding_bytes = binding.bytes();
  CHECK(interpret({binding_bytes.begin(), binding_bytes.end()}).kind == Kind::kMalformed);
}

TEST_CASE("TURN verdicts from error codes (RFC 8489 §9.2.5, RFC 8656)") {
  CHECK(client::verdict_for_error(401, true) == TurnVerdict::kAuthFailed);
  CHECK(client::verdict_for_error(441, true) == TurnVerdict::kAuthFailed);
  CHECK(client::verdict_for_error(401, false) == TurnVerdict::kRefused);
  // issue 10 defect 3: 400 to the retry that answered the 401 challenge = credentials rejected.
  CHECK(client::verdict_for_error(400, true) == TurnVerdict::kAuthFailed);
  CHECK(client::verdict_for_error(400, false) == TurnVerdict::kRefused);
  for (int code : {403, 437, 442, 486, 508, 420}) {
    CAPTURE(code);
    CHECK(client::verdict_for_error(code, true) == TurnVerdict::kRefused);
  }
  CHECK(client::turn_verdict_name(TurnVerdict::kAuthFailed) == "auth-failed");
  CHECK(client::turn_verdict_name(TurnVerdict::kUnreachable) == "unreachable");
}

TEST_CASE("NiceCandidate becomes a natdiag Candidate at the boundary") {
  natdiag::ice::glib::CandidatePtr nc(nice_candidate_new(NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE));
  nc->transport = NICE_CANDIDATE_TRANSPORT_UDP;
  REQUIRE(nice_address_set_from_string(&nc->addr, "203.0.113.1"));
  nice_address_set_port(&nc->addr, 40000);
  REQUIRE(nice_address_set_from_string(&nc->base_addr, "10.77.0.10"));
  nice_address_set_port(&nc->base_addr, 40000);
  nc->priority = 1679819263;
  std::strcpy(nc->foundation, "4");
  const auto c = ice::from_nice_candidate(*nc, "stun:203.0.113.10", std::chrono::milliseconds(8));
  REQUIRE(c);
  CHECK(c->type == CandidateType::kServerReflexive);
  CHECK(c->transport == CandidateTransport::kUdp);
  CHECK(c->address == addr("203.0.113.1:40000"));
  CHECK(c->base == addr("10.77.0.10:40000"));
  CHECK(c->priority == 1679819263u);
  CHECK(c->foundation == "4");
  CHECK(c->server == "stun:203.0.113.10");
  CHECK(c->elapsed == std::chrono::milliseconds(8));

  natdiag::ice::glib::CandidatePtr host(nice_candidate_new(NICE_CANDIDATE_TYPE_HOST));
  host->transport = NICE_CANDIDATE_TRANSPORT_TCP_PASSIVE;
  host->addr = ice::to_nice_address(addr("[2001:db8:2::10]:9"));
  const auto h = ice::from_nice_candidate(*host, "stun:ignored", {});
  REQUIRE(h);
  CHECK(h->type == CandidateType::kHost);
  CHECK(h->transport == CandidateTransport::kTcpPassive);
  CHECK(h->address == addr("[2001:db8:2::10]:9"));
  CHECK(h->server.empty());
  CHECK(!h->base);

  natdiag::ice::glib::CandidatePtr empty(nice_candidate_new(NICE_CANDIDATE_TYPE_RELAYED));
  CHECK(!ice::from_nice_candidate(*empty, "", {}));

  CHECK(ice::type_name(CandidateType::kRelayed) == "relay");
  CHECK(ice::type_name(CandidateType::kPeerReflexive) == "prflx");
  CHECK(ice::transport_name(CandidateTransport::kTcpSo) == "tcp-so");
  CHECK(ice::from_nice_transport(NICE_CANDIDATE_TRANSPORT_TCP_ACTIVE) ==
        CandidateTransport::kTcpActive);
}

TEST_CASE("merging agents: host candidates once, server candidates per server, by priority") {
  const std::vector<Candidate> a{
      cand(CandidateType::kHost, "10.77.0.10:40000", 2000),
      cand(CandidateType::kServerReflexive, "203.0.113.1:40000", 1600, "stun:a")};
  const std::vector<Candidate> b{
      cand(CandidateType::kHost, "10.77.0.10:40002", 2000),
      cand(CandidateType::kHost, "10.77.0.10:40003", 1000, "", CandidateTransport::kTcpPassive),
      cand(CandidateType::kServerReflexive, "203.0.113.1:40002", 1600, "turn:b"),
      cand(CandidateType::kRelayed, "203.0.113.10:49160", 500, "turn:b"),
      cand(CandidateType::kRelayed, "203.0.113.10:49160", 500, "turn:b")};
  const auto merged = ice::merge_candidates({a, b});
  REQUIRE(merged.size() == 5);
  CHECK(merged[0].address == addr("10.77.0.10:40000"));  // the first agent's host candidate
  CHECK(merged[1].server == "stun:a");
  CHECK(merged[2].server == "turn:b");
  CHECK(merged[3].transport == CandidateTransport::kTcpPassive);
  CHECK(merged[4].type == CandidateType::kRelayed);
}

TEST_CASE("warnings: UDP blocked, authentication, refusal, unreachable, private relay") {
  ice::IceOptions options;
  options.stun.push_back({"stun:203.0.113.10", "203.0.113.10", 3478, Transport::kUdp, {}});
  options.turn.push_back({"turn:203.0.113.10", "203.0.113.10", 3478, Transport::kUdp, {"u", "p"}});
  options.turn.push_back(
      {"turn:203.0.113.10?transport=tcp", "203.0.113.10", 3478, Transport::kTcp, {"u", "p"}});

  ice::IceReport r;
  r.gather.candidates = {
      cand(CandidateType::kHost, "10.77.0.10:40000", 2000),
      cand(CandidateType::kHost, "[2001:db8:2::10]:40000", 1999),
      cand(CandidateType::kRelayed, "203.0.113.10:49160", 500, "turn:203.0.113.10?transport=tcp")};
  ice::StunServerReport s;
  s.uri = "stun:203.0.113.10";
  s.address = addr("203.0.113.10:3478");
  s.probed = true;
  s.udp_error = "no response within 5000 ms";
  s.tcp_answered = true;
  r.stun = {s};
  ice::TurnServerReport udp;
  udp.uri = "turn:203.0.113.10";
  udp.address = addr("203.0.113.10:3478");
  udp.probe.verdict = TurnVerdict::kUnreachable;
  udp.probe.detail = "no answer";
  ice::TurnServerReport tcp;
  tcp.uri = "turn:203.0.113.10?transport=tcp";
  tcp.transport = Transport::kTcp;
  tcp.address = addr("203.0.113.10:3478");
  tcp.relays = {addr("203.0.113.10:49160")};
  tcp.probe.verdict = TurnVerdict::kOk;
  r.turn = {udp, tcp};

  auto w = ice::ice_warnings(r, options);
  CHECK(any_contains(w, "no srflx from stun:203.0.113.10: UDP is blocked"));
  CHECK(any_contains(w, "no relay from turn:203.0.113.10: the server is unreachable"));
  CHECK(any_contains(w, "use TURN over TCP or TLS"));
  CHECK(!any_contains(w, "only IPv4"));
  CHECK(!ice::ice_healthy(r, options));

  r.turn[0].probe.verdict = TurnVerdict::kAuthFailed;
  r.turn[0].probe.detail = "401 Unauthorized";
  w = ice::ice_warnings(r, options);
  CHECK(
      any_contains(w, "no relay from turn:203.0.113.10: authentication failed (401 Unauthorized)"));

  r.turn[0].probe.verdict = TurnVerdict::kRefused;
  r.turn[0].probe.detail = "486 Allocation Quota Reached";
  w = ice::ice_warnings(r, options);
  CHECK(any_contains(w, "refused the allocation (486"));

  r.turn[0].relays = {addr("10.0.0.5:49160")};
  r.gather.candidates.push_back(
      cand(CandidateType::kRelayed, "10.0.0.5:49160", 500, "turn:203.0.113.10"));
  r.stun[0].srflx = {addr("203.0.113.1:40000")};
  w = ice::ice_warnings(r, options);
  CHECK(any_contains(w, "relay address 10.0.0.5:49160 from turn:203.0.113.10 is private"));
  CHECK(any_contains(w, "external-ip"));
  CHECK(ice::ice_healthy(r, options));  // every server produced its candidates
}

TEST_CASE("warnings: no NAT, one address family, nothing configured, failed check") {
  ice::IceOptions options;
  options.stun.push_back({"stun:203.0.113.10", "203.0.113.10", 3478, Transport::kUdp, {}});
  ice::IceReport r;
  r.gather.candidates = {cand(CandidateType::kHost, "198.51.100.10:40000", 2000)};
  ice::StunServerReport s;
  s.uri = "stun:203.0.113.10";
  s.probed = true;
  s.udp_mapped = addr("198.51.100.10:40004");  // libnice drops a srflx equal to host
  s.tcp_answered = true;
  r.stun = {s};
  auto w = ice::ice_warnings(r, options);
  CHECK(any_contains(w, "no NAT: stun:203.0.113.10 sees this host at 198.51.100.10"));
  CHECK(any_contains(w, "only IPv4 host candidates"));
  CHECK(!any_contains(w, "no srflx"));
  CHECK(ice::ice_healthy(r, options));

  options.family = natdiag::net::FamilyPreference::kIPv4Only;
  CHECK(!any_contains(ice::ice_warnings(r, options), "only IPv4"));

  r.stun[0].udp_mapped.reset();
  r.stun[0].udp_error = "no response";
  r.stun[0].tcp_answered = false;
  w = ice::ice_warnings(r, options);
  CHECK(any_contains(w, "the STUN server is unreachable or UDP is blocked"));
  CHECK(!ice::ice_healthy(r, options));

  ice::IceOptions nothing;
  ice::IceReport host_only;
  host_only.gather.candidates = {cand(CandidateType::kHost, "[2001:db8::5]:40000", 2000)};
  w = ice::ice_warnings(host_only, nothing);
  CHECK(any_contains(w, "no --stun or --turn server given"));
  CHECK(any_contains(w, "only IPv6 host candidates"));
  CHECK(ice::ice_healthy(host_only, nothing));

  nothing.check = true;
  CHECK(!ice::ice_healthy(host_only, nothing));
  host_only.gather.check = ice::CheckOutcome{};
  host_only.gather.check->error = "ICE connectivity checks failed: no candidate pair worked";
  CHECK(any_contains(ice::ice_warnings(host_only, nothing), "connectivity check failed"));
}

TEST_CASE("warnings: a STUN server that refuses UDP itself is not called UDP blocked") {
  ice::IceOptions options;
  options.stun.push_back({"stun:203.0.113.10", "203.0.113.10", 3478, Transport::kUdp, {}});
  ice::IceReport r;
  r.gather.candidates = {cand(CandidateType::kHost, "10.77.0.10:40000", 2000)};
  ice::StunServerReport s;
  s.uri = "stun:203.0.113.10";
  s.address = addr("203.0.113.10:3478");
  s.probed = true;
  s.udp_error = "ICMP port unreachable from the server 203.0.113.10 itself";
  s.udp_failure = natdiag::client::Failure::kRefusedByServer;
  s.tcp_answered = true;
  r.stun = {s};
  auto w = ice::ice_warnings(r, options);
  CHECK_FALSE(any_contains(w, "UDP is blocked"));
  CHECK(any_contains(w, "does not listen on UDP"));
  // The same silence, or a refusal from a host on the way, is a blocked path.
  r.stun.front().udp_failure = natdiag::client::Failure::kRefusedOnPath;
  CHECK(any_contains(ice::ice_warnings(r, options), "UDP is blocked"));
}
