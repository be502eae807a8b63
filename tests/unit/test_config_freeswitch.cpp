// FreeSWITCH's configuration against the measured facts: stock files, BigBlueButton's copy,
// each wrong value with its finding at the right file:line, and the edits that fix them.
#include <doctest/doctest.h>

#include "src/profile/config/xml_config.hpp"
#include "src/profile/servers/freeswitch_config.hpp"
#include "tests/unit/config_test_helpers.hpp"

using namespace natdiag::profile;
using namespace natdiag::test;
using config::parse_xml;

namespace {

const std::string kVars = "/etc/freeswitch/vars.xml";
const std::string kExternal = "/etc/freeswitch/sip_profiles/external.xml";
const std::string kSwitch = "/etc/freeswitch/autoload_configs/switch.conf.xml";
const std::string kBbbVars = "/opt/freeswitch/conf/vars.xml";
const std::string kBbbExternal = "/opt/freeswitch/conf/sip_profiles/external.xml";

// Applies the findings' edits to `file` and checks it again: nothing is left.
void fixed_is_clean(const config::ParsedFile& file,
                    const std::vector<config::ConfigFinding>& findings,
                    const natdiag::cli::ProfileFacts& facts) {
  const auto again = parse_xml(file.path, apply_edits(file, findings));
  REQUIRE_FALSE(again.error);
  const auto left = check_freeswitch(again, facts);
  CHECK_MESSAGE(left.empty(), ids(left));
}

}  // namespace

TEST_CASE("freeswitch: BigBlueButton's files after the guide's NAT steps give no finding") {
  const auto facts = lab_profile_facts();
  const auto vars = parse_xml(kBbbVars, read_config("bigbluebutton/vars.xml"));
  const auto external = parse_xml(kBbbExternal, read_config("bigbluebutton/external.xml"));
  const auto sw = parse_xml(kSwitch, read_config("freeswitch/autoload_configs/switch.conf.xml"));
  CHECK(check_freeswitch(vars, facts).empty());
  CHECK(check_freeswitch(external, facts).empty());
  CHECK(check_freeswitch(external, vars, facts).empty());
  CHECK(check_freeswitch(sw, facts).empty());
  // Stock internal.xml takes both addresses from vars.xml: checked there, not twice.
  const auto internal =
      parse_xml("internal.xml", read_config("freeswitch/sip_profiles/internal.xml"));
  CHECK(check_freeswitch(internal, vars, facts).empty());
}

TEST_CASE("freeswitch: stock vars.xml asks stun.freeswitch.org, which natdiag did not ask") {
  const auto facts = lab_profile_facts();
  const auto text = read_config("freeswitch/vars.xml");
  const auto vars = parse_xml(kVars, text);
  const auto findings = check_freeswitch(vars, facts);
  REQUIRE_MESSAGE(findings.size() == 2, ids(findings));
  for (const auto& f : findings) {
    CHECK(f.id == "freeswitch-stun-not-asked");
    CHECK(f.severity == "info");
    CHECK(f.server == "freeswitch");
    CHECK(f.file == kVars);
    CHECK(f.current == "stun:stun.freeswitch.org");
    CHECK(f.why.find("203.0.113.10:3478") != std::string::npos);  // the server that answered
    CHECK(f.why.find("natdiag stun stun.freeswitch.org 3478") != std::string::npos);
    // Nothing measured says stun.freeswitch.org fails: no value to write, no edit in --diff.
    CHECK_FALSE(f.expected);
    CHECK(f.edits.empty());
  }
  CHECK(findings[0].line == line_of(text, "data=\"external_rtp_ip="));
  CHECK(findings[1].line == line_of(text, "data=\"external_sip_ip="));
}

