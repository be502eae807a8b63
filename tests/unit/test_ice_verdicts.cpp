// What `natdiag ice` and `profile` may claim (issue 10): classic-STUN refusal, no NAT on a
// multi-homed host, no servers on a NATed host, timeouts, a check that does not cross the NAT,
// and libnice's give-up schedule as natdiag models it. Pure: lists of candidates and probe
// results in, warnings and verdicts out.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>

#include "ice/diagnose.hpp"
#include "tests/unit/ice_test_helpers.hpp"
#include "src/profile/advice.hpp"
#include "stun/client/binding.hpp"
#include "stun/proto/message.hpp"

using natdiag::client::Transport;
using natdiag::ice::Candidate;
using natdiag::ice::CandidateTransport;
using natdiag::ice::CandidateType;
using natdiag::stun::TransportAddress;
namespace cli = natdiag::cli;
namespace client = natdiag::client;
namespace ice = natdiag::ice;
namespace stun = natdiag::stun;

using natdiag::test::addr;
using natdiag::test::any_contains;
using natdiag::test::cand;

TEST_CASE("warnings: a server that refuses classic STUN (libnice before 0.1.23 needs it)") {
  ice::IceOptions options;
  options.stun.push_back({"stun:203.0.113.10", "203.0.113.10", 3478, Transport::kUdp, {}});
  ice::IceReport r;
  r.gather.candidates = {cand(CandidateType::kHost, "10.77.0.10:40000", 2000)};
  ice::StunServerReport s;
  s.uri = "stun:203.0.113.10";
  s.probed = true;
  s.udp_mapped = addr("203.0.113.1:40004");
  s.tcp_answered = true;
  s.rfc3489_answered = false;
  r.stun = {s};
  CHECK(ice::refuses_classic_stun(r.stun[0]));
  auto w = ice::ice_warnings(r, options);
  CHECK(any_contains(w, "no srflx from stun:203.0.113.10: the server refuses classic STUN"));
  CHECK(any_contains(w, "(coturn: no-stun-backward-compatibility)"));
  CHECK(any_contains(w, "libnice before 0.1.23"));
  CHECK(any_contains(w, "remove the line no-stun-backward-compatibility"));
  CHECK(any_contains(w,
                     "give the media server a TURN server (libnice then takes the srflx from "
                     "the Allocate answer)"));
  CHECK(any_contains(w, "libnice 0.1.23 or newer"));
  CHECK(!any_contains(w, "longer --timeout"));  // waiting longer changes nothing
  CHECK(!ice::ice_healthy(r, options));

  // Classic STUN answered: then a longer timeout may really help.
  r.stun[0].rfc3489_answered = true;
  CHECK(!ice::refuses_classic_stun(r.stun[0]));
  w = ice::ice_warnings(r, options);
  CHECK(!any_contains(w, "classic STUN"));
  CHECK(any_contains(w, "longer --timeout"));

  // libnice 0.1.21 asks in RFC 3489 form: its srflx proves the server answers that form, even
  // if natdiag's own RFC 3489 probe was lost.
  r.stun[0].rfc3489_answered = false;
  r.stun[0].srflx = {addr("203.0.113.1:40000")};
  if (ice::libnice_discovers_in_rfc3489()) {  // Debian 12's 0.1.21
    CHECK(!ice::refuses_classic_stun(r.stun[0]));
    CHECK(!any_contains(ice::ice_warnings(r, options), "classic STUN"));
  } else {  // a newer libnice got its srflx in RFC 5389 form: older ones still get none
    CHECK(ice::refuses_classic_stun(r.stun[0]));
    CHECK(any_contains(ice::ice_warnings(r, options), "libnice before 0.1.23"));
  }

  // Nothing answered at all: unreachable, not a refusal of classic STUN.
  r.stun[0].srflx.clear();
  r.stun[0].udp_mapped.reset();
  r.stun[0].tcp_answered = false;
  CHECK(!ice::refuses_classic_stun(r.stun[0]));
}

