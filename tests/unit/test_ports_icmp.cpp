// natdiag ports: what an ICMP error, or a probe that never left this host, says about a port,
// on both sides (ports probe's outcomes, and --via's reading of serve's report); then the
// prober on loopback with a send the kernel refuses.
#include <doctest/doctest.h>

#include "src/ports/port_set.hpp"
#include "src/ports/prober.hpp"
#include "src/ports/report.hpp"
#include "src/ports/session.hpp"
#include "src/ports/via.hpp"
#include "src/profile/port_findings.hpp"
#include "stun/net/socket.hpp"

using namespace natdiag;
using namespace natdiag::ports;
using namespace std::chrono_literals;

namespace {

const TransportAddress kTarget = *TransportAddress::parse("203.0.113.1");
const TransportAddress kRouter = *TransportAddress::parse("198.51.100.254");
const TransportAddress kTarget6 = *TransportAddress::parse("[2001:db8:2::10]");
const TransportAddress kRouter6 = *TransportAddress::parse("[2001:db8:1::1]");

UdpReply icmp(const TransportAddress& from, std::uint8_t type, std::uint8_t code, bool v6) {
  const IcmpError e{type, code, v6};
  return {from, icmp_text(e), e};
}

/// The state and evidence of `port` after udp_outcomes for one ICMP error.
PortOutcome udp_state(const UdpReply& reply, const TransportAddress& target) {
  ProbeRun run;
  run.target = target;
  run.rounds = 3;
  run.udp_icmp[5000] = reply;
  PortSet tested;
  tested.add(5000, 5000);
  return udp_outcomes(tested, run).at(0);
}

}  // namespace

TEST_CASE("ports: ICMP errors have names and meanings (RFC 792, RFC 4443)") {
  CHECK(icmp_text({3, 3, false}) == "ICMP port unreachable");
  CHECK(icmp_text({1, 4, true}) == "ICMPv6 port unreachable");
  CHECK(icmp_text({3, 13, false}) == "ICMP administratively prohibited");
  CHECK(icmp_text({3, 1, false}) == "ICMP host unreachable");
  CHECK(icmp_text({1, 3, true}) == "ICMPv6 address unreachable");
  CHECK(icmp_text({11, 0, false}) == "ICMP time exceeded");
  CHECK(icmp_text({3, 4, false}) == "ICMP type 3 code 4");
  for (auto code : {9, 10, 13}) {
    CHECK(icmp_meaning({3, static_cast<std::uint8_t>(code), false}) == IcmpMeaning::kProhibited);
  }
  CHECK(icmp_meaning({1, 1, true}) == IcmpMeaning::kProhibited);
  CHECK(icmp_meaning({3, 3, true}) == IcmpMeaning::kOther);  // ICMPv6 3 is time exceeded
  CHECK(icmp_meaning({1, 4, false}) == IcmpMeaning::kOther);
  CHECK(icmp_meaning_of_text("ICMP port unreachable") == IcmpMeaning::kPortUnreachable);
  CHECK(icmp_meaning_of_text("ICMPv6 administratively prohibited") == IcmpMeaning::kProhibited);
  CHECK(icmp_meaning_of_text("ICMP port unreachable, or so") == IcmpMeaning::kOther);
}

