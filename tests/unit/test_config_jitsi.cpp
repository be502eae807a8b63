// Jitsi Videobridge's jvb.conf and sip-communicator.properties against the measured facts:
// the NAT mapping, the STUN mapping servers, the UDP port; each finding at its line, the edits
// applied and checked again.
#include <doctest/doctest.h>

#include "src/profile/config/hocon.hpp"
#include "src/profile/config/properties.hpp"
#include "src/profile/servers/jitsi_config.hpp"
#include "tests/unit/config_test_helpers.hpp"

using namespace natdiag::profile;
using namespace natdiag::test;
using config::parse_hocon;
using config::parse_properties;

namespace {

const std::string kProps = "/etc/jitsi/videobridge/sip-communicator.properties";
const std::string kJvb = "/etc/jitsi/videobridge/jvb.conf";

config::ParsedFile reparse(const config::ParsedFile& file, const std::string& text) {
  return file.syntax == "hocon" ? parse_hocon(file.path, text) : parse_properties(file.path, text);
}

void fixed_is_clean(const config::ParsedFile& file,
                    const std::vector<config::ConfigFinding>& findings,
                    const natdiag::cli::ProfileFacts& facts) {
  const auto again = reparse(file, apply_edits(file, findings));
  REQUIRE_FALSE(again.error);
  const auto left = check_jitsi(again, facts);
  CHECK_MESSAGE(left.empty(), ids(left));
}

}  // namespace

TEST_CASE("jitsi: the NAT guide's files with the measured addresses are clean") {
  const auto facts = lab_profile_facts();
  CHECK(check_jitsi(parse_properties(kProps, read_config("jitsi/sip-communicator-nat.properties")),
                    facts)
            .empty());
  CHECK(check_jitsi(parse_hocon(kJvb, read_config("jitsi/jvb.conf")), facts).empty());
}

TEST_CASE("jitsi: Debian's sip-communicator.properties asks a STUN server natdiag did not ask") {
  const auto facts = lab_profile_facts();
  const auto file = parse_properties(kProps, read_config("jitsi/sip-communicator.properties"));
  const auto findings = check_jitsi(file, facts);
  REQUIRE_MESSAGE(findings.size() == 1, ids(findings));
  const auto& f = findings[0];
  CHECK(f.id == "jitsi-stun-not-asked");
  CHECK(f.severity == "info");
  CHECK(f.server == "jitsi");
  CHECK(f.line == 2);
  CHECK(f.current == "meet-jit-si-turnrelay.jitsi.net:443");
  CHECK(f.why.find("natdiag stun meet-jit-si-turnrelay.jitsi.net 443") != std::string::npos);
  // Nothing measured says Jitsi's server fails: natdiag's own server is not written over it.
  CHECK_FALSE(f.expected);
  CHECK(f.edits.empty());

  SUBCASE("no STUN server answered at all: a warning, nothing to write") {
    const auto none = check_jitsi(file, unmeasured_profile_facts());
    REQUIRE(none.size() == 1);
    CHECK(none[0].id == "jitsi-stun-none-answered");
    CHECK(none[0].severity == "warning");
    CHECK_FALSE(none[0].expected);
    CHECK(none[0].edits.empty());
  }
  SUBCASE("a list: one entry that answered is enough; none answered: the first is replaced") {
    const auto text = read_config("jitsi/sip-communicator.properties");
    const auto ok = parse_properties(kProps, replaced(text, "=meet-jit-si-turnrelay.jitsi.net:443",
                                                      "=stun.example.org:3478, 203.0.113.10:3478"));
    CHECK(check_jitsi(ok, facts).empty());
    const auto two = parse_properties(kProps, replaced(text, "=meet-jit-si-turnrelay.jitsi.net:443",
                                                       "=a.example.org:443,b.example.org:3478"));
    CHECK(check_jitsi(two, facts)[0].edits.empty());  // not asked: nothing to write
    natdiag::profile::config::Measurements asked;
    asked.stun_answers = {{"a.example.org:443", false}, {"b.example.org:3478", false}};
    const auto found = check_jitsi(two, facts, asked);
    REQUIRE(found.size() == 1);
    CHECK(found[0].id == "jitsi-stun-unanswered");
    CHECK(found[0].why.find("a.example.org:443, b.example.org:3478") != std::string::npos);
    REQUIRE(found[0].edits.size() == 1);
    CHECK(found[0].edits[0].text ==
          "org.ice4j.ice.harvest.STUN_MAPPING_HARVESTER_ADDRESSES=203.0.113.10:3478,b.example.org:"
          "3478");
    fixed_is_clean(two, found, facts);
  }
}

