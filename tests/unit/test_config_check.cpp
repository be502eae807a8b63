// config check's per-server checkers on realistic files (tests/data/config): right values give
// no finding, each wrong value its finding on its line, and the fixes give a clean re-check.
#include <doctest/doctest.h>

#include "src/config_run.hpp"
#include "src/profile/config/port_overlap.hpp"
#include "tests/unit/config_test_helpers.hpp"

using namespace natdiag::test;

namespace {

// Checks `text`, applies every fix, checks again: nothing above info may remain.
void fixes_are_clean(const std::string& server, const std::string& name, const std::string& text,
                     const ConfigFacts& facts) {
  const auto before = check_text(server, name, text, facts);
  const auto after = check_text(server, name, fixed_text(server, name, text, before), facts);
  CHECK_MESSAGE(serious(after) == 0,
                server << " " << name << ": " << (after.empty() ? "" : after.front().id));
}

ConfigFacts no_nat() {
  auto f = lab_facts();
  f.profile.behind_nat = false;
  f.profile.local_ipv4 = f.profile.public_ipv4;
  return f;
}

}  // namespace

TEST_CASE("janus: Debian's janus.jcfg behind NAT announces only the private address") {
  const auto text = data_file("config/janus/janus.jcfg");
  const auto findings = check_text("janus", "janus.jcfg", text, lab_facts());
  REQUIRE(findings.size() == 1);
  const auto& f = findings.front();
  CHECK(f.id == "janus-private-only");
  CHECK(f.severity == "critical");
  CHECK(f.setting == "nat.nat_1_1_mapping");
  CHECK(f.line == line_of(text, "#nat_1_1_mapping = \"1.2.3.4\""));
  CHECK(f.expected == "203.0.113.1");
  CHECK_FALSE(f.current);
  fixes_are_clean("janus", "janus.jcfg", text, lab_facts());
  // Without NAT, or with the mapping right, nothing is wrong.
  CHECK(check_text("janus", "janus.jcfg", text, no_nat()).empty());
  CHECK(
      check_text("janus", "janus.jcfg",
                 with(text, "#nat_1_1_mapping = \"1.2.3.4\"", "nat_1_1_mapping = \"203.0.113.1\""),
                 lab_facts())
          .empty());
}

TEST_CASE("janus: old public IP, private IP, STUN that does not answer, ignore list, port range") {
  const auto text = data_file("config/janus/janus.jcfg");
  const auto facts = lab_facts();
  const auto stale =
      with(text, "#nat_1_1_mapping = \"1.2.3.4\"", "nat_1_1_mapping = \"198.51.100.77\"");
  const auto s = check_text("janus", "janus.jcfg", stale, facts);
  REQUIRE(find_id(s, "janus-nat-1-1-mapping-stale"));
  CHECK(find_id(s, "janus-nat-1-1-mapping-stale")->line ==
        line_of(stale, "nat_1_1_mapping = \"198.51.100.77\""));
  fixes_are_clean("janus", "janus.jcfg", stale, facts);
  const auto priv =
      with(text, "#nat_1_1_mapping = \"1.2.3.4\"", "nat_1_1_mapping = \"10.77.0.10\"");
  REQUIRE(find_id(check_text("janus", "janus.jcfg", priv, facts), "janus-nat-1-1-mapping-private"));
  // A STUN server natdiag asked and that did not answer: Janus would not even start.
  auto asked = facts;
  asked.stun_answers["198.51.100.9:3478"] = false;
  const auto stun =
      with(text, "#stun_server = \"stun.voip.eutelia.it\"", "stun_server = \"198.51.100.9\"");
  const auto st = check_text("janus", "janus.jcfg", stun, asked);
  REQUIRE(find_id(st, "janus-stun-unanswered"));
  CHECK(find_id(st, "janus-stun-unanswered")->line ==
        line_of(stun, "stun_server = \"198.51.100.9\""));
  CHECK(find_id(st, "janus-stun-unanswered")->expected == "203.0.113.10");
  CHECK(find_id(st, "janus-private-only"));  // and so nothing gives it the public address
  fixes_are_clean("janus", "janus.jcfg", stun, asked);
  // The measured STUN server that answers: srflx gives the public address, no finding.
  const auto good_stun =
      with(text, "#stun_server = \"stun.voip.eutelia.it\"", "stun_server = \"203.0.113.10\"");
  CHECK(serious(check_text("janus", "janus.jcfg", good_stun, facts)) == 0);
  const auto ignore =
      with(text, "ice_ignore_list = \"vmnet\"", "ice_ignore_list = \"vmnet,10.77.\"");
  REQUIRE(find_id(check_text("janus", "janus.jcfg", ignore, no_nat()), "janus-ice-ignore-local") ==
          nullptr);
  auto nat_with_mapping =
      with(ignore, "#nat_1_1_mapping = \"1.2.3.4\"", "nat_1_1_mapping = \"203.0.113.1\"");
  CHECK(find_id(check_text("janus", "janus.jcfg", nat_with_mapping, facts),
                "janus-ice-ignore-local"));
  auto ports = facts;
  ports.udp_ports = {{{20000, 29999}, "open"}, {{30000, 40000}, "filtered"}};
  const auto range = with(nat_with_mapping, "#rtp_port_range = \"20000-40000\"",
                          "rtp_port_range = \"20000-40000\"");
  const auto r = check_text("janus", "janus.jcfg", range, ports);
  REQUIRE(find_id(r, "janus-rtp-port-range-not-open"));
  CHECK(find_id(r, "janus-rtp-port-range-not-open")->why.find("30000-40000 filtered") !=
        std::string::npos);
}