TEST_CASE("ports probe: only port unreachable from the target is closed") {
  SUBCASE("ICMP port unreachable from the target: closed") {
    const auto o = udp_state(icmp(kTarget, 3, 3, false), kTarget);
    CHECK(o.state == State::kClosed);
    CHECK(o.evidence == "ICMP port unreachable from 203.0.113.1");
    CHECK(udp_state(icmp(kTarget6, 1, 4, true), kTarget6).state == State::kClosed);
  }
  SUBCASE("port unreachable from a router: filtered, the ICMP kept") {
    const auto o = udp_state(icmp(kRouter, 3, 3, false), kTarget);
    CHECK(o.state == State::kFiltered);
    CHECK(o.evidence ==
          "ICMP port unreachable from 198.51.100.254: the probe did not reach the port");
    CHECK(udp_state(icmp(kRouter6, 1, 4, true), kTarget6).state == State::kFiltered);
  }
  SUBCASE("administratively prohibited, from anyone: filtered by a firewall") {
    for (std::uint8_t code : {9, 10, 13}) {
      for (const auto& from : {kTarget, kRouter}) {
        const auto o = udp_state(icmp(from, 3, code, false), kTarget);
        CHECK(o.state == State::kFiltered);
        CHECK(o.evidence == "ICMP administratively prohibited from " + from.ip_string() +
                                ": a firewall rejects it");
      }
    }
    CHECK(udp_state(icmp(kRouter6, 1, 1, true), kTarget6).state == State::kFiltered);
  }
  SUBCASE("host / network unreachable, time exceeded: filtered, never closed") {
    for (auto [type, code, v6] : {std::tuple{3, 0, false},
                                  {3, 1, false},
                                  {11, 0, false},
                                  {1, 0, true},
                                  {1, 3, true},
                                  {3, 0, true}}) {
      const auto& from = v6 ? kRouter6 : kRouter;
      const auto o = udp_state(
          icmp(from, static_cast<std::uint8_t>(type), static_cast<std::uint8_t>(code), v6),
          v6 ? kTarget6 : kTarget);
      CHECK(o.state == State::kFiltered);
      CHECK(o.evidence.find(" from " + from.ip_string()) != std::string::npos);
    }
    // Host unreachable from the target's own address (the router holding the public IP).
    CHECK(udp_state(icmp(kTarget, 3, 1, false), kTarget).state == State::kFiltered);
  }
  SUBCASE("an ICMP error without type and code (an older serve) is read from its text") {
    CHECK(udp_state({kTarget, "ICMP port unreachable", std::nullopt}, kTarget).state ==
          State::kClosed);
    CHECK(udp_state({kTarget, "ICMP type 3 code 1", std::nullopt}, kTarget).state ==
          State::kFiltered);
  }
}

TEST_CASE("ports probe: a probe that never left this host is untested") {
  ProbeRun run;
  run.target = kTarget;
  run.rounds = 2;
  run.udp_untested[5001] = {kTarget,
                            "the probe could not be sent from this host: Network is "
                            "unreachable"};
  run.udp_icmp[5001] = icmp(kTarget, 3, 3, false);  // never believed over the failed send
  run.udp_echoed[5002] = {kTarget, "echo"};
  PortSet udp;
  udp.add(5001, 5003);
  const auto out = udp_outcomes(udp, run);
  CHECK(out.at(0).state == State::kUntested);
  CHECK(out.at(0).evidence == "the probe could not be sent from this host: Network is unreachable");
  CHECK(out.at(1).state == State::kOpen);
  CHECK(out.at(2).state == State::kFiltered);
  CHECK_FALSE(none_tested(out));
  CHECK(none_tested({out.at(0)}));

  run.tcp[80] = {TcpResult::Kind::kNotSent,
                 "the connection could not be tried from this host: "
                 "Operation not permitted"};
  run.tcp[81] = {TcpResult::Kind::kUnreachable, "ICMP host unreachable from 198.51.100.254",
                 IcmpError{3, 1, false}};
  run.tcp[82] = {TcpResult::Kind::kUnreachable, "ICMP administratively prohibited from 203.0.113.1",
                 IcmpError{3, 13, false}};
  run.tcp[83] = {TcpResult::Kind::kRefused, "connection refused (TCP RST)"};
  PortSet tcp;
  tcp.add(80, 83);
  const auto t = tcp_outcomes(tcp, run);
  CHECK(t.at(0).state == State::kUntested);
  CHECK(t.at(1).state == State::kFiltered);
  CHECK(t.at(1).evidence ==
        "ICMP host unreachable from 198.51.100.254: the probe did not reach the port");
  CHECK(t.at(2).state == State::kFiltered);
  CHECK(t.at(2).evidence ==
        "ICMP administratively prohibited from 203.0.113.1: a firewall rejects it");
  CHECK(t.at(3).state == State::kClosed);
}

