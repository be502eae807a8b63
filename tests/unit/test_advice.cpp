// The profile verdict, findings and media-server advice from facts, without the network.
#include <doctest/doctest.h>

#include <algorithm>

#include "src/profile/advice.hpp"
#include "src/cli_common.hpp"
#include "src/profile/media_ports.hpp"
#include "src/profile/profile_facts.hpp"

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

TEST_CASE("advice: a STUN server that refuses UDP itself is not a blocked path; silence or a refusal on the way is") {
  auto f = cone_without_hairpin();
  f.udp = false;
  f.mapping = "unknown";
  f.filtering = "unknown";
  f.udp_error = "refused-by-server";
  auto findings = evaluate(f, kAll);
  CHECK_FALSE(has(findings, "udp-blocked"));
  CHECK(has(findings, "stun-no-udp"));
  CHECK(verdict_of(findings) != "broken");
  f.udp_error = "refused-on-path";
  findings = evaluate(f, kAll);
  REQUIRE(has(findings, "udp-blocked"));
  CHECK(findings.front().message.find("rejected on the way") != std::string::npos);
  CHECK(verdict_of(findings) == "broken");
  f.udp_error = "timeout";
  CHECK(evaluate(f, kAll).front().id == "udp-blocked");
  f.udp_error = "other";
  CHECK_FALSE(has(evaluate(f, kAll), "udp-blocked"));
  // The kind survives a saved profile and is validated when read back.
  f.udp_error = "refused-by-server";
  nlohmann::ordered_json out{{"schema", "natdiag/1"}, {"command", "profile"}};
  facts_to_json(f, out);
  CHECK(facts_from_json(nlohmann::json::parse(out.dump())).udp_error == "refused-by-server");
  out["facts"]["udp_error"] = "blocked";
  CHECK_THROWS_AS((void)facts_from_json(nlohmann::json::parse(out.dump())), UsageError);
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

namespace {

const Finding* find(const std::vector<Finding>& findings, const std::string& id) {
  for (const auto& f : findings) {
    if (f.id == id) return &f;
  }
  return nullptr;
}

std::string all_text(const std::vector<Finding>& findings, const std::map<std::string, Advice>& advice) {
  std::string out;
  for (const auto& f : findings) out += f.message + "\n" + f.fix + "\n";
  for (const auto& [name, a] : advice) {
    out += a.file + "\n" + a.note + "\n";
    for (const auto& l : a.lines) out += l + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("advice: a filtering finding only for a measured filtering behaviour (issue 10 defect 11)") {
  auto f = cone_without_hairpin();
  REQUIRE(has(evaluate(f, kAll), "filtering"));
  CHECK(find(evaluate(f, kAll), "filtering")->message.find("address-and-port-dependent") != std::string::npos);
  for (const char* unknown : {"unknown", "endpoint-independent", "direct"}) {
    CAPTURE(unknown);
    f.filtering = unknown;
    const auto findings = evaluate(f, kAll);
    CHECK_FALSE(has(findings, "filtering"));
    CHECK(all_text(findings, {}).find("lets in only answers") == std::string::npos);
  }
  f.filtering = "unknown";
  f.udp = false;  // UDP blocked: nothing about filtering at all
  CHECK(all_text(evaluate(f, kAll), {}).find("filtering") == std::string::npos);
}

TEST_CASE("advice: --external-ip that is not the measured public address gets no dummy-NIC command (issue 10 defect 9)") {
  auto f = cone_without_hairpin();
  f.hairpin_target = "203.0.113.10";     // the STUN server's own address
  f.dummy_nic_commands.clear();          // hairpin gives no plan for it
  const auto findings = evaluate(f, kAll);
  REQUIRE_FALSE(findings.empty());
  CHECK(findings.front().id == "external-ip-not-public");
  CHECK(findings.front().message.find("203.0.113.1") != std::string::npos);
  CHECK_FALSE(has(findings, "hairpin-missing"));
  const auto advice = advise(f, kAll);
  CHECK(advice.count("dummy_nic") == 0);
  const auto text = all_text(findings, advice);
  CHECK(text.find("ip addr add 203.0.113.10") == std::string::npos);
  CHECK(text.find("externalIPv4=203.0.113.1") != std::string::npos);  // the measured address
  // The same address as measured: the ordinary advice.
  f.hairpin_target = "203.0.113.1";
  f.dummy_nic_commands = {"ip addr add 203.0.113.1/32 dev lo"};
  CHECK(has(evaluate(f, kAll), "hairpin-missing"));
  CHECK_FALSE(has(evaluate(f, kAll), "external-ip-not-public"));
}

TEST_CASE("advice: a global IPv6 address on the host is public unless a test shows otherwise") {
  auto f = cone_without_hairpin();
  CHECK(has(evaluate(f, kAll), "no-ipv6"));
  f.host_ipv6 = "2001:db8:2::10";
  f.public_ipv6 = f.host_ipv6;
  auto findings = evaluate(f, kAll);
  CHECK_FALSE(has(findings, "no-ipv6"));
  REQUIRE(has(findings, "ipv6-untested"));
  CHECK(find(findings, "ipv6-untested")->message.find("2001:db8:2::10") != std::string::npos);
  f.ipv6_udp = true;
  f.ipv6_behind_nat = false;
  findings = evaluate(f, kAll);
  CHECK_FALSE(has(findings, "ipv6-untested"));
  CHECK_FALSE(has(findings, "no-ipv6"));
  f.ipv6_udp = false;
  f.public_ipv6.reset();
  findings = evaluate(f, kAll);
  REQUIRE(has(findings, "ipv6-unreachable"));
  CHECK(find(findings, "ipv6-unreachable")->severity == "warning");
}

TEST_CASE("advice: the BigBlueButton block has the guide's NAT steps with the measured values") {
  auto f = cone_without_hairpin();
  f.hostname = "bbb.example.org";
  f.hostname_resolves_to_public = false;
  const auto advice = advise(f, {"bigbluebutton"});
  const auto& lines = advice.at("bigbluebutton").lines;
  CHECK(contains(lines, "external_rtp_ip=203.0.113.1"));
  CHECK(contains(lines, "external_sip_ip=203.0.113.1"));
  CHECK(contains(lines, "value=\"$${external_rtp_ip}\""));
  CHECK(contains(lines, "s/10.77.0.10:/203.0.113.1:/g' /usr/share/bigbluebutton/nginx/sip.nginx"));
  CHECK(contains(lines, "announcedIp: 203.0.113.1"));
  CHECK(contains(lines, "echo '203.0.113.1 bbb.example.org' >> /etc/hosts"));
  CHECK(contains(lines, "ip addr add 203.0.113.1/32 dev lo"));
  CHECK(contains(lines, "ufw allow 16384:32768/udp"));
  CHECK(lines.back() == "bbb-conf --restart");
  // Never an address natdiag did not measure: every IPv4 literal is the public, the local or 0.0.0.0.
  for (const auto& line : lines) {
    for (std::size_t at = 0; (at = line.find_first_of("0123456789", at)) != std::string::npos;) {
      auto end = line.find_first_not_of("0123456789.", at);
      const auto token = line.substr(at, end == std::string::npos ? std::string::npos : end - at);
      if (std::count(token.begin(), token.end(), '.') == 3) {
        CAPTURE(line);
        CHECK((token == "203.0.113.1" || token == "10.77.0.10" || token == "0.0.0.0"));
      }
      at = end == std::string::npos ? line.size() : end;
    }
  }
  const auto bbb_findings = evaluate(f, {"bigbluebutton"});
  const auto* behind = find(bbb_findings, "behind-nat");
  REQUIRE(behind);
  CHECK(behind->fix.find("bigbluebutton advice") != std::string::npos);
  CHECK(behind->fix.find("external_rtp_ip") != std::string::npos);
}

TEST_CASE("advice: /etc/hosts only when needed, the first matching line named, never 'IP IP'") {
  auto f = cone_without_hairpin();
  f.hostname = "bbb.example.org";
  f.hostname_resolves_to_public = true;
  CHECK(advise(f, kAll).count("etc_hosts") == 0);
  CHECK_FALSE(contains(advise(f, kAll).at("bigbluebutton").lines, "/etc/hosts"));
  // /etc/hosts maps it elsewhere on line 3: change that line, do not append.
  f.hostname_resolves_to_public = false;
  f.etc_hosts_line = 3;
  f.etc_hosts_ip = "10.77.0.10";
  auto advice = advise(f, kAll);
  CHECK(advice.at("etc_hosts").file == "/etc/hosts, line 3");
  CHECK(advice.at("etc_hosts").lines == std::vector<std::string>{"203.0.113.1 bbb.example.org"});
  CHECK(advice.at("etc_hosts").note.find("first matching line wins") != std::string::npos);
  CHECK_FALSE(contains(advice.at("bigbluebutton").lines, ">> /etc/hosts"));
  CHECK(contains(advice.at("bigbluebutton").lines, "line 3 maps bbb.example.org to 10.77.0.10"));
  CHECK(find(evaluate(f, kAll), "hostname-not-public")->message.find("Line 3") != std::string::npos);
  // A host name that is an IP: nothing for /etc/hosts.
  f.hostname = "203.0.113.1";
  f.etc_hosts_line.reset();
  f.etc_hosts_ip.reset();
  advice = advise(f, kAll);
  CHECK(advice.count("etc_hosts") == 0);
  CHECK(all_text(evaluate(f, kAll), advice).find("203.0.113.1 203.0.113.1") == std::string::npos);
  f.hostname = "198.51.100.7";
  CHECK(has(evaluate(f, kAll), "hostname-is-ip"));
  CHECK(all_text(evaluate(f, kAll), advise(f, kAll)).find("198.51.100.7' >>") == std::string::npos);
}

TEST_CASE("advice: coturn and LiveKit on one host get UDP ranges that do not overlap, and why") {
  const auto f = cone_without_hairpin();
  const auto advice = advise(f, {"coturn", "livekit"});
  CHECK(contains(advice.at("livekit").lines, "port_range_start: 50000"));
  CHECK(contains(advice.at("livekit").lines, "port_range_end: 60000"));
  const auto& coturn = advice.at("coturn").lines;
  auto value = [&](const std::string& key) {
    for (const auto& l : coturn) {
      if (l.rfind(key, 0) == 0) return std::stoi(l.substr(key.size()));
    }
    return -1;
  };
  const int lo = value("min-port=");
  const int hi = value("max-port=");
  CHECK(lo >= 10000);
  CHECK(hi >= lo);
  CHECK((hi < 50000 || lo > 60000));
  CHECK(advice.at("coturn").note.find("overlaps LiveKit's 50000-60000") != std::string::npos);
  const auto clash_findings = evaluate(f, {"coturn", "livekit"});
  const auto* why = find(clash_findings, "port-ranges");
  REQUIRE(why);
  CHECK(why->message.find("49152-65535") != std::string::npos);
  CHECK(contains(advice.at("firewall").lines, "ufw allow " + std::to_string(lo) + ":" + std::to_string(hi) + "/udp"));
  CHECK_FALSE(contains(advice.at("firewall").lines, "49152:65535"));
  // Alone, coturn keeps its default.
  CHECK(contains(advise(f, {"coturn"}).at("coturn").lines, "min-port=49152"));
  CHECK_FALSE(has(evaluate(f, {"coturn"}), "port-ranges"));
  // Without --for (every server, as alternatives) each keeps its default and nothing moves.
  CHECK(contains(advise(f, kAll).at("coturn").lines, "min-port=49152"));
  CHECK(contains(advise(f, kAll).at("janus").lines, "rtp_port_range = \"20000-40000\""));
  CHECK_FALSE(has(evaluate(f, kAll), "port-ranges"));
}

TEST_CASE("media ports: one table; every plan is free of overlaps between installations") {
  REQUIRE(find_media_server_ports("livekit"));
  CHECK(find_media_server_ports("livekit")->media == PortRange{50000, 60000});
  CHECK(find_media_server_ports("coturn")->media == PortRange{49152, 65535});
  CHECK(find_media_server_ports("nginx") == nullptr);
  const auto plan = plan_media_ranges(kAll);
  for (const auto& a : plan) {
    for (const auto& b : plan) {
      if (a.name == b.name) continue;
      const auto* ma = find_media_server_ports(a.name);
      const auto* mb = find_media_server_ports(b.name);
      CAPTURE(a.name);
      CAPTURE(b.name);
      if (ma->installation == mb->installation) {
        CHECK(a.range == b.range);  // BigBlueButton's FreeSWITCH, plugNmeet's LiveKit
      } else {
        CHECK_FALSE(a.range.overlaps(b.range));
      }
    }
  }
  CHECK(*range_of(plan, "bigbluebutton") == PortRange{16384, 32768});
  CHECK(*range_of(plan, "livekit") == PortRange{50000, 60000});
}

TEST_CASE("advice: an unprivileged run says TCP 443/80 hairpin could not be tested") {
  auto f = cone_without_hairpin();
  f.hairpin_untested = {"TCP 443", "TCP 80"};
  const auto untested = evaluate(f, kAll);
  const auto* u = find(untested, "hairpin-untested");
  REQUIRE(u);
  CHECK(u->message.find("TCP 443, TCP 80 could not be tested") != std::string::npos);
  CHECK(u->fix.find("as root") != std::string::npos);
  CHECK_FALSE(has(evaluate(cone_without_hairpin(), kAll), "hairpin-untested"));
}

TEST_CASE("advice: when nothing could be measured, that comes first and there is no placeholder advice") {
  ProfileFacts f;
  f.udp = false;
  f.tcp = false;
  f.stun_error = "connection refused";
  const auto findings = evaluate(f, kAll);
  REQUIRE(findings.size() == 1);
  CHECK(findings.front().message.rfind("Nothing could be measured", 0) == 0);
  CHECK(advise(f, kAll).empty());
  CHECK(all_text(findings, advise(f, kAll)).find('<') == std::string::npos);
  // Measured, but without a Kurento STUN IP: no placeholder line either.
  auto g = cone_without_hairpin();
  g.stun_server_ip.reset();
  const auto advice = advise(g, kAll);
  CHECK(all_text(evaluate(g, kAll), advice).find('<') == all_text(evaluate(g, kAll), advice).find("<X-PRE-PROCESS"));
  CHECK_FALSE(contains(advice.at("kurento").lines, "stunServerAddress"));
}

TEST_CASE("advice: two servers that cannot tell AD from APD mapping still warn of a symmetric NAT (issue 10 defect 4)") {
  auto f = cone_without_hairpin();
  f.mapping = "unknown";
  f.mapping_candidates = {"address-dependent", "address-and-port-dependent"};
  auto findings = evaluate(f, {"livekit"});
  REQUIRE(has(findings, "symmetric-nat"));
  const auto it = std::find_if(findings.begin(), findings.end(), [](const Finding& x) { return x.id == "symmetric-nat"; });
  CHECK(it->message.find("address-dependent or address-and-port-dependent") != std::string::npos);
  CHECK_FALSE(has(findings, "nat-unknown"));
  // Nothing measured about the mapping: no symmetric claim, the unknown is named instead.
  f.mapping_candidates.clear();
  findings = evaluate(f, {"livekit"});
  CHECK_FALSE(has(findings, "symmetric-nat"));
  CHECK(has(findings, "nat-unknown"));
  // One candidate that is endpoint-independent: not symmetric.
  f.mapping_candidates = {"endpoint-independent", "address-dependent"};
  CHECK_FALSE(has(evaluate(f, {"livekit"}), "symmetric-nat"));
}

TEST_CASE("advice: profile --via's measured ports: what did not get through, who needs it, the forward to the measured host") {
  const std::vector<std::string> livekit{"livekit"};
  auto f = cone_without_hairpin();
  f.ports_measured = {{"ipv4", "tcp", 80, 80, "open"},           {"ipv4", "tcp", 443, 443, "open"},
                      {"ipv4", "tcp", 7881, 7881, "open"},       {"ipv4", "udp", 50000, 54999, "open"},
                      {"ipv4", "udp", 55000, 60000, "filtered"}, {"ipv6", "udp", 50000, 60000, "open"}};
  const auto findings = evaluate(f, livekit);
  const Finding* closed = find(findings, "ports-not-open");
  REQUIRE(closed != nullptr);
  CHECK(closed->severity == "critical");
  CHECK(closed->message == "From outside over IPv4, UDP 55000-60000 is filtered (5,001 ports): livekit needs it: "
                           "clients fall back to TCP 7881 or TURN.");
  CHECK(closed->fix.find("Forward UDP 55000-60000 to 10.77.0.10 on the router") == 0);
  CHECK_FALSE(has(findings, "ports-open"));
  // The forward was measured: no "forward the media ports" guess from the filtering behaviour.
  CHECK_FALSE(has(findings, "filtering"));
  const auto fw = advise(f, livekit).at("firewall");
  CHECK(fw.lines == std::vector<std::string>{"ufw allow 55000:60000/udp",
                                             "nft add rule inet filter input udp dport 55000-60000 accept",
                                             "on the router: forward UDP 55000-60000 to 10.77.0.10"});

  // Everything open: an info finding, and no firewall lines to add.
  for (auto& r : f.ports_measured) r.state = "open";
  const auto open = evaluate(f, livekit);
  CHECK_FALSE(has(open, "ports-not-open"));
  REQUIRE(find(open, "ports-open") != nullptr);
  CHECK(find(open, "ports-open")->message.find("IPv4 UDP 50000-54999") != std::string::npos);
  CHECK(advise(f, livekit).count("firewall") == 0);

  // The check could not run: a warning, and the documented firewall lines stay.
  auto failed = cone_without_hairpin();
  failed.ports_error = "unreachable";
  const auto w = evaluate(failed, livekit);
  REQUIRE(find(w, "ports-untested") != nullptr);
  CHECK(find(w, "ports-untested")->severity == "warning");
  CHECK(contains(advise(failed, livekit).at("firewall").lines, "ufw allow 50000:60000/udp"));

  // No NAT (or IPv6): open it in the firewalls, no router forward.
  auto v6 = cone_without_hairpin();
  v6.ports_measured = {{"ipv6", "tcp", 7881, 7881, "closed"}};
  const auto v6f = evaluate(v6, livekit);
  REQUIRE(find(v6f, "ports-not-open") != nullptr);
  CHECK(find(v6f, "ports-not-open")->fix.find("Open TCP 7881 in the firewalls on the way") == 0);
  CHECK_FALSE(contains(advise(v6, livekit).at("firewall").lines, "on the router"));
}

TEST_CASE("advice: measured ports survive the saved profile; a bad entry is refused naming it") {
  auto f = cone_without_hairpin();
  f.ports_measured = {{"ipv4", "udp", 55000, 60000, "filtered"}, {"ipv6", "tcp", 443, 443, "in-use"}};
  auto j = json_header("profile");
  facts_to_json(f, j);
  const auto back = facts_from_json(nlohmann::json(j));
  CHECK(back.ports_measured == f.ports_measured);
  CHECK_FALSE(back.ports_error.has_value());
  for (const auto& bad : {nlohmann::json{{"family", "ipv5"}, {"protocol", "udp"}, {"first", 1}, {"last", 2}, {"state", "open"}},
                          nlohmann::json{{"family", "ipv4"}, {"protocol", "udp"}, {"first", 9}, {"last", 2}, {"state", "open"}},
                          nlohmann::json{{"family", "ipv4"}, {"protocol", "udp"}, {"first", 0}, {"last", 2}, {"state", "open"}},
                          nlohmann::json{{"family", "ipv4"}, {"protocol", "sctp"}, {"first", 1}, {"last", 2}, {"state", "open"}},
                          nlohmann::json{{"family", "ipv4"}, {"protocol", "udp"}, {"first", 1}, {"last", 2}, {"state", "ajar"}}}) {
    CAPTURE(bad.dump());
    auto copy = nlohmann::json(j);
    copy["facts"]["ports_measured"] = nlohmann::json::array({bad});
    CHECK_THROWS_AS(facts_from_json(copy), UsageError);
  }
}

TEST_CASE("advice: a STUN server inside the NAT gives no public address and no address advice") {
  auto f = cone_without_hairpin();
  f.public_ipv4.reset();
  f.behind_nat.reset();
  f.hairpin.reset();
  f.external_ip.reset();
  f.network_stack.reset();
  f.dummy_nic_commands.clear();
  f.mapped_private = "192.168.1.10";
  f.stun_server_ip = "192.168.1.2";
  const auto findings = evaluate(f, kAll);
  REQUIRE(has(findings, "stun-server-inside"));
  CHECK(verdict_of(findings) != "ok");
  const auto advice = advise(f, kAll);
  CHECK(advice.empty());
  CHECK(all_text(findings, advice).find("externalIPv4=192.168.1.10") == std::string::npos);
  // A saved profile cannot smuggle a private public_ipv4 past advise --from.
  ProfileFacts saved = cone_without_hairpin();
  saved.public_ipv4 = "192.168.1.10";
  auto j = json_header("profile");
  facts_to_json(saved, j);
  CHECK_THROWS_WITH_AS(facts_from_json(nlohmann::json(j)),
                       doctest::Contains("facts.public_ipv4 192.168.1.10 is a private address"),
                       UsageError);
}

TEST_CASE("advice: Kurento and Janus name a STUN server only when it answered over UDP") {
  auto f = cone_without_hairpin();
  f.udp = false;  // TCP only: the server's UDP side is not known to answer
  auto advice = advise(f, {"kurento", "janus"});
  CHECK_FALSE(contains(advice["kurento"].lines, "stunServerAddress="));
  CHECK_FALSE(contains(advice["janus"].lines, "stun_server ="));
  f.udp = true;
  advice = advise(f, {"kurento", "janus"});
  CHECK(contains(advice["kurento"].lines, "stunServerAddress=203.0.113.10"));
  CHECK(contains(advice["janus"].lines, "stun_server = \"203.0.113.10\""));
}

TEST_CASE("advice: an IPv6 --external-ip is compared with the public IPv6, not the IPv4") {
  auto f = cone_without_hairpin();
  f.public_ipv6 = "2001:db8::10";
  f.hairpin_target = "2001:db8::10";
  CHECK_FALSE(has(evaluate(f, kAll), "external-ip-not-public"));
  f.hairpin_target = "2001:db8::99";
  CHECK(has(evaluate(f, kAll), "external-ip-not-public"));
}

TEST_CASE("advice: nat-unknown says why per kind; a recheck that disagreed never blames OTHER-ADDRESS") {
  auto f = cone_without_hairpin();
  f.mapping = "unknown";
  f.mapping_candidates = {"endpoint-independent", "address-dependent"};
  f.mapping_unknown = "recheck-disagrees";
  auto nat_unknown = [](const ProfileFacts& facts) {
    const auto findings = evaluate(facts, kAll);
    const auto it = std::find_if(findings.begin(), findings.end(), [](const Finding& x) { return x.id == "nat-unknown"; });
    REQUIRE(it != findings.end());
    return *it;
  };
  const auto recheck = nat_unknown(f);
  CHECK(recheck.message.find("OTHER-ADDRESS") == std::string::npos);
  CHECK(recheck.message.find("second, fresh socket") != std::string::npos);
  CHECK(recheck.fix.find("natdiag serve") == std::string::npos);
  f.mapping_unknown = "servers-share-ip";
  CHECK(nat_unknown(f).message.find("share one IP") != std::string::npos);
  f.mapping_unknown = "alternate-silent";
  CHECK(nat_unknown(f).message.find("alternate address") != std::string::npos);
  f.mapping_unknown = "time-ran-out";
  CHECK(nat_unknown(f).fix.find("--timeout") != std::string::npos);
  f.mapping_unknown = "no-other-address";
  CHECK(nat_unknown(f).message.find("OTHER-ADDRESS") != std::string::npos);
  // The kind survives a saved profile and is validated when read back.
  nlohmann::ordered_json out{{"schema", "natdiag/1"}, {"command", "profile"}};
  facts_to_json(f, out);
  CHECK(facts_from_json(nlohmann::json::parse(out.dump())).mapping_unknown == "no-other-address");
  out["facts"]["mapping_unknown"] = "because";
  CHECK_THROWS_AS((void)facts_from_json(nlohmann::json::parse(out.dump())), UsageError);
}