TEST_CASE("RFC 3489 Binding request: the bare 20-byte header with the 128-bit ID") {
  const std::array<std::uint8_t, 16> id{0xde, 0xad, 0xbe, 0xef, 1, 2,  3,  4,
                                        5,    6,    7,    8,    9, 10, 11, 12};
  const auto bytes = client::make_rfc3489_binding_request(id);
  REQUIRE(bytes.size() == 20);
  CHECK(bytes[0] == 0x00);
  CHECK(bytes[1] == 0x01);  // Binding Request (RFC 3489 §11.1)
  CHECK(bytes[2] == 0x00);
  CHECK(bytes[3] == 0x00);  // no attributes
  CHECK(std::equal(id.begin(), id.end(), bytes.begin() + 4));
  const auto view = stun::MessageView::parse(bytes);
  REQUIRE(view.ok());
  CHECK(!view->has_magic_cookie());
  CHECK(view->is(stun::Method::kBinding, stun::MessageClass::kRequest));
}

TEST_CASE("warnings: multi-homed host: no NAT on one address, NAT on another") {
  // The nonat lab: 198.51.100.10 is routed, 10.77.0.10 is masqueraded to 203.0.113.1 (the
  // router). libnice's srflx comes from 10.77.0.10, natdiag's own Binding from 198.51.100.10.
  ice::IceOptions options;
  options.stun.push_back({"stun:203.0.113.10", "203.0.113.10", 3478, Transport::kUdp, {}});
  ice::IceReport r;
  Candidate srflx =
      cand(CandidateType::kServerReflexive, "203.0.113.1:40000", 1600, "stun:203.0.113.10");
  srflx.base = addr("10.77.0.10:40000");
  r.gather.candidates = {cand(CandidateType::kHost, "10.77.0.10:40000", 2000),
                         cand(CandidateType::kHost, "198.51.100.10:40002", 1999), srflx};
  ice::StunServerReport s;
  s.uri = "stun:203.0.113.10";
  s.probed = true;
  s.udp_mapped = addr("198.51.100.10:41000");
  s.tcp_answered = true;
  s.rfc3489_answered = true;
  s.srflx = {addr("203.0.113.1:40000")};
  r.stun = {s};
  const auto w = ice::ice_warnings(r, options);
  CHECK(!any_contains(w, "at 203.0.113.1, a host address"));  // the router is not this host
  CHECK(any_contains(w, "no NAT: stun:203.0.113.10 sees this host at 198.51.100.10"));
  CHECK(
      any_contains(w, "From 10.77.0.10 the server sees 203.0.113.1: that path goes through a NAT"));
  CHECK(ice::ice_healthy(r, options));

  // Only the NATed path seen: no "no NAT" claim at all.
  r.stun[0].udp_mapped = addr("203.0.113.1:41000");
  CHECK(!any_contains(ice::ice_warnings(r, options), "no NAT"));
}

TEST_CASE("health: no servers on a NATed host, a timed-out gathering") {
  ice::IceOptions nothing;
  ice::IceReport r;
  r.gather.candidates = {cand(CandidateType::kHost, "10.77.0.10:40000", 2000),
                         cand(CandidateType::kHost, "[fe80::1]:40000", 1999),
                         cand(CandidateType::kHost, "[2001:db8:2::10]:40000", 1998)};
  auto w = ice::ice_warnings(r, nothing);
  CHECK(any_contains(w,
                     "every IPv4 (10.77.0.10) host candidate is private: this host is behind NAT"));
  CHECK(!any_contains(w, "every IPv6"));  // 2001:db8:2::10 is global
  CHECK(!ice::ice_healthy(r, nothing));

  r.gather.candidates = {cand(CandidateType::kHost, "198.51.100.10:40000", 2000)};
  CHECK(ice::ice_healthy(r, nothing));
  CHECK(any_contains(ice::ice_warnings(r, nothing), "all of them public"));

  r.gather.timed_out = true;  // candidates may be missing: never "complete"
  CHECK(!ice::ice_healthy(r, nothing));
}

