// The XML reader of `config check` (pugixml): FreeSWITCH's X-PRE-PROCESS variables read as
// its pre-processor reads them, <param> settings with their lines, syntax errors with theirs.
#include <doctest/doctest.h>

#include "src/profile/config/xml_config.hpp"
#include "tests/unit/config_test_helpers.hpp"

using namespace natdiag::profile::config;
using natdiag::test::line_of;
using natdiag::test::read_config;

TEST_CASE("xml: FreeSWITCH's stock vars.xml gives every X-PRE-PROCESS set with its line") {
  const auto text = read_config("freeswitch/vars.xml");
  const auto file = parse_xml("/etc/freeswitch/vars.xml", text);
  REQUIRE_FALSE(file.error);
  CHECK(file.syntax == "xml");
  CHECK(file.lines.size() == 201);  // 200 lines and the empty rest after the last newline
  CHECK(file.lines.back().empty());
  const auto* rtp = file.find("external_rtp_ip");
  REQUIRE(rtp);
  CHECK(rtp->value == "stun:stun.freeswitch.org");  // cmd="stun-set"
  CHECK(rtp->line == line_of(text, "data=\"external_rtp_ip="));
  const auto* sip = file.find("external_sip_ip");
  REQUIRE(sip);
  CHECK(sip->line == line_of(text, "data=\"external_sip_ip="));
  // Values keep what XML would not like in element text: '>' inside an attribute, regexes.
  REQUIRE(file.find("bong-ring"));
  CHECK(file.find("bong-ring")->value ==
        "v=-7;%(100,0,941.0,1477.0);v=-7;>=2;+=.1;%(1400,0,350,440)");
  CHECK(file.find("domain")->value == "$${local_ip_v4}");
  // The NOTICE comment names X-PRE-PROCESS but is no directive; cmd="include" sets nothing.
  CHECK(file.find("default_password")->line == line_of(text, "default_password=1234"));
  CHECK(file.settings.front().key == "default_password");
}

TEST_CASE("xml: params are '<parent>.param.<name>' at the line of their value") {
  const auto text = read_config("freeswitch/sip_profiles/external.xml");
  const auto file = parse_xml("external.xml", text);
  REQUIRE_FALSE(file.error);
  const auto* ext = file.find("settings.param.ext-rtp-ip");
  REQUIRE(ext);
  CHECK(ext->value == "auto-nat");
  CHECK(ext->line == line_of(text, "\"ext-rtp-ip\""));
  CHECK(file.find("settings.param.rtp-ip")->value == "$${local_ip_v4}");
  // Commented-out params are not settings (only X-PRE-PROCESS lines act from comments).
  CHECK_FALSE(file.find("settings.param.aggressive-nat-detection"));
  CHECK(file.find("domains.domain.all") == nullptr);  // no value= attribute: not a param

  const auto sw = read_config("freeswitch/autoload_configs/switch.conf.xml");
  const auto conf = parse_xml("switch.conf.xml", sw);
  REQUIRE_FALSE(conf.error);
  CHECK(conf.find("settings.param.rtp-start-port")->line == line_of(sw, "rtp-start-port"));
  CHECK(conf.find("settings.param.rtp-end-port")->value == "32768");
  CHECK(conf.find("cli-keybindings.key.1")->value == "help");
}

TEST_CASE("xml: a tag over several lines gives its value's line; quotes may be single") {
  const std::string text =
      "<profile name=\"x\">\n"
      "  <settings>\n"
      "    <param name=\"ext-sip-ip\"\n"
      "           value='203.0.113.1'/>\n"
      "    <param value=\"a &amp; b\" name=\"odd-order\"/>\n"
      "  </settings>\n"
      "</profile>\n";
  const auto file = parse_xml("p.xml", text);
  REQUIRE_FALSE(file.error);
  CHECK(file.find("settings.param.ext-sip-ip")->line == 4);
  CHECK(file.find("settings.param.odd-order")->value == "a & b");
  CHECK(file.find("settings.param.odd-order")->line == 5);
}