TEST_CASE("janus: ICE Lite behind NAT") {
  const auto text =
      with(with(data_file("config/janus/janus.jcfg"), "#ice_lite = true", "ice_lite = true"),
           "#nat_1_1_mapping = \"1.2.3.4\"", "nat_1_1_mapping = \"203.0.113.1\"");
  const auto findings = check_text("janus", "janus.jcfg", text, lab_facts());
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].id == "janus-ice-lite-behind-nat");
  CHECK(findings[0].line == line_of(text, "\tice_lite = true"));
  fixes_are_clean("janus", "janus.jcfg", text, lab_facts());
  // On a public address (no NAT) ICE Lite is what it is meant for.
  CHECK(check_text("janus", "janus.jcfg", text, no_nat()).empty());
}

TEST_CASE("janus: without a measured public address the finding names no value and has no edit") {
  auto facts = lab_facts();
  facts.profile.public_ipv4.reset();
  const auto findings =
      check_text("janus", "janus.jcfg", data_file("config/janus/janus.jcfg"), facts);
  REQUIRE(find_id(findings, "janus-private-only"));
  CHECK_FALSE(find_id(findings, "janus-private-only")->expected);
  CHECK(find_id(findings, "janus-private-only")->edits.empty());
}

TEST_CASE("kurento: defaults behind NAT, a hostname as STUN server, old and private external IPs") {
  const auto text = data_file("config/kurento/WebRtcEndpoint.conf.ini");
  const auto facts = lab_facts();
  const auto d = check_text("kurento", "WebRtcEndpoint.conf.ini", text, facts);
  REQUIRE(d.size() == 1);
  CHECK(d[0].id == "kurento-private-only");
  CHECK(d[0].line == line_of(text, ";externalIPv4=198.51.100.1"));
  fixes_are_clean("kurento", "WebRtcEndpoint.conf.ini", text, facts);
  CHECK(check_text("kurento", "WebRtcEndpoint.conf.ini", text, no_nat()).empty());
  const auto host =
      with(text, ";stunServerAddress=198.51.100.1", "stunServerAddress=stun.example.org");
  const auto h = check_text("kurento", "WebRtcEndpoint.conf.ini", host, facts);
  REQUIRE(find_id(h, "kurento-stun-hostname"));
  CHECK(find_id(h, "kurento-stun-hostname")->line ==
        line_of(host, "stunServerAddress=stun.example.org"));
  CHECK(find_id(h, "kurento-stun-hostname")->expected == "203.0.113.10");
  fixes_are_clean("kurento", "WebRtcEndpoint.conf.ini", host, facts);
  const auto old = with(text, ";externalIPv4=198.51.100.1", "externalIPv4=198.51.100.1");
  const auto o = check_text("kurento", "WebRtcEndpoint.conf.ini", old, facts);
  REQUIRE(o.size() == 1);
  CHECK(o[0].id == "kurento-external-ipv4-stale");
  CHECK(o[0].current == "198.51.100.1");
  CHECK(o[0].expected == "203.0.113.1");
  fixes_are_clean("kurento", "WebRtcEndpoint.conf.ini", old, facts);
  const auto priv = with(text, ";externalIPv4=198.51.100.1", "externalIPv4=10.77.0.10");
  CHECK(find_id(check_text("kurento", "WebRtcEndpoint.conf.ini", priv, facts),
                "kurento-external-ipv4-private"));
  const auto right = with(with(text, ";externalIPv4=198.51.100.1", "externalIPv4=203.0.113.1"),
                          ";stunServerAddress=198.51.100.1", "stunServerAddress=203.0.113.10");
  CHECK(check_text("kurento", "WebRtcEndpoint.conf.ini", right, facts).empty());
}

