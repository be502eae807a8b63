// FreeSWITCH, BigBlueButton (its FreeSWITCH, bbb-web.properties, sip.nginx) and Jitsi through
// config check's framework: the table, the parser dispatch, the checkers behind the framework's
// signature (facts, STUN answers, measured ports), a SIP profile with the vars.xml read with it.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>

#include "src/profile/config/parsers.hpp"
#include "tests/unit/config_test_helpers.hpp"

using namespace natdiag::test;
using natdiag::profile::config::check_file;
using natdiag::profile::config::config_servers;
using natdiag::profile::config::kind_for;
using natdiag::profile::config::parse_config;
using natdiag::profile::config::stun_servers_named;

namespace {

// The findings of `files` (server, path, text) checked together, as config check does.
std::vector<ConfigFinding> check_together(const std::vector<std::array<std::string, 3>>& files,
                                          ConfigFacts facts) {
  std::vector<ParsedFile> parsed;
  for (const auto& [server, path, text] : files)
    parsed.push_back(parse_config(path, kind_for(server, path)->syntax, text));
  for (const auto& p : parsed) facts.files.push_back(&p);
  std::vector<ConfigFinding> out;
  for (std::size_t i = 0; i < files.size(); ++i) {
    for (auto& f : check_file(parsed[i], *kind_for(files[i][0], files[i][1]), facts))
      out.push_back(std::move(f));
  }
  return out;
}

}  // namespace

TEST_CASE("the table: FreeSWITCH, BigBlueButton and Jitsi files, each with its syntax") {
  const auto servers = config_servers();
  const auto at = [&](const char* s) {
    return std::find(servers.begin(), servers.end(), s) - servers.begin();
  };
  REQUIRE(at("freeswitch") < static_cast<long>(servers.size()));
  REQUIRE(at("jitsi") < static_cast<long>(servers.size()));
  // The order of the --for help and the completion values.
  CHECK(at("plugnmeet") < at("freeswitch"));
  CHECK(at("freeswitch") < at("bigbluebutton"));
  CHECK(at("bigbluebutton") < at("jitsi"));
  CHECK(at("jitsi") < at("janus"));
  const struct {
    const char* server;
    const char* path;
    const char* role;
    const char* syntax;
  } kCases[] = {
      {"freeswitch", "/etc/freeswitch/vars.xml", "vars.xml", "xml"},
      {"freeswitch", "/tmp/copy/sip_profiles/external.xml", "external.xml", "xml"},
      {"freeswitch", "/etc/freeswitch/autoload_configs/switch.conf.xml", "switch.conf.xml", "xml"},
      {"bigbluebutton", "/opt/freeswitch/etc/freeswitch/vars.xml", "vars.xml", "xml"},
      {"bigbluebutton", "/etc/bigbluebutton/bbb-web.properties", "bbb-web.properties",
       "properties"},
      {"bigbluebutton", "/usr/share/bbb-web/WEB-INF/classes/bigbluebutton.properties",
       "bbb-web.properties", "properties"},
      {"bigbluebutton", "/usr/share/bigbluebutton/nginx/sip.nginx", "sip.nginx", "nginx"},
      {"bigbluebutton", "/etc/bigbluebutton/bbb-webrtc-sfu/production.yml", "production.yml",
       "yaml"},
      {"jitsi", "/etc/jitsi/videobridge/jvb.conf", "jvb.conf", "hocon"},
      {"jitsi", "/etc/jitsi/videobridge/sip-communicator.properties", "sip-communicator.properties",
       "properties"},
      // A copy named otherwise: the entry whose file ends the same way, else the server's first.
      {"jitsi", "/tmp/sip-communicator-nat.properties", "sip-communicator.properties",
       "properties"},
      {"jitsi", "/tmp/jvb-copy", "jvb.conf", "hocon"},
      {"bigbluebutton", "/tmp/sip-copy.nginx", "sip.nginx", "nginx"},
      {"freeswitch", "/tmp/internal.xml", "vars.xml", "xml"},
  };
  for (const auto& c : kCases) {
    CAPTURE(c.path);
    const auto* kind = kind_for(c.server, c.path);
    REQUIRE(kind != nullptr);
    CHECK(kind->role == c.role);
    CHECK(kind->syntax == c.syntax);
    const auto parsed = parse_config(c.path, kind->syntax, "");
    CHECK(parsed.syntax == c.syntax);
    CHECK(parsed.path == c.path);
  }
}