TEST_CASE("connectivity check: only a pair through the NAT shows anything about it") {
  ice::IceOptions options;
  options.check = true;
  options.turn.push_back({"turn:203.0.113.10", "203.0.113.10", 3478, Transport::kUdp, {"u", "p"}});
  ice::IceReport r;
  r.gather.candidates = {
      cand(CandidateType::kHost, "10.77.0.10:40000", 2000),
      cand(CandidateType::kHost, "[fe80::1]:40000", 1999),
      cand(CandidateType::kRelayed, "203.0.113.10:49160", 500, "turn:203.0.113.10")};
  ice::TurnServerReport t;
  t.uri = "turn:203.0.113.10";
  t.relays = {addr("203.0.113.10:49160")};
  r.turn = {t};
  r.gather.check = ice::CheckOutcome{};
  auto& c = *r.gather.check;
  c.success = true;
  c.pair = ice::SelectedPair{cand(CandidateType::kHost, "[fe80::1]:40000", 1999),
                             cand(CandidateType::kHost, "[fe80::1]:40002", 1999)};
  CHECK(ice::check_verdict(c, r.gather.candidates) == ice::CheckVerdict::kInconclusive);
  CHECK(ice::check_verdict_name(ice::CheckVerdict::kInconclusive) == "inconclusive");
  CHECK(any_contains(ice::ice_warnings(r, options), "proves nothing about the NAT"));
  CHECK(!ice::ice_healthy(r, options));

  c.pair = ice::SelectedPair{cand(CandidateType::kRelayed, "203.0.113.10:49160", 500),
                             cand(CandidateType::kRelayed, "203.0.113.10:49162", 500)};
  CHECK(ice::check_verdict(c, r.gather.candidates) == ice::CheckVerdict::kSuccess);
  CHECK(!any_contains(ice::ice_warnings(r, options), "connectivity check"));
  CHECK(ice::ice_healthy(r, options));

  // A peer-reflexive remote learnt from a packet that came back from the NAT's public side.
  c.pair = ice::SelectedPair{cand(CandidateType::kHost, "10.77.0.10:40000", 2000),
                             cand(CandidateType::kPeerReflexive, "203.0.113.1:40002", 1800)};
  CHECK(ice::check_verdict(c, r.gather.candidates) == ice::CheckVerdict::kSuccess);
  c.pair->remote = cand(CandidateType::kPeerReflexive, "10.77.0.10:40002", 1800);
  CHECK(ice::check_verdict(c, r.gather.candidates) == ice::CheckVerdict::kInconclusive);

  c.success = false;
  CHECK(ice::check_verdict(c, r.gather.candidates) == ice::CheckVerdict::kFail);
}

TEST_CASE("libnice's give-up schedule (stun/usages/timer.c) and the transmissions chosen") {
  using std::chrono::milliseconds;
  // The times measured with libnice 0.1.21 at 200 ms (issue 10): 0.8, 1.8, 3.8, 7.8, 15.8 s.
  CHECK(ice::libnice_give_up(milliseconds(200), 1) == milliseconds(200));
  CHECK(ice::libnice_give_up(milliseconds(200), 2) == milliseconds(300));
  CHECK(ice::libnice_give_up(milliseconds(200), 3) == milliseconds(800));
  CHECK(ice::libnice_give_up(milliseconds(200), 4) == milliseconds(1800));
  CHECK(ice::libnice_give_up(milliseconds(200), 5) == milliseconds(3800));
  CHECK(ice::libnice_give_up(milliseconds(200), 6) == milliseconds(7800));
  CHECK(ice::libnice_give_up(milliseconds(200), 7) == milliseconds(15800));
  // The old model (100 ms * 2^N) chose 5 for 3.5 s and 6 for 7 s: past the timeout.
  CHECK(ice::libnice_transmissions_for(milliseconds(3500), 99) == 4);
  CHECK(ice::libnice_transmissions_for(milliseconds(7000), 99) == 5);
  CHECK(ice::libnice_transmissions_for(milliseconds(5000), 99) == 5);
  CHECK(ice::libnice_transmissions_for(milliseconds(100), 99) == 1);
  CHECK(ice::libnice_transmissions_for(std::chrono::seconds(3600), 7) == 7);
  for (int ms = 350; ms <= 40000; ms += 50) {
    const auto n = ice::libnice_transmissions_for(milliseconds(ms), 99);
    CAPTURE(ms);
    CHECK(ice::libnice_give_up(ice::kStunInitialTimeout, n) + ice::kGiveUpSlack <=
          milliseconds(ms));
    CHECK(ice::libnice_give_up(ice::kStunInitialTimeout, n + 1) + ice::kGiveUpSlack >
          milliseconds(ms));
  }
  CHECK(ice::min_gather_timeout() == milliseconds(350));
  // Debian 12 (the project's platform) ships libnice 0.1.21: discovery in RFC 3489 form.
  MESSAGE("libnice discovers in RFC 3489 form: " << ice::libnice_discovers_in_rfc3489());
}