TEST_CASE("xml: an X-PRE-PROCESS line inside a comment still sets its variable, as in FreeSWITCH") {
  const std::string text =
      "<include>\n"
      "  <X-PRE-PROCESS cmd=\"set\" data=\"external_rtp_ip=203.0.113.1\"/>\n"
      "  <!-- old:\n"
      "  <X-PRE-PROCESS cmd=\"set\" data=\"external_rtp_ip = 10.77.0.10 \"/>\n"
      "  -->\n"
      "  <!-- <X-PRE-PROCESS cmd=\"SET\" data=\"external_sip_ip=10.77.0.10\"/> -->\n"
      "  <x-pre-process cmd=\"exec-set\" data=\"public=curl -s ifconfig.me\"/>\n"
      "  <XX-PRE-PROCESS cmd=\"set\" data=\"external_sip_ip=192.0.2.9\"/>\n"
      "</include>\n";
  const auto file = parse_xml("vars.xml", text);
  REQUIRE_FALSE(file.error);
  REQUIRE(file.find_all("external_rtp_ip").size() == 2);
  CHECK(file.find("external_rtp_ip")->value == "10.77.0.10");  // spaces trimmed, the last wins
  CHECK(file.find("external_rtp_ip")->line == 4);
  CHECK(file.find("external_sip_ip")->line == 6);
  CHECK_FALSE(file.find("public"));  // exec-set runs a command: no value to read
  // vanilla vars.xml disables a line as "<XX-PRE-PROCESS": FreeSWITCH skips it, so does natdiag.
  CHECK(file.find_all("external_sip_ip").size() == 1);
  CHECK_FALSE(xml_line_in_comment(file, 2));
  CHECK(xml_line_in_comment(file, 4));
  CHECK(xml_line_in_comment(file, 6));
  CHECK_FALSE(xml_line_in_comment(file, 7));
}

TEST_CASE("xml: a document pugixml refuses is an error with the line, no settings") {
  SUBCASE("mismatched end tag") {
    const auto file = parse_xml("external.xml",
                                "<profile name=\"external\">\n"
                                "  <settings>\n"
                                "    <param name=\"ext-rtp-ip\" value=\"auto-nat\"/>\n"
                                "  </setings>\n"
                                "</profile>\n");
    REQUIRE(file.error);
    CHECK(file.error->line == 4);
    CHECK(file.error->message.find("mismatch") != std::string::npos);
    CHECK(file.settings.empty());
  }
  SUBCASE("attribute without quotes") {
    const auto file =
        parse_xml("vars.xml", "<include>\n\n  <param name=ext-rtp-ip value=\"x\"/>\n</include>\n");
    REQUIRE(file.error);
    CHECK(file.error->line == 3);
    CHECK_FALSE(file.error->message.empty());
  }
  SUBCASE("unclosed root") {
    const auto file =
        parse_xml("vars.xml", "<include>\n  <X-PRE-PROCESS cmd=\"set\" data=\"a=b\"/>\n");
    REQUIRE(file.error);
    CHECK(file.error->line >= 2);
  }
}

TEST_CASE("xml: $${NAME} references resolve against vars.xml; built-ins do not") {
  const auto vars = parse_xml("vars.xml", read_config("freeswitch/vars.xml"));
  CHECK(freeswitch_var_refs("$${a}:$${b}") == std::vector<std::string>{"a", "b"});
  CHECK(freeswitch_var_refs("${runtime}").empty());
  CHECK(resolve_freeswitch_vars("$${external_rtp_ip}", vars) == "stun:stun.freeswitch.org");
  CHECK(resolve_freeswitch_vars("sip:$${external_sip_port}@x", vars) == "sip:5080@x");
  CHECK(resolve_freeswitch_vars("plain", vars) == "plain");
  CHECK_FALSE(resolve_freeswitch_vars("$${local_ip_v4}", vars));
}

TEST_CASE("xml: replacing an attribute value keeps the rest of the line") {
  CHECK(xml_replace_attribute("    <param name=\"ext-rtp-ip\" value=\"auto-nat\"/>  <!-- x -->",
                              "value", "203.0.113.1") ==
        "    <param name=\"ext-rtp-ip\" value=\"203.0.113.1\"/>  <!-- x -->");
  CHECK(xml_replace_attribute("<X-PRE-PROCESS cmd=\"set\" data='external_rtp_ip=x'/>", "data",
                              "a&b") == "<X-PRE-PROCESS cmd=\"set\" data='a&amp;b'/>");
  // "name" is not "data-name", and the attribute must be on the line.
  CHECK(xml_replace_attribute("<p data-name=\"a\" name=\"b\"/>", "name", "c") ==
        "<p data-name=\"a\" name=\"c\"/>");
  CHECK_FALSE(xml_replace_attribute("<param name=\"ext-rtp-ip\"", "value", "x"));
}

TEST_CASE("xml: damaged files never crash the reader; errors and settings have real lines") {
  for (const char* name : {"freeswitch/vars.xml", "freeswitch/sip_profiles/external.xml",
                           "freeswitch/autoload_configs/switch.conf.xml"}) {
    CAPTURE(name);
    natdiag::test::survives_damage(read_config(name),
                                   [](const std::string& t) { return parse_xml("f.xml", t); });
  }
  for (const char* line :
       {"<param name=\"a\" value=\"", "<X-PRE-PROCESS cmd=\"set\" data=\"", "value=", "'", ""}) {
    CAPTURE(line);
    (void)xml_replace_attribute(line, "value", "x");
  }
  // Nesting deeper than natdiag reads is an error, not a stack overflow.
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "<a>";
  for (int i = 0; i < 100000; ++i) deep += "</a>";
  const auto file = parse_xml("deep.xml", deep);
  REQUIRE(file.error);
  CHECK(file.error->message.find("nested") != std::string::npos);
}