TEST_CASE("kurento: externalIPv6 against the measured public IPv6, never an untested one") {
  const auto text =
      with(data_file("config/kurento/WebRtcEndpoint.conf.ini"),
           ";externalIPv6=2001:0db8:85a3:0000:0000:8a2e:0370:7334", "externalIPv6=2001:db8::2");
  auto facts = lab_facts();
  facts.profile.host_ipv6 = "2001:db8::1";
  facts.profile.public_ipv6 = "2001:db8::1";  // the first global address on an interface
  SUBCASE("no IPv6 STUN server asked: 2001:db8::2 may be another of this host's addresses") {
    const auto f = check_text("kurento", "WebRtcEndpoint.conf.ini", text, facts);
    CHECK_FALSE(find_id(f, "kurento-external-ipv6-stale"));
    for (const auto& x : f) {
      if (x.id.starts_with("kurento-external-ipv6")) CHECK_MESSAGE(x.edits.empty(), x.id);
    }
  }
  SUBCASE("an IPv6 STUN server saw 2001:db8::1: the old address is stale, the fix measured") {
    facts.profile.ipv6_udp = true;
    const auto f = check_text("kurento", "WebRtcEndpoint.conf.ini", text, facts);
    REQUIRE(find_id(f, "kurento-external-ipv6-stale"));
    CHECK(find_id(f, "kurento-external-ipv6-stale")->expected == "2001:db8::1");
    fixes_are_clean("kurento", "WebRtcEndpoint.conf.ini", text, facts);
  }
}

TEST_CASE("kurento: a STUN server that does not answer, or refuses classic STUN; the port range") {
  const auto text = data_file("config/kurento/WebRtcEndpoint.conf.ini");
  auto facts = lab_facts();
  facts.stun_answers["198.51.100.1:3478"] = false;
  const auto dead = with(text, ";stunServerAddress=198.51.100.1", "stunServerAddress=198.51.100.1");
  const auto d = check_text("kurento", "WebRtcEndpoint.conf.ini", dead, facts);
  REQUIRE(find_id(d, "kurento-stun-unanswered"));
  CHECK(find_id(d, "kurento-stun-unanswered")->line ==
        line_of(dead, "stunServerAddress=198.51.100.1"));
  fixes_are_clean("kurento", "WebRtcEndpoint.conf.ini", dead, facts);
  auto classic = lab_facts();
  classic.profile.stun_rfc3489 = false;
  const auto nc = with(text, ";stunServerAddress=198.51.100.1", "stunServerAddress=203.0.113.10");
  CHECK(find_id(check_text("kurento", "WebRtcEndpoint.conf.ini", nc, classic),
                "kurento-stun-no-classic"));
  const auto base = data_file("config/kurento/BaseRtpEndpoint.conf.ini");
  const auto ranged =
      with(with(base, ";minPort=5000", "minPort=40000"), ";maxPort=65535", "maxPort=40999");
  auto ports = lab_facts();
  ports.udp_ports = {{{40000, 40499}, "open"}, {{40500, 40999}, "closed"}};
  const auto r = check_text("kurento", "BaseRtpEndpoint.conf.ini", ranged, ports);
  REQUIRE(find_id(r, "kurento-port-range-not-open"));
  CHECK(find_id(r, "kurento-port-range-not-open")->line == line_of(ranged, "minPort=40000"));
  ports.udp_ports = {{{40000, 40999}, "open"}};
  CHECK(check_text("kurento", "BaseRtpEndpoint.conf.ini", ranged, ports).empty());
}