TEST_CASE("freeswitch: a stun: server is judged by what was measured") {
  auto facts = lab_profile_facts();
  const auto text = read_config("bigbluebutton/vars.xml");
  const auto with = [&](const std::string& value) {
    return parse_xml(kBbbVars,
                     replaced(text, "external_rtp_ip=203.0.113.1", "external_rtp_ip=" + value));
  };
  CHECK(check_freeswitch(with("stun:203.0.113.10"), facts).empty());  // it answered (3478)
  CHECK(check_freeswitch(with("stun:203.0.113.10:3478"), facts).empty());
  const auto other_port = check_freeswitch(with("stun:203.0.113.10:19302"), facts);
  REQUIRE(other_port.size() == 1);
  CHECK(other_port[0].id == "freeswitch-stun-not-asked");
  CHECK(other_port[0].server == "bigbluebutton");  // /opt/freeswitch: BigBlueButton's FreeSWITCH

  SUBCASE("no STUN server answered from here: a warning, and no address to write") {
    const auto none =
        check_freeswitch(with("stun:stun.freeswitch.org"), unmeasured_profile_facts());
    const auto* f = find_id(none, "freeswitch-stun-none-answered");
    REQUIRE(f);
    CHECK(f->severity == "warning");
    CHECK(f->line == line_of(text, "external_rtp_ip="));
    CHECK_FALSE(f->expected);
    CHECK(f->edits.empty());
    CHECK(f->why.find("no answer within 2 s") != std::string::npos);
  }
}

TEST_CASE("freeswitch: an old public IP, a private IP, auto, local_ip_v4 in vars.xml") {
  const auto facts = lab_profile_facts();
  const auto text = read_config("bigbluebutton/vars.xml");
  const int line = line_of(text, "external_rtp_ip=");
  struct Case {
    std::string value;
    std::string id;
    std::string severity;
  };
  for (const Case& c : {Case{"198.51.100.7", "freeswitch-external-ip-stale", "critical"},
                        Case{"10.77.0.10", "freeswitch-external-ip-private", "critical"},
                        Case{"192.168.1.20", "freeswitch-external-ip-private", "critical"},
                        Case{"auto", "freeswitch-external-ip-private", "critical"},
                        Case{"$${local_ip_v4}", "freeswitch-external-ip-private", "critical"}}) {
    CAPTURE(c.value);
    const auto vars = parse_xml(
        kBbbVars, replaced(text, "external_rtp_ip=203.0.113.1", "external_rtp_ip=" + c.value));
    const auto findings = check_freeswitch(vars, facts);
    REQUIRE_MESSAGE(findings.size() == 1, ids(findings));
    const auto& f = findings[0];
    CHECK(f.id == c.id);
    CHECK(f.severity == c.severity);
    CHECK(f.file == kBbbVars);
    CHECK(f.line == line);
    CHECK(f.setting == "external_rtp_ip");
    CHECK(f.current == c.value);
    CHECK(f.expected == "203.0.113.1");
    check_edits_keep_layout(vars, f);
    fixed_is_clean(vars, findings, facts);
  }
}

TEST_CASE("freeswitch: advice names no address natdiag did not measure") {
  auto facts = lab_profile_facts();
  facts.public_ipv4.reset();  // behind NAT, but no public address measured
  const auto vars = parse_xml(
      kBbbVars, replaced(read_config("bigbluebutton/vars.xml"), "=203.0.113.1", "=10.77.0.10"));
  const auto findings = check_freeswitch(vars, facts);
  REQUIRE(findings.size() == 2);
  for (const auto& f : findings) {
    CHECK(f.id == "freeswitch-external-ip-private");
    CHECK_FALSE(f.expected);
    CHECK(f.edits.empty());
  }
  // Not behind NAT (a public host): its own address is right, and auto-nat is harmless.
  facts = lab_profile_facts();
  facts.behind_nat = false;
  facts.local_ipv4 = "203.0.113.1";
  CHECK(check_freeswitch(parse_xml(kExternal, read_config("freeswitch/sip_profiles/external.xml")),
                         facts)
            .empty());
}

