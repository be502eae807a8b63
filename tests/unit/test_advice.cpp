// The profile verdict, findings and media-server advice from facts, without the network.
#include <doctest/doctest.h>

#include <algorithm>

#include "src/advice.hpp"
#include "src/cli_common.hpp"
#include "src/profile_facts.hpp"

using namespace natdiag::cli;

namespace {

const std::vector<std::string> kAll(std::begin(kMediaServers), std::end(kMediaServers));

// The lab's media server: cone NAT, forwards, no hairpin.
ProfileFacts cone_without_hairpin() {
  ProfileFacts f;
  f.public_ipv4 = "203.0.113.1";
  f.local_ipv4 = "10.77.0.10";
  f.behind_nat = true;
  f.mapping = "endpoint-independent";
  f.filtering = "address-and-port-dependent";
  f.udp = true;
  f.tcp = true;
  f.hairpin = "not-supported";
  f.dummy_nic_present = false;
  f.external_ip = "203.0.113.1";
  f.network_stack = "unknown";
  f.dummy_nic_commands = dummy_nic_commands_for(*natdiag::stun::TransportAddress::parse("203.0.113.1"),
                                                natdiag::hairpin::NetworkStack::kUnknown);
  f.stun_server_ip = "203.0.113.10";
  return f;
}

bool has(const std::vector<Finding>& findings, const std::string& id) {
  return std::any_of(findings.begin(), findings.end(), [&](const Finding& f) { return f.id == id; });
}

bool contains(const std::vector<std::string>& lines, const std::string& needle) {
  return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(needle) != std::string::npos; });
}

}  // namespace

TEST_CASE("advice: cone NAT without hairpin needs config, with the dummy-NIC fix") {
  const auto f = cone_without_hairpin();
  const auto findings = evaluate(f, kAll);
  CHECK(verdict_of(findings) == "needs-config");
  CHECK(has(findings, "hairpin-missing"));
  CHECK(has(findings, "behind-nat"));
  CHECK_FALSE(has(findings, "symmetric-nat"));
  const auto advice = advise(f, kAll);
  const auto& kurento = advice.at("kurento");
  CHECK(kurento.file == "/etc/kurento/modules/kurento/WebRtcEndpoint.conf.ini");
  CHECK(contains(kurento.lines, "externalIPv4=203.0.113.1"));
  CHECK(contains(kurento.lines, "stunServerAddress=203.0.113.10"));
  CHECK(contains(kurento.lines, "stunServerPort=3478"));
  const auto& livekit = advice.at("livekit");
  CHECK(contains(livekit.lines, "node_ip: 203.0.113.1"));
  CHECK(contains(livekit.lines, "use_external_ip"));
  CHECK(contains(livekit.lines, "port_range_start: 50000"));
  CHECK(contains(livekit.lines, "port_range_end: 60000"));
  CHECK(contains(livekit.lines, "tcp_port: 7881"));
  CHECK(contains(advice.at("freeswitch").lines, "external_rtp_ip=203.0.113.1"));
  CHECK(contains(advice.at("freeswitch").lines, "ext-sip-ip"));
  CHECK(contains(advice.at("jitsi").lines, "NAT_HARVESTER_LOCAL_ADDRESS=10.77.0.10"));
  CHECK(contains(advice.at("jitsi").lines, "NAT_HARVESTER_PUBLIC_ADDRESS=203.0.113.1"));
  CHECK(contains(advice.at("janus").lines, "nat_1_1_mapping = \"203.0.113.1\""));
  CHECK(contains(advice.at("coturn").lines, "external-ip=203.0.113.1/10.77.0.10"));
  CHECK(contains(advice.at("bigbluebutton").lines, "ip addr add 203.0.113.1/32 dev lo"));
  CHECK(contains(advice.at("bigbluebutton").lines, "bbb-conf --restart"));
  CHECK(advice.at("dummy_nic").lines == f.dummy_nic_commands);
}

TEST_CASE("advice: hairpin on means no dummy-NIC finding or advice") {
  auto f = cone_without_hairpin();
  f.hairpin = "supported";
  const auto findings = evaluate(f, kAll);
  CHECK_FALSE(has(findings, "hairpin-missing"));
  CHECK(advise(f, kAll).count("dummy_nic") == 0);
  f.hairpin = "not-supported";
  f.dummy_nic_present = true;  // already added: nothing to fix
  CHECK_FALSE(has(evaluate(f, kAll), "hairpin-missing"));
}