TEST_CASE("livekit: no node_ip behind NAT, an old node_ip, closed ports; plugNmeet's copy") {
  const auto text = data_file("config/livekit/livekit.yaml");
  const auto facts = lab_facts();
  const auto d = check_text("livekit", "livekit.yaml", text, facts);
  REQUIRE(d.size() == 1);
  CHECK(d[0].id == "livekit-private-only");
  CHECK(d[0].line == line_of(text, "rtc:"));
  fixes_are_clean("livekit", "livekit.yaml", text, facts);
  CHECK(check_text("livekit", "livekit.yaml", text, no_nat()).empty());
  const auto old =
      with(text, "  use_external_ip: false", "  use_external_ip: false\n  node_ip: 198.51.100.23");
  const auto o = check_text("livekit", "livekit.yaml", old, facts);
  REQUIRE(o.size() == 1);
  CHECK(o[0].id == "livekit-node-ip-stale");
  CHECK(o[0].line == line_of(old, "node_ip: 198.51.100.23"));
  fixes_are_clean("livekit", "livekit.yaml", old, facts);
  auto ports = lab_facts();
  ports.udp_ports = {{{50000, 60000}, "filtered"}};
  ports.tcp_ports = {{{7881, 7881}, "closed"}};
  const auto p = check_text("livekit", "livekit.yaml", old, ports);
  CHECK(find_id(p, "livekit-port-range-not-open")->line == line_of(old, "port_range_start: 50000"));
  CHECK(find_id(p, "livekit-tcp-port-not-open")->line == line_of(old, "tcp_port: 7881"));
  // plugNmeet uses use_external_ip: LiveKit asks STUN itself; nothing natdiag can fault.
  const auto plug = data_file("config/plugnmeet/livekit.yaml");
  const auto pl = check_text("plugnmeet", "livekit.yaml", plug, facts);
  CHECK(serious(pl) == 0);
  auto stun = facts;
  stun.stun_answers["stun.example.org:3478"] = false;
  const auto with_stun =
      with(plug, "  use_external_ip: true",
           "  use_external_ip: true\n  stun_servers:\n    - stun.example.org:3478");
  const auto ps = check_text("plugnmeet", "livekit.yaml", with_stun, stun);
  REQUIRE(find_id(ps, "livekit-stun-unanswered"));
  CHECK(find_id(ps, "livekit-stun-unanswered")->server == "plugnmeet");
  CHECK(find_id(ps, "livekit-stun-unanswered")->line ==
        line_of(with_stun, "- stun.example.org:3478"));
}