TEST_CASE("freeswitch: stock external.xml's auto-nat needs UPnP that natdiag saw no sign of") {
  const auto facts = lab_profile_facts();
  const auto text = read_config("freeswitch/sip_profiles/external.xml");
  const auto external = parse_xml(kExternal, text);
  const auto findings = check_freeswitch(external, facts);
  REQUIRE_MESSAGE(findings.size() == 2, ids(findings));
  CHECK(findings[0].id == "freeswitch-auto-nat");
  CHECK(findings[0].severity == "warning");
  CHECK(findings[0].setting == "settings.param.ext-rtp-ip");
  CHECK(findings[0].line == line_of(text, "\"ext-rtp-ip\""));
  CHECK(findings[1].line == line_of(text, "\"ext-sip-ip\""));
  CHECK(findings[0].edits[0].text == "    <param name=\"ext-rtp-ip\" value=\"203.0.113.1\"/>");
  fixed_is_clean(external, findings, facts);
}

TEST_CASE("freeswitch: a SIP profile's $${variable} is reported where vars.xml sets it") {
  const auto facts = lab_profile_facts();
  const auto vars_text = replaced(read_config("bigbluebutton/vars.xml"),
                                  "  <X-PRE-PROCESS cmd=\"set\" data=\"unroll_loops",
                                  "  <X-PRE-PROCESS cmd=\"set\" data=\"announce_ip=10.77.0.10\"/>\n"
                                  "  <X-PRE-PROCESS cmd=\"set\" data=\"unroll_loops");
  const auto vars = parse_xml(kBbbVars, vars_text);
  const auto profile = parse_xml(kBbbExternal, replaced(read_config("bigbluebutton/external.xml"),
                                                        "$${external_rtp_ip}", "$${announce_ip}"));
  CHECK(check_freeswitch(profile, facts).empty());  // alone: the variable is not known
  const auto findings = check_freeswitch(profile, vars, facts);
  REQUIRE_MESSAGE(findings.size() == 1, ids(findings));
  CHECK(findings[0].id == "freeswitch-external-ip-private");
  CHECK(findings[0].file == kBbbVars);
  CHECK(findings[0].line == line_of(vars_text, "announce_ip="));
  CHECK(findings[0].setting == "announce_ip");
  const auto fixed = parse_xml(kBbbVars, apply_edits(vars, findings));
  CHECK(check_freeswitch(profile, fixed, facts).empty());
}

TEST_CASE("freeswitch: a commented-out X-PRE-PROCESS line still counts, and the last set wins") {
  const auto facts = lab_profile_facts();
  const auto text = replaced(
      read_config("bigbluebutton/vars.xml"), "  <X-PRE-PROCESS cmd=\"set\" data=\"unroll_loops",
      "  <!-- <X-PRE-PROCESS cmd=\"set\" data=\"external_rtp_ip=10.77.0.10\"/> -->\n"
      "  <X-PRE-PROCESS cmd=\"set\" data=\"unroll_loops");
  const auto vars = parse_xml(kBbbVars, text);
  const auto findings = check_freeswitch(vars, facts);
  REQUIRE_MESSAGE(findings.size() == 1, ids(findings));
  CHECK(findings[0].line == line_of(text, "<!-- <X-PRE-PROCESS"));
  CHECK(findings[0].why.find("inside an XML comment") != std::string::npos);
  fixed_is_clean(vars, findings, facts);
  // An old value set first and overridden below changes nothing: no finding.
  const auto overridden = replaced(
      read_config("bigbluebutton/vars.xml"), "  <X-PRE-PROCESS cmd=\"set\" data=\"external_rtp_ip",
      "  <X-PRE-PROCESS cmd=\"set\" data=\"external_rtp_ip=198.51.100.7\"/>\n"
      "  <X-PRE-PROCESS cmd=\"set\" data=\"external_rtp_ip");
  const auto twice = parse_xml(kBbbVars, overridden);
  CHECK(twice.find_all("external_rtp_ip").size() == 2);
  CHECK(check_freeswitch(twice, facts).empty());
}