TEST_CASE("advice: symmetric NAT says peers will need TURN") {
  auto f = cone_without_hairpin();
  f.mapping = "address-and-port-dependent";
  const auto findings = evaluate(f, kAll);
  REQUIRE(has(findings, "symmetric-nat"));
  const auto it = std::find_if(findings.begin(), findings.end(), [](const Finding& x) { return x.id == "symmetric-nat"; });
  CHECK(it->message.find("will need TURN") != std::string::npos);
}

TEST_CASE("advice: UDP blocked is broken, and the UDP finding comes first") {
  auto f = cone_without_hairpin();
  f.udp = false;
  f.mapping = "unknown";
  f.filtering = "unknown";
  const auto findings = evaluate(f, kAll);
  CHECK(verdict_of(findings) == "broken");
  REQUIRE_FALSE(findings.empty());
  CHECK(findings.front().id == "udp-blocked");
}

TEST_CASE("advice: a public host with hairpin is ok") {
  ProfileFacts f;
  f.public_ipv4 = "198.51.100.10";
  f.public_ipv6 = "2001:db8:2::10";
  f.local_ipv4 = "198.51.100.10";
  f.behind_nat = false;
  f.mapping = "direct";
  f.filtering = "direct";
  f.udp = true;
  f.tcp = true;
  f.hairpin = "supported";
  CHECK(verdict_of(evaluate(f, kAll)) == "ok");
}

TEST_CASE("advice: firewall lines cover the chosen servers' ports, in ufw and nftables") {
  const auto f = cone_without_hairpin();
  const auto fw = advise(f, {"livekit"}).at("firewall");
  CHECK(contains(fw.lines, "ufw allow 80,443,7881/tcp"));
  CHECK(contains(fw.lines, "ufw allow 50000:60000/udp"));
  CHECK(contains(fw.lines, "udp dport { 50000-60000 } accept"));
  const auto bbb = advise(f, {"bigbluebutton"}).at("firewall");
  CHECK(contains(bbb.lines, "ufw allow 16384:32768/udp"));
  CHECK(advise(f, {"livekit"}).count("kurento") == 0);  // only what was asked for
}

TEST_CASE("advice: facts survive a JSON round trip; other JSON is refused with a clear line") {
  auto f = cone_without_hairpin();
  f.hostname = "bbb.example.org";
  f.hostname_resolves_to_public = false;
  auto j = json_header("profile");
  facts_to_json(f, j);
  const auto back = facts_from_json(nlohmann::json(j));
  CHECK(back.public_ipv4 == f.public_ipv4);
  CHECK(back.mapping == f.mapping);
  CHECK(back.dummy_nic_commands == f.dummy_nic_commands);
  CHECK(back.hostname == f.hostname);
  CHECK(advise(back, kAll).at("etc_hosts").lines == std::vector<std::string>{"203.0.113.1 bbb.example.org"});
  CHECK_THROWS_AS(facts_from_json(nlohmann::json{{"schema", "natdiag/1"}, {"command", "stun"}}), UsageError);
  j["facts"]["public_ipv4"] = "not-an-ip";
  CHECK_THROWS_AS(facts_from_json(nlohmann::json(j)), UsageError);
  j["facts"]["public_ipv4"] = 42;
  CHECK_THROWS_AS(facts_from_json(nlohmann::json(j)), UsageError);
}

TEST_CASE("advice: no STUN answer is broken, says why, and with the default servers points at --server") {
  ProfileFacts f;
  f.udp = false;
  f.tcp = false;
  f.stun_error = "cannot resolve stun.l.google.com: Name or service not known";
  f.default_servers = true;
  auto findings = evaluate(f, kAll);
  CHECK(verdict_of(findings) == "broken");
  REQUIRE(findings.front().id == "stun-unreachable");
  CHECK(findings.front().message.find("Name or service not known") != std::string::npos);
  CHECK(findings.front().fix.find("--server") != std::string::npos);
  CHECK(findings.front().fix.find("natdiag serve") != std::string::npos);
  // The same facts read back from a saved profile give the same finding (advise --from).
  auto j = json_header("profile");
  facts_to_json(f, j);
  const auto back = facts_from_json(nlohmann::json(j));
  CHECK(evaluate(back, kAll).front().message == findings.front().message);
  CHECK(evaluate(back, kAll).front().fix == findings.front().fix);
}
