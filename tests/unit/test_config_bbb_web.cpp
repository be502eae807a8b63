// BigBlueButton's bbb-web.properties against the measured facts: the server URL's host and
// scheme, other absolute URLs, one finding and one edit per setting.
#include <doctest/doctest.h>

#include "src/profile/config/properties.hpp"
#include "src/profile/servers/bbb_web_config.hpp"
#include "tests/unit/config_test_helpers.hpp"

using namespace natdiag::profile;
using namespace natdiag::test;
using config::parse_properties;

namespace {

const std::string kPath = "/etc/bigbluebutton/bbb-web.properties";

config::ParsedFile with_server_url(const std::string& url) {
  return parse_properties(kPath, replaced(read_config("bigbluebutton/bbb-web.properties"),
                                          "serverURL=https://bbb.example.com", "serverURL=" + url));
}

void fixed_is_clean(const config::ParsedFile& file,
                    const std::vector<config::ConfigFinding>& findings,
                    const natdiag::cli::ProfileFacts& facts) {
  const auto again = parse_properties(file.path, apply_edits(file, findings));
  REQUIRE_FALSE(again.error);
  const auto left = check_bbb_web(again, facts);
  CHECK_MESSAGE(left.empty(), ids(left));
}

}  // namespace

TEST_CASE("bbb-web: the file bbb-install writes, for the host name natdiag checked, is clean") {
  const auto text = read_config("bigbluebutton/bbb-web.properties");
  CHECK(check_bbb_web(parse_properties(kPath, text), lab_profile_facts()).empty());
  // Without --hostname there is nothing to compare a name with.
  auto facts = lab_profile_facts();
  facts.hostname.reset();
  facts.hostname_resolves_to_public.reset();
  CHECK(check_bbb_web(parse_properties(kPath, text), facts).empty());
}

TEST_CASE("bbb-web: serverURL over http") {
  const auto facts = lab_profile_facts();
  const auto file = with_server_url("http://bbb.example.com");
  const auto findings = check_bbb_web(file, facts);
  REQUIRE_MESSAGE(findings.size() == 1, ids(findings));
  const auto& f = findings[0];
  CHECK(f.id == "bbb-web-server-url-http");
  CHECK(f.severity == "warning");
  CHECK(f.server == "bigbluebutton");
  CHECK(f.file == kPath);
  CHECK(f.line == line_of(read_config("bigbluebutton/bbb-web.properties"), "serverURL="));
  CHECK(f.expected == "https://bbb.example.com");
  REQUIRE(f.edits.size() == 1);
  CHECK(f.edits[0].text == "bigbluebutton.web.serverURL=https://bbb.example.com");
  fixed_is_clean(file, findings, facts);
}

TEST_CASE("bbb-web: serverURL with an old public IP or a private IP") {
  const auto facts = lab_profile_facts();
  SUBCASE("old public IP, path and port kept") {
    const auto file = with_server_url("https://198.51.100.7:8443/x");
    const auto findings = check_bbb_web(file, facts);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].id == "bbb-web-server-url-stale");
    CHECK(findings[0].severity == "critical");
    CHECK(findings[0].expected == "https://203.0.113.1:8443/x");
    check_edits_keep_layout(file, findings[0]);
    fixed_is_clean(file, findings, facts);
  }
  SUBCASE("private IP over http: one finding, the worst first, one edit") {
    const auto file = with_server_url("http://10.77.0.10");
    const auto findings = check_bbb_web(file, facts);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].id == "bbb-web-server-url-private");
    CHECK(findings[0].severity == "critical");
    CHECK(findings[0].why.find("https") != std::string::npos);  // both problems are named
    CHECK(findings[0].expected == "https://203.0.113.1");
    CHECK(findings[0].edits.size() == 1);
    fixed_is_clean(file, findings, facts);
  }
  SUBCASE("private IP and no public address measured: no address to write") {
    auto unknown = lab_profile_facts();
    unknown.public_ipv4.reset();
    const auto findings = check_bbb_web(with_server_url("https://10.77.0.10"), unknown);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].id == "bbb-web-server-url-private");
    CHECK_FALSE(findings[0].expected);
    CHECK(findings[0].edits.empty());
  }
}

TEST_CASE("bbb-web: the server URL's host name against the one natdiag checked") {
  auto facts = lab_profile_facts();
  SUBCASE("another name: said, nothing to write") {
    const auto findings = check_bbb_web(with_server_url("https://meet.example.org"), facts);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].id == "bbb-web-server-url-other-host");
    CHECK(findings[0].severity == "info");
    CHECK(findings[0].edits.empty());
  }
  SUBCASE("the name does not resolve to the public address here: the fix is DNS or /etc/hosts") {
    facts.hostname_resolves_to_public = false;
    const auto findings = check_bbb_web(with_server_url("https://bbb.example.com"), facts);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].id == "bbb-web-server-url-hostname-not-public");
    CHECK(findings[0].why.find("/etc/hosts") != std::string::npos);
    CHECK_FALSE(findings[0].expected);
    CHECK(findings[0].edits.empty());
  }
}