TEST_CASE("freeswitch: binding the public address that is not on this host") {
  const auto facts = lab_profile_facts();
  const auto text =
      replaced(read_config("freeswitch/sip_profiles/internal.xml"),
               "\"rtp-ip\" value=\"$${local_ip_v4}\"", "\"rtp-ip\" value=\"203.0.113.1\"");
  const auto profile = parse_xml("internal.xml", text);
  const auto findings = check_freeswitch(profile, facts);
  REQUIRE_MESSAGE(findings.size() == 1, ids(findings));
  CHECK(findings[0].id == "freeswitch-bind-ip-not-local");
  CHECK(findings[0].line == line_of(text, "\"rtp-ip\""));
  CHECK(findings[0].expected == "10.77.0.10");
  fixed_is_clean(profile, findings, facts);
  auto with_nic = facts;
  with_nic.dummy_nic_present = true;  // the dummy NIC carries it: FreeSWITCH can bind it
  CHECK(check_freeswitch(profile, with_nic).empty());
}

TEST_CASE("freeswitch: an RTP range outside the one the firewall advice opens") {
  const auto facts = lab_profile_facts();
  const auto text = read_config("freeswitch/autoload_configs/switch.conf.xml");
  const auto sw = parse_xml(kSwitch, replaced(replaced(text, "value=\"16384\"", "value=\"10000\""),
                                              "value=\"32768\"", "value=\"20000\""));
  const auto findings = check_freeswitch(sw, facts);
  REQUIRE_MESSAGE(findings.size() == 2, ids(findings));
  CHECK(findings[0].id == "freeswitch-rtp-range-outside-firewall");
  CHECK(findings[0].severity == "info");  // the firewall was not measured
  CHECK(findings[0].line == line_of(text, "rtp-start-port"));
  CHECK(findings[0].expected == "16384");
  CHECK(findings[1].line == line_of(text, "rtp-end-port"));
  CHECK(findings[1].expected == "32768");
  CHECK(findings[0].why.find("10000-20000") != std::string::npos);
  fixed_is_clean(sw, findings, facts);
  // BigBlueButton's FreeSWITCH share (16384-24576) is inside: fine.
  CHECK(check_freeswitch(parse_xml(kSwitch, replaced(text, "value=\"32768\"", "value=\"24576\"")),
                         facts)
            .empty());
}

TEST_CASE("freeswitch: a file that did not parse gives no findings (its error is the finding)") {
  const auto file = parse_xml(
      kVars, "<include>\n<X-PRE-PROCESS cmd=\"set\" data=\"external_rtp_ip=10.0.0.1\">\n");
  REQUIRE(file.error);
  CHECK(check_freeswitch(file, lab_profile_facts()).empty());
}

TEST_CASE("freeswitch: behind NAT, an external address that is not set at all") {
  const auto facts = lab_profile_facts();
  SUBCASE("vars.xml without external_sip_ip: the line goes before </include>") {
    const auto text =
        replaced(read_config("bigbluebutton/vars.xml"),
                 "  <X-PRE-PROCESS cmd=\"set\" data=\"external_sip_ip=203.0.113.1\"/>\n", "");
    const auto vars = parse_xml(kBbbVars, text);
    const auto findings = check_freeswitch(vars, facts);
    REQUIRE_MESSAGE(findings.size() == 1, ids(findings));
    CHECK(findings[0].id == "freeswitch-external-ip-missing");
    CHECK(findings[0].setting == "external_sip_ip");
    CHECK_FALSE(findings[0].current);
    CHECK(findings[0].expected == "203.0.113.1");
    CHECK(findings[0].line == line_of(text, "</include>"));
    REQUIRE(findings[0].edits.size() == 1);
    CHECK(findings[0].edits[0].kind == config::LineEdit::Kind::insert_after);
    CHECK(findings[0].edits[0].line == line_of(text, "</include>") - 1);
    fixed_is_clean(vars, findings, facts);
  }
  SUBCASE("a SIP profile without ext-rtp-ip: the param goes below rtp-ip, indented like it") {
    const auto text =
        replaced(read_config("bigbluebutton/external.xml"),
                 "    <param name=\"ext-rtp-ip\" value=\"$${external_rtp_ip}\"/>\n", "");
    const auto profile = parse_xml(kBbbExternal, text);
    const auto findings = check_freeswitch(profile, facts);
    REQUIRE_MESSAGE(findings.size() == 1, ids(findings));
    CHECK(findings[0].setting == "settings.param.ext-rtp-ip");
    CHECK(findings[0].edits[0].line == line_of(text, "\"rtp-ip\""));
    CHECK(findings[0].edits[0].text == "    <param name=\"ext-rtp-ip\" value=\"203.0.113.1\"/>");
    fixed_is_clean(profile, findings, facts);
  }
  SUBCASE("not behind NAT, or not a vars.xml or SIP profile: nothing is missing") {
    auto direct = facts;
    direct.behind_nat = false;
    CHECK(check_freeswitch(parse_xml(kBbbVars, "<include>\n</include>\n"), direct).empty());
    CHECK(check_freeswitch(
              parse_xml(kSwitch, read_config("freeswitch/autoload_configs/switch.conf.xml")), facts)
              .empty());
  }
}