TEST_CASE(
    "profile: classic-STUN refusal is a fact, a finding and advice, and advise --from re-derives "
    "it") {
  cli::ProfileFacts f;
  f.public_ipv4 = "203.0.113.1";
  f.local_ipv4 = "10.77.0.10";
  f.behind_nat = true;
  f.udp = true;
  f.tcp = true;
  f.stun_server_ip = "203.0.113.10";
  f.stun_rfc3489 = false;
  const std::vector<std::string> targets{"kurento", "janus", "coturn"};
  auto finding_of = [](const std::vector<cli::Finding>& findings) -> const cli::Finding* {
    for (const auto& x : findings) {
      if (x.id == "stun-no-classic") return &x;
    }
    return nullptr;
  };
  const auto findings = cli::evaluate(f, targets);
  const auto* found = finding_of(findings);
  REQUIRE(found != nullptr);
  CHECK(found->severity == "warning");
  CHECK(found->message.find("203.0.113.10 refuses classic STUN") != std::string::npos);
  CHECK(found->message.find("no-stun-backward-compatibility") != std::string::npos);
  CHECK(found->message.find("libnice before 0.1.23") != std::string::npos);
  CHECK(found->fix.find("Remove the line no-stun-backward-compatibility") != std::string::npos);
  CHECK(found->fix.find("TURN server (libnice then takes the srflx from the Allocate answer)") !=
        std::string::npos);
  CHECK(found->fix.find("libnice 0.1.23 or newer") != std::string::npos);
  const auto advice = cli::advise(f, targets);
  CHECK(advice.at("kurento").note.find("refuses classic STUN") != std::string::npos);
  CHECK(advice.at("janus").note.find("refuses classic STUN") != std::string::npos);
  CHECK(advice.at("coturn").note.find("delete the line no-stun-backward-compatibility") !=
        std::string::npos);
  // Only libnice-based servers are hurt: for LiveKit alone it is a note.
  CHECK(finding_of(cli::evaluate(f, {"livekit"}))->severity == "info");

  // The saved profile carries the fact: advise --from finds the same.
  nlohmann::ordered_json saved = {{"schema", "natdiag/1"}, {"command", "profile"}};
  cli::facts_to_json(f, saved);
  CHECK(saved["facts"]["stun_rfc3489"] == false);
  const auto back = cli::facts_from_json(nlohmann::json(saved));
  CHECK(back.stun_rfc3489 == std::optional<bool>(false));
  CHECK(finding_of(cli::evaluate(back, targets)) != nullptr);

  // Answered, or never asked: no finding, no note.
  f.stun_rfc3489 = true;
  CHECK(finding_of(cli::evaluate(f, targets)) == nullptr);
  CHECK(cli::advise(f, targets).at("coturn").note.find("no-stun-backward") == std::string::npos);
  f.stun_rfc3489.reset();
  CHECK(finding_of(cli::evaluate(f, targets)) == nullptr);
}