TEST_CASE("bbb-web: other absolute URLs are checked; ${...} values where their key is set") {
  const auto facts = lab_profile_facts();
  const auto text = replaced(read_config("bigbluebutton/bbb-web.properties"),
                             "bigbluebutton.web.logoutURL=default",
                             "bigbluebutton.web.logoutURL=https://10.77.0.10/goodbye");
  const auto file = parse_properties(kPath, text);
  const auto findings = check_bbb_web(file, facts);
  REQUIRE_MESSAGE(findings.size() == 1, ids(findings));
  CHECK(findings[0].id == "bbb-web-url-private");
  CHECK(findings[0].setting == "bigbluebutton.web.logoutURL");
  CHECK(findings[0].line == line_of(text, "logoutURL="));
  CHECK(findings[0].expected == "https://203.0.113.1/goodbye");
  fixed_is_clean(file, findings, facts);
}

TEST_CASE(
    "bbb-web: loopback is this machine for bbb-web's neighbours, the user's own PC in serverURL") {
  auto facts = lab_profile_facts();
  SUBCASE("another key naming a local service is not an announced address") {
    for (const std::string url :
         {"http://127.0.0.1:8090/x", "http://localhost:3000", "http://[::1]/"}) {
      const auto text =
          replaced(read_config("bigbluebutton/bbb-web.properties"),
                   "bigbluebutton.web.logoutURL=default", "bigbluebutton.web.logoutURL=" + url);
      const auto findings = check_bbb_web(parse_properties(kPath, text), facts);
      CHECK_MESSAGE(findings.empty(), url, " ", ids(findings));
    }
  }
  SUBCASE("serverURL on loopback: critical behind NAT or not, fixed to the checked host name") {
    for (const bool behind_nat : {true, false}) {
      facts.behind_nat = behind_nat;
      const auto file = with_server_url("https://127.0.0.1/bigbluebutton");
      const auto findings = check_bbb_web(file, facts);
      REQUIRE_MESSAGE(findings.size() == 1, ids(findings));
      CHECK(findings[0].id == "bbb-web-server-url-loopback");
      CHECK(findings[0].severity == "critical");
      CHECK(findings[0].expected == "https://bbb.example.com/bigbluebutton");
      fixed_is_clean(file, findings, facts);
    }
  }
  SUBCASE("no host name checked: the measured public address; nothing measured: no edit") {
    facts.hostname.reset();
    facts.hostname_resolves_to_public.reset();
    auto findings = check_bbb_web(with_server_url("http://localhost"), facts);
    REQUIRE_MESSAGE(findings.size() == 1, ids(findings));
    CHECK(findings[0].id == "bbb-web-server-url-loopback");
    CHECK(findings[0].expected == "https://203.0.113.1");
    facts.public_ipv4.reset();
    findings = check_bbb_web(with_server_url("https://[::1]"), facts);
    REQUIRE_MESSAGE(findings.size() == 1, ids(findings));
    CHECK(findings[0].id == "bbb-web-server-url-loopback");
    CHECK_FALSE(findings[0].expected);
    CHECK(findings[0].edits.empty());
  }
}

TEST_CASE("sip.nginx: the proxy to FreeSWITCH's WebSocket goes to the public address behind NAT") {
  const auto facts = lab_profile_facts();
  const std::string path = "/usr/share/bigbluebutton/nginx/sip.nginx";
  const auto text = read_config("bigbluebutton/sip.nginx");
  const auto good = parse_sip_nginx(path, text);
  REQUIRE(good.find("proxy_pass"));
  CHECK(good.find("proxy_pass")->value == "https://203.0.113.1:7443");
  CHECK(good.find("proxy_pass")->line == 2);
  CHECK(check_bbb_sip_nginx(good, facts).empty());

  struct Case {
    std::string host;
    std::string id;
  };
  for (const Case& c :
       {Case{"10.77.0.10", "bbb-sip-nginx-private"}, Case{"198.51.100.7", "bbb-sip-nginx-stale"}}) {
    CAPTURE(c.host);
    const auto file = parse_sip_nginx(path, replaced(text, "203.0.113.1", c.host));
    const auto findings = check_bbb_sip_nginx(file, facts);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].id == c.id);
    CHECK(findings[0].line == 2);
    CHECK(findings[0].expected == "https://203.0.113.1:7443");
    REQUIRE(findings[0].edits.size() == 1);
    CHECK(findings[0].edits[0].text == "        proxy_pass https://203.0.113.1:7443;");
    const auto again = parse_sip_nginx(path, apply_edits(file, findings));
    CHECK(check_bbb_sip_nginx(again, facts).empty());
  }
  // Not behind NAT, a loopback proxy, a commented-out line: nothing to say.
  auto direct = facts;
  direct.behind_nat = false;
  CHECK(check_bbb_sip_nginx(parse_sip_nginx(path, replaced(text, "203.0.113.1", "10.77.0.10")),
                            direct)
            .empty());
  CHECK(
      check_bbb_sip_nginx(parse_sip_nginx(path, replaced(text, "203.0.113.1", "127.0.0.1")), facts)
          .empty());
  const auto commented =
      parse_sip_nginx(path, "# proxy_pass https://10.77.0.10:7443;\nmy_proxy_pass x;\n");
  CHECK(commented.settings.empty());
}

TEST_CASE("sip.nginx and bbb-web: damaged files never crash the readers or the checkers") {
  const auto facts = lab_profile_facts();
  natdiag::test::survives_damage(read_config("bigbluebutton/sip.nginx"), [&](const std::string& t) {
    auto file = parse_sip_nginx("sip.nginx", t);
    (void)check_bbb_sip_nginx(file, facts);
    return file;
  });
  natdiag::test::survives_damage(read_config("bigbluebutton/bbb-web.properties"),
                                 [&](const std::string& t) {
                                   auto file = parse_properties(kPath, t);
                                   (void)check_bbb_web(file, facts);
                                   return file;
                                 });
}