TEST_CASE(
    "the stock files through check_file: findings on their lines, the server the table names") {
  const auto vars = data_file("config/freeswitch/vars.xml");
  auto findings = check_text("freeswitch", "vars.xml", vars, lab_facts());
  REQUIRE_MESSAGE(
      findings.size() == 2,
      ids(findings));  // external_rtp_ip, external_sip_ip: stun.freeswitch.org not asked
  CHECK(findings[0].server == "freeswitch");
  CHECK(findings[0].line == line_of(vars, "data=\"external_rtp_ip=stun:"));
  // The same file as BigBlueButton's copy is BigBlueButton's finding.
  findings = check_text("bigbluebutton", "vars.xml", vars, lab_facts());
  REQUIRE(findings.size() == 2);
  CHECK(findings[0].server == "bigbluebutton");

  const auto external = data_file("config/freeswitch/sip_profiles/external.xml");
  findings = check_text("freeswitch", "external.xml", external, lab_facts());
  REQUIRE(find_id(findings, "freeswitch-auto-nat") != nullptr);
  CHECK(find_id(findings, "freeswitch-auto-nat")->line == line_of(external, "\"ext-rtp-ip\""));
  CHECK(check_text("freeswitch", "external.xml",
                   fixed_text("freeswitch", "external.xml", external, findings), lab_facts())
            .empty());

  const auto nginx =
      replaced(data_file("config/bigbluebutton/sip.nginx"), "203.0.113.1", "10.77.0.10");
  findings = check_text("bigbluebutton", "sip.nginx", nginx, lab_facts());
  REQUIRE_MESSAGE(findings.size() == 1, ids(findings));
  CHECK(findings[0].id == "bbb-sip-nginx-private");
  CHECK(findings[0].server == "bigbluebutton");
  CHECK(check_text("bigbluebutton", "sip.nginx",
                   fixed_text("bigbluebutton", "sip.nginx", nginx, findings), lab_facts())
            .empty());

  const auto jvb = data_file("config/jitsi/jvb.conf");
  CHECK(serious(check_text("jitsi", "jvb.conf", jvb, lab_facts())) == 0);
}

TEST_CASE("the framework's STUN answers and measured ports reach part B's checkers") {
  const auto vars = data_file("config/freeswitch/vars.xml");
  const auto* kind = kind_for("freeswitch", "vars.xml");
  const auto parsed = parse_config("vars.xml", kind->syntax, vars);
  const auto named = stun_servers_named(parsed, *kind);
  REQUIRE(named.size() == 1);
  CHECK(named[0] == std::pair<std::string, std::uint16_t>{"stun.freeswitch.org", 3478});
  auto facts = lab_facts();
  facts.stun_answers["stun.freeswitch.org:3478"] = true;
  CHECK(check_file(parsed, *kind, facts).empty());
  facts.stun_answers["stun.freeswitch.org:3478"] = false;
  auto findings = check_file(parsed, *kind, facts);
  REQUIRE(findings.size() == 2);
  CHECK(findings[0].id == "freeswitch-stun-unanswered");
  CHECK(findings[0].severity == "warning");

  const auto sc = data_file("config/jitsi/sip-communicator.properties");
  const auto* jitsi = kind_for("jitsi", "sip-communicator.properties");
  const auto named_jitsi =
      stun_servers_named(parse_config("sip-communicator.properties", jitsi->syntax, sc), *jitsi);
  REQUIRE(named_jitsi.size() == 1);
  CHECK(named_jitsi[0].first == "meet-jit-si-turnrelay.jitsi.net");
  CHECK(named_jitsi[0].second == 443);

  const auto sw = data_file("config/freeswitch/autoload_configs/switch.conf.xml");
  facts = lab_facts();
  facts.udp_ports = {{{16384, 20000}, "open"}, {{20001, 32768}, "filtered"}};
  findings = check_text("freeswitch", "switch.conf.xml", sw, facts);
  REQUIRE_MESSAGE(findings.size() == 1, ids(findings));
  CHECK(findings[0].id == "freeswitch-rtp-range-not-open");
  CHECK(findings[0].why.find("20001-32768 filtered") != std::string::npos);
}