TEST_CASE("coturn: Debian's turnserver.conf behind NAT has no external-ip; wrong forms of it") {
  const auto text = data_file("turnserver-debian12.conf");
  const auto facts = lab_facts();
  const auto d = check_text("coturn", "turnserver.conf", text, facts);
  REQUIRE(find_id(d, "coturn-external-ip-missing"));
  const auto& f = *find_id(d, "coturn-external-ip-missing");
  CHECK(f.severity == "critical");
  CHECK(f.expected == "203.0.113.1/10.77.0.10");
  CHECK(f.line == line_of(text, "#external-ip=60.70.80.92/172.17.19.102"));
  fixes_are_clean("coturn", "turnserver.conf", text, facts);
  CHECK(serious(check_text("coturn", "turnserver.conf", text, no_nat())) == 0);
  const auto old = text + "external-ip=198.51.100.4/10.77.0.10\n";
  const auto o = check_text("coturn", "turnserver.conf", old, facts);
  REQUIRE(find_id(o, "coturn-external-ip-stale"));
  CHECK(find_id(o, "coturn-external-ip-stale")->expected == "203.0.113.1/10.77.0.10");
  fixes_are_clean("coturn", "turnserver.conf", old, facts);
  const auto wrong_private = text + "external-ip=203.0.113.1/10.77.0.99\n";
  CHECK(find_id(check_text("coturn", "turnserver.conf", wrong_private, facts),
                "coturn-external-ip-private-mismatch"));
  fixes_are_clean("coturn", "turnserver.conf", wrong_private, facts);
  const auto relay =
      text +
      "external-ip=203.0.113.1/10.77.0.10\nrelay-ip=203.0.113.1\nmin-port=49152\nmax-port=65535\n";
  auto ports = facts;
  ports.udp_ports = {{{49152, 59999}, "open"}, {{60000, 65535}, "filtered"}};
  const auto r = check_text("coturn", "turnserver.conf", relay, ports);
  CHECK(find_id(r, "coturn-relay-ip-not-local"));
  CHECK(find_id(r, "coturn-relay-range-not-open"));
  CHECK(find_id(r, "coturn-relay-range-not-open")->line == line_of(relay, "\nmin-port=49152") + 1);
}

TEST_CASE("bigbluebutton: bbb-webrtc-sfu announces the public address, or the private one") {
  const auto prod = data_file("config/bigbluebutton/production.yml");
  const auto facts = lab_facts();
  CHECK(check_text("bigbluebutton", "production.yml", prod, facts).empty());
  const auto old =
      with(prod, "        announcedIp: 203.0.113.1", "        announcedIp: 198.51.100.30");
  const auto o = check_text("bigbluebutton", "production.yml", old, facts);
  REQUIRE(o.size() == 1);
  CHECK(o[0].id == "bbb-sfu-announced-ip-stale");
  CHECK(o[0].line == line_of(old, "announcedIp: 198.51.100.30"));
  fixes_are_clean("bigbluebutton", "production.yml", old, facts);
  const auto missing = with(prod, "        announcedIp: 203.0.113.1\n", "");
  const auto m = check_text("bigbluebutton", "production.yml", missing, facts);
  REQUIRE(find_id(m, "bbb-sfu-announced-ip-missing"));
  fixes_are_clean("bigbluebutton", "production.yml", missing, facts);
  const auto def = data_file("config/bigbluebutton/default.yml");
  const auto df = check_text("bigbluebutton", "default.yml", def, facts);
  CHECK(find_id(df, "bbb-sfu-announced-ip-missing"));
  CHECK(find_id(df, "bbb-sfu-plainrtp-announced-ip-missing"));
  fixes_are_clean("bigbluebutton", "default.yml", def, facts);
  // production.yml overrides default.yml: default.yml's empty announcedIp is not what runs.
  const auto* pk = natdiag::profile::config::kind_for("bigbluebutton", "production.yml");
  const auto* dk = natdiag::profile::config::kind_for("bigbluebutton", "default.yml");
  const auto pp = natdiag::profile::config::parse_config("production.yml", "yaml", prod);
  const auto dp = natdiag::profile::config::parse_config("default.yml", "yaml", def);
  auto both = natdiag::profile::config::check_file(dp, *dk, facts);
  natdiag::profile::config::drop_overridden(both, {{pk, &pp}, {dk, &dp}});
  CHECK(both.empty());
  const auto fs_old = with(prod, "  ip: 127.0.0.1", "  ip: 198.51.100.30");
  CHECK(find_id(check_text("bigbluebutton", "production.yml", fs_old, facts),
                "bbb-sfu-freeswitch-ip-stale"));
}