TEST_CASE("jitsi: NAT_HARVESTER addresses: old public, private public, wrong local, one missing") {
  const auto facts = lab_profile_facts();
  const auto text = read_config("jitsi/sip-communicator-nat.properties");
  const int local_line = line_of(text, "NAT_HARVESTER_LOCAL_ADDRESS");
  const int public_line = line_of(text, "NAT_HARVESTER_PUBLIC_ADDRESS");
  struct Case {
    std::string from;
    std::string to;
    std::string id;
    std::string severity;
    int line;
    std::string expected;
  };
  for (const Case& c :
       {Case{"PUBLIC_ADDRESS=203.0.113.1", "PUBLIC_ADDRESS=198.51.100.7",
             "jitsi-nat-public-address-stale", "critical", public_line, "203.0.113.1"},
        Case{"PUBLIC_ADDRESS=203.0.113.1", "PUBLIC_ADDRESS=10.77.0.10",
             "jitsi-nat-public-address-private", "critical", public_line, "203.0.113.1"},
        Case{"LOCAL_ADDRESS=10.77.0.10", "LOCAL_ADDRESS=192.168.0.5",
             "jitsi-nat-local-address-wrong", "warning", local_line, "10.77.0.10"}}) {
    CAPTURE(c.to);
    const auto file = parse_properties(kProps, replaced(text, c.from, c.to));
    const auto findings = check_jitsi(file, facts);
    REQUIRE_MESSAGE(findings.size() == 1, ids(findings));
    CHECK(findings[0].id == c.id);
    CHECK(findings[0].severity == c.severity);
    CHECK(findings[0].line == c.line);
    CHECK(findings[0].expected == c.expected);
    check_edits_keep_layout(file, findings[0]);
    fixed_is_clean(file, findings, facts);
  }
  SUBCASE("only the local address: the public one is inserted below it") {
    const auto local_only =
        replaced(text, "org.ice4j.ice.harvest.NAT_HARVESTER_PUBLIC_ADDRESS=203.0.113.1\n", "");
    const auto file = parse_properties(kProps, local_only);
    const auto findings = check_jitsi(file, facts);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].id == "jitsi-nat-mapping-incomplete");
    CHECK(findings[0].line == local_line);
    CHECK_FALSE(findings[0].current);
    CHECK(findings[0].expected == "203.0.113.1");
    REQUIRE(findings[0].edits.size() == 1);
    CHECK(findings[0].edits[0].kind == config::LineEdit::Kind::insert_after);
    CHECK(findings[0].edits[0].text ==
          "org.ice4j.ice.harvest.NAT_HARVESTER_PUBLIC_ADDRESS=203.0.113.1");
    fixed_is_clean(file, findings, facts);
    // CRLF endings: the new line gets its '\r' too.
    const auto crlf = parse_properties(kProps, replaced(local_only, "\n", "\r\n"));
    const auto crlf_findings = check_jitsi(crlf, facts);
    REQUIRE(crlf_findings.size() == 1);
    CHECK(crlf_findings[0].edits[0].text.back() == '\r');
    fixed_is_clean(crlf, crlf_findings, facts);
  }
}