TEST_CASE("ports --via: serve's ICMP report is read the same way") {
  const auto done = nlohmann::json::parse(R"({"type":"done","rounds":2,"sent":6,
    "udp_icmp":[
      {"ports":"5001","from":"203.0.113.1","detail":"ICMP port unreachable","icmp_type":3,"icmp_code":3,"icmp_v6":false},
      {"ports":"5002","from":"198.51.100.254","detail":"ICMP port unreachable","icmp_type":3,"icmp_code":3,"icmp_v6":false},
      {"ports":"5003","from":"203.0.113.1","detail":"ICMP administratively prohibited","icmp_type":3,"icmp_code":13,"icmp_v6":false},
      {"ports":"5004","from":"198.51.100.254","detail":"ICMP host unreachable","icmp_type":3,"icmp_code":1,"icmp_v6":false},
      {"ports":"5005","from":"203.0.113.1","detail":"ICMP port unreachable"},
      {"ports":"5006","from":"203.0.113.1","detail":"ICMP port unreachable","icmp_type":300,"icmp_code":3}],
    "udp_other":[],
    "udp_untested":[{"ports":"5007-5008","from":"203.0.113.10","detail":"the probe could not be sent from this host: Operation not permitted"}]})");
  const auto serve = read_serve_udp(done);
  CHECK(serve.icmp.size() == 6);
  CHECK(serve.untested.size() == 2);
  CHECK_FALSE(serve.icmp.at(5006).icmp.has_value());  // out of range: only the text is kept
  std::vector<PortOutcome> listener;
  for (std::uint16_t p = 5000; p <= 5009; ++p) listener.push_back({p, State::kFiltered, "", ""});
  listener[0].state = State::kOpen;
  const auto out = via_udp_outcomes(listener, serve, kTarget, "no probe arrived in 2 rounds");
  CHECK(out[0].state == State::kOpen);
  // natdiag's listener holds every port --via tests: a refusal from the target is not "closed".
  CHECK(out[1].state == State::kFiltered);
  CHECK(out[1].evidence.starts_with("ICMP port unreachable from 203.0.113.1, though natdiag "
                                    "listens on this port here"));
  CHECK(out[2].state == State::kFiltered);
  CHECK(out[3].state == State::kFiltered);
  CHECK(out[3].evidence ==
        "ICMP administratively prohibited from 203.0.113.1: a firewall rejects it");
  CHECK(out[4].state == State::kFiltered);
  CHECK(out[4].evidence ==
        "ICMP host unreachable from 198.51.100.254: the probe did not reach the port");
  CHECK(out[5].state == State::kFiltered);  // an older serve: no type, the text says it
  CHECK(out[5].evidence.find("though natdiag listens") != std::string::npos);
  CHECK(out[6].state == State::kFiltered);
  CHECK(out[7].state == State::kUntested);
  CHECK(out[7].evidence ==
        "natdiag serve could not send the probe: the probe could not be sent "
        "from this host: Operation not permitted");
  CHECK(out[9].state == State::kFiltered);
  CHECK(out[9].evidence == "no probe arrived in 2 rounds");

  const auto server = *TransportAddress::parse("203.0.113.10");
  const TcpResult prohibited{TcpResult::Kind::kUnreachable,
                             "ICMP administratively prohibited from 203.0.113.1"};
  CHECK(via_tcp_outcome(80, false, &prohibited, server).state == State::kFiltered);
  const TcpResult not_sent{TcpResult::Kind::kNotSent, "Network is unreachable"};
  CHECK(via_tcp_outcome(80, false, &not_sent, server).state == State::kUntested);
  const TcpResult refused{TcpResult::Kind::kRefused, "connection refused (TCP RST)"};
  CHECK(via_tcp_outcome(80, false, &refused, server).state == State::kFiltered);
  CHECK(via_tcp_outcome(80, false, &refused, server).evidence.find("though natdiag listens") !=
        std::string::npos);
  CHECK(via_tcp_outcome(80, true, &refused, server).state == State::kOpen);
  CHECK(tcp_kind_from_name(tcp_kind_name(TcpResult::Kind::kNotSent)) == TcpResult::Kind::kNotSent);
}