TEST_CASE("a setting written but empty is changed in place, never written twice") {
  const auto facts = lab_facts();
  const auto janus = with(data_file("config/janus/janus.jcfg"), "#nat_1_1_mapping = \"1.2.3.4\"",
                          "nat_1_1_mapping = \"\"");
  const auto j = check_text("janus", "janus.jcfg", janus, facts);
  REQUIRE(find_id(j, "janus-private-only"));
  CHECK(find_id(j, "janus-private-only")->current == "");
  REQUIRE(find_id(j, "janus-private-only")->edits.size() == 1);
  CHECK(find_id(j, "janus-private-only")->edits[0].text == "\tnat_1_1_mapping = \"203.0.113.1\"");
  fixes_are_clean("janus", "janus.jcfg", janus, facts);
  const auto kurento = with(data_file("config/kurento/WebRtcEndpoint.conf.ini"),
                            ";externalIPv4=198.51.100.1", "externalIPv4=");
  fixes_are_clean("kurento", "WebRtcEndpoint.conf.ini", kurento, facts);
  const auto livekit = with(data_file("config/livekit/livekit.yaml"), "  use_external_ip: false",
                            "  use_external_ip: false\n  node_ip:");
  const auto l = check_text("livekit", "livekit.yaml", livekit, facts);
  REQUIRE(find_id(l, "livekit-private-only"));
  CHECK(find_id(l, "livekit-private-only")->edits[0].kind ==
        natdiag::profile::config::LineEdit::Kind::replace);
  fixes_are_clean("livekit", "livekit.yaml", livekit, facts);
}

TEST_CASE("a syntax error is one critical finding with the parser's line and message") {
  const auto findings =
      check_text("janus", "janus.jcfg", "nat: {\n  nat_1_1_mapping = \"1.2.3.4\n}\n", lab_facts());
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].id == "config-syntax-error");
  CHECK(findings[0].severity == "critical");
  CHECK(findings[0].line >= 2);
  CHECK(findings[0].why.find("cannot read") != std::string::npos);
}

TEST_CASE("profile: config findings join its own by severity, its order kept") {
  using natdiag::cli::Finding;
  std::vector<Finding> findings = {{"a", "critical", "", ""},
                                   {"b", "warning", "", ""},
                                   {"c", "info", "", ""},
                                   {"d", "warning", "", ""}};
  natdiag::cli::merge_by_severity(
      findings, {{"x", "critical", "", ""}, {"y", "critical", "", ""}, {"z", "info", "", ""}});
  std::string order;
  for (const auto& f : findings) order += f.id;
  CHECK(order == "axybcdz");
}

TEST_CASE("servers on one host whose UDP ranges overlap, as their files set them") {
  using namespace natdiag::profile::config;
  const auto* lk = kind_for("livekit", "livekit.yaml");
  const auto* ct = kind_for("coturn", "turnserver.conf");
  const auto* jn = kind_for("janus", "janus.jcfg");
  const auto livekit =
      parse_config("livekit.yaml", "yaml", data_file("config/livekit/livekit.yaml"));
  const auto coturn =
      parse_config("turnserver.conf", "coturn", data_file("turnserver-debian12.conf"));
  const auto janus_text =
      with(data_file("config/janus/janus.jcfg"), "#rtp_port_range = \"20000-40000\"",
           "rtp_port_range = \"55000-56000\"");
  const auto janus = parse_config("janus.jcfg", "libconfig", janus_text);
  const auto overlaps = check_range_overlaps({{lk, &livekit}, {ct, &coturn}, {jn, &janus}});
  // coturn's default with LiveKit's; Janus' range with both.
  REQUIRE(overlaps.size() == 3);
  CHECK(overlaps[0].server == "coturn");
  CHECK(overlaps[0].line == 0);  // coturn's default: no line sets it
  CHECK(overlaps[1].server == "janus");
  CHECK(overlaps[1].line == line_of(janus_text, "rtp_port_range = \"55000-56000\""));
  CHECK(overlaps[2].why.find("coturn's UDP range 49152-65535") != std::string::npos);
  const auto coturn_own =
      parse_config("turnserver.conf", "coturn",
                   data_file("turnserver-debian12.conf") + "min-port=40000\nmax-port=49999\n");
  CHECK(check_range_overlaps({{lk, &livekit}, {ct, &coturn_own}}).empty());
  // plugNmeet runs LiveKit: one installation, one range.
  const auto* pn = kind_for("plugnmeet", "livekit.yaml");
  const auto plug =
      parse_config("livekit.yaml", "yaml", data_file("config/plugnmeet/livekit.yaml"));
  CHECK(check_range_overlaps({{lk, &livekit}, {pn, &plug}}).empty());
}