TEST_CASE("jitsi: jvb.conf's static mapping, STUN addresses and UDP port") {
  const auto facts = lab_profile_facts();
  const auto text = read_config("jitsi/jvb.conf");
  SUBCASE("old public address in the static mapping") {
    const auto file = parse_hocon(kJvb, replaced(text, "\"203.0.113.1\"", "\"198.51.100.7\""));
    const auto findings = check_jitsi(file, facts);
    REQUIRE_MESSAGE(findings.size() == 1, ids(findings));
    CHECK(findings[0].id == "jitsi-nat-public-address-stale");
    CHECK(findings[0].setting == "ice4j.harvest.mapping.static-mappings.0.public-address");
    CHECK(findings[0].line == line_of(text, "public-address"));
    CHECK(findings[0].edits[0].text == "                    public-address = \"203.0.113.1\"");
    fixed_is_clean(file, findings, facts);
  }
  SUBCASE("a mapping without its public address: said, with the measured value, no edit") {
    const auto file =
        parse_hocon(kJvb, replaced(text, "public-address = \"203.0.113.1\"", "# public-address"));
    const auto findings = check_jitsi(file, facts);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].id == "jitsi-nat-mapping-incomplete");
    CHECK(findings[0].expected == "203.0.113.1");
    CHECK(findings[0].edits.empty());
  }
  SUBCASE("STUN addresses natdiag did not ask") {
    const auto file =
        parse_hocon(kJvb, replaced(text, "addresses = [ ]",
                                   "addresses = [\n"
                                   "                    \"meet-jit-si-turnrelay.jitsi.net:443\",\n"
                                   "                    \"stun.example.org:3478\"\n"
                                   "                ]"));
    const auto findings = check_jitsi(file, facts);
    REQUIRE_MESSAGE(findings.size() == 1, ids(findings));
    CHECK(findings[0].id == "jitsi-stun-not-asked");
    CHECK(findings[0].setting == "ice4j.harvest.mapping.stun.addresses.0");
    CHECK(findings[0].line == line_of(text, "addresses = [ ]") + 1);
    CHECK_FALSE(findings[0].expected);
    CHECK(findings[0].edits.empty());
  }
  SUBCASE("a UDP port the firewall advice does not open") {
    const auto file = parse_hocon(kJvb, replaced(text, "port = 10000", "port = 10001"));
    const auto findings = check_jitsi(file, facts);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].id == "jitsi-udp-port-outside-firewall");
    CHECK(findings[0].severity == "info");
    CHECK(findings[0].line == line_of(text, "port = 10000"));
    CHECK(findings[0].edits[0].text == "            port = 10000");
    fixed_is_clean(file, findings, facts);
  }
  SUBCASE("an include natdiag does not follow") {
    const auto file = parse_hocon(kJvb, "include \"/etc/jitsi/videobridge/extra.conf\"\n" + text);
    const auto findings = check_jitsi(file, facts);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].id == "jitsi-include-not-followed");
    CHECK(findings[0].line == 1);
  }
  SUBCASE("a file that did not parse gives no findings (its error is the finding)") {
    const auto file = parse_hocon(kJvb, replaced(text, "port = 10000", "port = ${UDP_PORT}"));
    REQUIRE(file.error);
    CHECK(file.error->line == line_of(text, "port = 10000"));
    CHECK(check_jitsi(file, facts).empty());
  }
}

TEST_CASE("jitsi: what config check measured: STUN answers and the UDP port") {
  const auto facts = lab_profile_facts();
  const auto file = parse_properties(kProps, read_config("jitsi/sip-communicator.properties"));
  CHECK(jitsi_stun_servers(file) == std::vector<std::pair<std::string, std::uint16_t>>{
                                        {"meet-jit-si-turnrelay.jitsi.net", 443}});
  const auto jvb =
      parse_hocon(kJvb, replaced(read_config("jitsi/jvb.conf"), "addresses = [ ]",
                                 "addresses = [ \"a.example.org:3478\", \"b.example.org\" ]"));
  CHECK(jitsi_stun_servers(jvb) == std::vector<std::pair<std::string, std::uint16_t>>{
                                       {"a.example.org", 3478}, {"b.example.org", 3478}});
  config::Measurements measured;
  measured.stun_answers["meet-jit-si-turnrelay.jitsi.net:443"] = true;
  CHECK(check_jitsi(file, facts, measured).empty());
  measured.stun_answers["meet-jit-si-turnrelay.jitsi.net:443"] = false;
  auto findings = check_jitsi(file, facts, measured);
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].id == "jitsi-stun-unanswered");
  CHECK(findings[0].severity == "warning");
  CHECK(findings[0].expected == "203.0.113.10:3478");
  fixed_is_clean(file, findings, facts);
  // One not asked, one that did not answer: the warning speaks for the list.
  measured.stun_answers["b.example.org:3478"] = false;
  findings = check_jitsi(jvb, facts, measured);
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].id == "jitsi-stun-unanswered");
  CHECK(findings[0].setting == "ice4j.harvest.mapping.stun.addresses.0");
  fixed_is_clean(jvb, findings, facts);
  // One of two answered: ice4j gets its address from that one.
  measured.stun_answers["b.example.org:3478"] = true;
  CHECK(check_jitsi(jvb, facts, measured).empty());

  measured.udp_ports = {{{10000, 10000}, "filtered"}};
  findings = check_jitsi(parse_hocon(kJvb, read_config("jitsi/jvb.conf")), facts, measured);
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].id == "jitsi-udp-port-not-open");
  CHECK(findings[0].why.find("10000 filtered") != std::string::npos);
  measured.udp_ports = {{{10000, 10000}, "open"}};
  CHECK(check_jitsi(parse_hocon(kJvb, read_config("jitsi/jvb.conf")), facts, measured).empty());
}