TEST_CASE(
    "a SIP profile's $${NAME} is looked up in the vars.xml read with it, in its conf directory") {
  const auto vars_text = replaced(data_file("config/bigbluebutton/vars.xml"),
                                  "  <X-PRE-PROCESS cmd=\"set\" data=\"unroll_loops",
                                  "  <X-PRE-PROCESS cmd=\"set\" data=\"announce_ip=10.77.0.10\"/>\n"
                                  "  <X-PRE-PROCESS cmd=\"set\" data=\"unroll_loops");
  const auto profile_text = replaced(data_file("config/bigbluebutton/external.xml"),
                                     "$${external_rtp_ip}", "$${announce_ip}");
  const std::string conf = "/opt/freeswitch/etc/freeswitch/";
  // Alone, the variable is not known: nothing to say.
  CHECK(check_together({{"bigbluebutton", conf + "sip_profiles/external.xml", profile_text}},
                       lab_facts())
            .empty());
  const auto findings =
      check_together({{"bigbluebutton", conf + "vars.xml", vars_text},
                      {"bigbluebutton", conf + "sip_profiles/external.xml", profile_text}},
                     lab_facts());
  REQUIRE_MESSAGE(findings.size() == 1, ids(findings));
  CHECK(findings[0].id == "freeswitch-external-ip-private");
  CHECK(findings[0].file == conf + "vars.xml");
  CHECK(findings[0].line == line_of(vars_text, "announce_ip="));
  CHECK(findings[0].server == "bigbluebutton");
  // Two vars.xml: the one in the profile's conf directory, not the other server's.
  const auto two = check_together(
      {{"freeswitch", "/etc/freeswitch/vars.xml", data_file("config/bigbluebutton/vars.xml")},
       {"bigbluebutton", conf + "vars.xml", vars_text},
       {"bigbluebutton", conf + "sip_profiles/external.xml", profile_text}},
      lab_facts());
  REQUIRE_MESSAGE(two.size() == 1, ids(two));
  CHECK(two[0].file == conf + "vars.xml");
}

TEST_CASE(
    "a FreeSWITCH, properties or HOCON file that does not parse: one critical finding with its "
    "line") {
  struct Case {
    const char* server;
    const char* name;
    std::string text;
    int line;
  };
  const Case cases[] = {
      {"freeswitch", "vars.xml",
       "<include>\n  <X-PRE-PROCESS cmd=\"set\" data=\"a=b\"/>\n  <oops\n</include>\n", 3},
      {"jitsi", "jvb.conf", "videobridge {\n  ice {\n    udp.port = ${PORT}\n  }\n}\n", 3},
      {"bigbluebutton", "bbb-web.properties", "a=b\nc=\\u12G4\n", 2},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto findings = check_text(c.server, c.name, c.text, lab_facts());
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].id == "config-syntax-error");
    CHECK(findings[0].severity == "critical");
    CHECK(findings[0].server == c.server);
    // pugixml names the offset where it gave up: at the broken element or the end of it.
    CHECK(findings[0].line >= c.line);
    CHECK(findings[0].line <= c.line + 1);
  }
}