TEST_CASE("ports: untested ports are neither open nor advice") {
  PortsReport r;
  r.mode = "probe";
  r.udp.tested.add(5000, 5009);
  r.udp.ranges = {{{5000, 5004}, State::kOpen, "echo", ""},
                  {{5005, 5009}, State::kUntested, "the probe could not be sent", ""}};
  CHECK_FALSE(all_open(r));
  CHECK_FALSE(any_problem(r));
  CHECK(advice_lines(r).empty());
  CHECK(verdict_line(r) ==
        "Not every port could be tested: UDP 5000-5004 open, 5005-5009 untested (5 ports)");
  nlohmann::ordered_json j;
  report_to_json(r, j);
  CHECK(j["verdict"] == "untested");
  CHECK(j["udp"]["counts"]["untested"] == 5);
  r.udp.ranges.push_back({{5010, 5010}, State::kFiltered, "silence", ""});
  report_to_json(r, j);
  CHECK(j["verdict"] == "not-open");
}

TEST_CASE("ports: a send the kernel refuses here is untested, the rest still probed (loopback)") {
  // UDP to port 0 fails in the kernel at once (EINVAL): nothing leaves. A free loopback port
  // then answers with a real ICMP port unreachable from the target itself.
  auto probe = net::UdpSocket::bind(*TransportAddress::parse("127.0.0.1:0"));
  const auto free_port = probe.local_address().port;
  probe = net::UdpSocket::bind(*TransportAddress::parse("127.0.0.1:0"));  // frees free_port
  const auto target = *TransportAddress::parse("127.0.0.1");
  UdpProber prober(target, random_key(), random_session(), 1000);
  const auto deadline = stun::Clock::now() + 2s;
  CHECK(prober.send_round({0, free_port}, 1, deadline) == 1);
  prober.drain_until(stun::Clock::now() + 200ms);
  REQUIRE(prober.untested().contains(0));
  CHECK(prober.untested().at(0).detail ==
        "the probe could not be sent from this host: Invalid argument");
  CHECK_FALSE(prober.icmp().contains(0));
  // A port the round never reached (the deadline came first) is untested, not filtered.
  CHECK(prober.send_round({static_cast<std::uint16_t>(free_port ^ 1)}, 2, stun::Clock::now()) == 0);
  prober.mark_unsent({free_port, static_cast<std::uint16_t>(free_port ^ 1)});
  CHECK_FALSE(prober.untested().contains(free_port));
  REQUIRE(prober.untested().contains(static_cast<std::uint16_t>(free_port ^ 1)));
  CHECK(prober.untested().at(static_cast<std::uint16_t>(free_port ^ 1)).detail ==
        "no probe was sent before the time ran out");
  if (prober.icmp().contains(free_port)) {  // unless a neighbour took the port meanwhile
    const auto& reply = prober.icmp().at(free_port);
    CHECK(reply.icmp.has_value());
    CHECK(reply.detail == "ICMP port unreachable");
    PortSet tested;
    tested.add(free_port, free_port);
    ProbeRun run;
    run.target = target;
    run.udp_icmp = prober.icmp();
    CHECK(udp_outcomes(tested, run).at(0).state == State::kClosed);
  }
}

TEST_CASE("profile --via: untested ranges are a warning, never a port to open or forward") {
  cli::ProfileFacts f;
  f.behind_nat = true;
  f.local_ipv4 = "10.77.0.10";
  f.ports_measured = {{"ipv4", "udp", 50000, 50004, "open"},
                      {"ipv4", "udp", 50005, 50009, "untested"}};
  const auto findings = cli::port_findings(f, {"livekit"});
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].id == "ports-untested");
  CHECK(findings[0].severity == "warning");
  CHECK(findings[0].message.starts_with("IPv4 UDP 50005-50009: natdiag serve could not send"));
  const auto fw = cli::measured_firewall_advice(f);
  REQUIRE(fw.has_value());
  CHECK(fw->lines.empty());
}