TEST_CASE("FreeSWITCH's RTP range and the videobridge's port take part in the overlap check") {
  using namespace natdiag::profile::config;
  const auto* fs = kind_for("freeswitch", "switch.conf.xml");
  const auto* bbb_fs = kind_for("bigbluebutton", "switch.conf.xml");
  const auto* sfu = kind_for("bigbluebutton", "default.yml");
  const auto* jvb = kind_for("jitsi", "jvb.conf");
  const auto* ct = kind_for("coturn", "turnserver.conf");
  REQUIRE((fs && bbb_fs && sfu && jvb && ct));
  const auto stock_fs = data_file("config/freeswitch/autoload_configs/switch.conf.xml");
  const auto sfu_file =
      parse_config("default.yml", "yaml", data_file("config/bigbluebutton/default.yml"));
  SUBCASE("BigBlueButton: FreeSWITCH's stock 16384-32768 under mediasoup's 24577-32768") {
    const auto freeswitch = parse_config("switch.conf.xml", "xml", stock_fs);
    const auto overlaps = check_range_overlaps({{sfu, &sfu_file}, {bbb_fs, &freeswitch}});
    REQUIRE_MESSAGE(overlaps.size() == 1, ids(overlaps));
    CHECK(overlaps[0].id == "port-ranges-overlap");
    CHECK(overlaps[0].line == line_of(stock_fs, "rtp-start-port"));
    CHECK(overlaps[0].why.find("24577-32768") != std::string::npos);
    // bbb-install's split: 16384-24576 for FreeSWITCH.
    const auto split = parse_config("switch.conf.xml", "xml",
                                    with(stock_fs, "name=\"rtp-end-port\" value=\"32768\"",
                                         "name=\"rtp-end-port\" value=\"24576\""));
    CHECK(check_range_overlaps({{sfu, &sfu_file}, {bbb_fs, &split}}).empty());
  }
  SUBCASE("FreeSWITCH without the params uses its default range") {
    const auto bare =
        parse_config("switch.conf.xml", "xml",
                     "<configuration name=\"switch.conf\"><settings></settings></configuration>\n");
    const auto overlaps = check_range_overlaps({{sfu, &sfu_file}, {fs, &bare}});
    REQUIRE_MESSAGE(overlaps.size() == 1, ids(overlaps));
    CHECK(overlaps[0].line == 0);
    CHECK(overlaps[0].why.find("16384-32768 (its default") != std::string::npos);
  }
  SUBCASE("the videobridge's one port inside coturn's relay range; its default 10000") {
    const auto coturn =
        parse_config("turnserver.conf", "coturn",
                     data_file("turnserver-debian12.conf") + "min-port=9000\nmax-port=19999\n");
    const auto jvb_text = data_file("config/jitsi/jvb.conf");
    const auto bridge = parse_config("jvb.conf", "hocon", jvb_text);
    auto overlaps = check_range_overlaps({{ct, &coturn}, {jvb, &bridge}});
    REQUIRE_MESSAGE(overlaps.size() == 1, ids(overlaps));
    CHECK(overlaps[0].server == "jitsi");
    CHECK(overlaps[0].current == "10000");
    CHECK(overlaps[0].why.find("jitsi's UDP port 10000 (videobridge.ice.udp.port in") == 0);
    const auto unset = parse_config("jvb.conf", "hocon", with(jvb_text, "port = 10000", ""));
    overlaps = check_range_overlaps({{ct, &coturn}, {jvb, &unset}});
    REQUIRE_MESSAGE(overlaps.size() == 1, ids(overlaps));
    CHECK(overlaps[0].line == 0);
    const auto moved =
        parse_config("jvb.conf", "hocon", with(jvb_text, "port = 10000", "port = 20000"));
    CHECK(check_range_overlaps({{ct, &coturn}, {jvb, &moved}}).empty());
  }
}