TEST_CASE("freeswitch: what config check measured: STUN answers and the UDP ports") {
  const auto facts = lab_profile_facts();
  const auto vars = parse_xml(kVars, read_config("freeswitch/vars.xml"));
  REQUIRE(freeswitch_stun_servers(vars) ==
          std::vector<std::pair<std::string, std::uint16_t>>{{"stun.freeswitch.org", 3478}});
  config::Measurements measured;
  SUBCASE("stun.freeswitch.org answered config check: nothing to say") {
    measured.stun_answers["stun.freeswitch.org:3478"] = true;
    CHECK(check_freeswitch(vars, facts, measured).empty());
  }
  SUBCASE("it did not answer: a warning, the measured address to write") {
    measured.stun_answers["stun.freeswitch.org:3478"] = false;
    const auto findings = check_freeswitch(vars, facts, measured);
    REQUIRE_MESSAGE(findings.size() == 2, ids(findings));
    CHECK(findings[0].id == "freeswitch-stun-unanswered");
    CHECK(findings[0].severity == "warning");
    CHECK(findings[0].expected == "203.0.113.1");
    CHECK(findings[0].why.find("did not answer") != std::string::npos);
    // stun-set looks its value up: the fixed address is written with set.
    REQUIRE(findings[0].edits.size() == 1);
    CHECK(findings[0].edits[0].text.find("cmd=\"set\" data=\"external_rtp_ip=203.0.113.1\"") !=
          std::string::npos);
    fixed_is_clean(vars, findings, facts);
  }
  SUBCASE("the RTP range against the measured ports") {
    const auto text = read_config("freeswitch/autoload_configs/switch.conf.xml");
    const auto sw = parse_xml(kSwitch, text);
    measured.udp_ports = {{{16384, 20000}, "open"}, {{20001, 32768}, "filtered"}};
    const auto findings = check_freeswitch(sw, facts, measured);
    REQUIRE_MESSAGE(findings.size() == 1, ids(findings));
    CHECK(findings[0].id == "freeswitch-rtp-range-not-open");
    CHECK(findings[0].severity == "warning");
    CHECK(findings[0].line == line_of(text, "rtp-start-port"));
    CHECK(findings[0].why.find("20001-32768 filtered (12768 of 16385 ports)") != std::string::npos);
    CHECK(findings[0].edits.empty());  // the fix is the firewall, not this file
    measured.udp_ports = {{{16384, 32768}, "open"}};
    CHECK(check_freeswitch(sw, facts, measured).empty());
    // Measured open, the table does not matter: a range outside it is fine.
    measured.udp_ports = {{{10000, 20000}, "open"}};
    const auto moved =
        parse_xml(kSwitch, replaced(replaced(text, "value=\"16384\"", "value=\"10000\""),
                                    "value=\"32768\"", "value=\"20000\""));
    CHECK(check_freeswitch(moved, facts, measured).empty());
    const auto inverted = parse_xml(kSwitch, replaced(text, "value=\"16384\"", "value=\"40000\""));
    const auto bad = check_freeswitch(inverted, facts, measured);
    REQUIRE(bad.size() == 1);
    CHECK(bad[0].id == "freeswitch-rtp-range-inverted");
  }
}
