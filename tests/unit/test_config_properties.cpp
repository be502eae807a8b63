// The Java properties reader of `config check` (bbb-web.properties, sip-communicator.properties):
// java.util.Properties.load's syntax, each setting at the line its key is on.
#include <doctest/doctest.h>

#include "src/profile/config/parsers.hpp"
#include "src/profile/config/properties.hpp"
#include "tests/unit/config_test_helpers.hpp"

using namespace natdiag::profile::config;
using natdiag::test::line_of;
using natdiag::test::read_config;

TEST_CASE("properties: the three separators, blanks around them, comments and blank lines") {
  const auto file = parse_properties("p",
                                     "# comment = not a setting\n"
                                     "   ! also a comment\n"
                                     "\n"
                                     "a=1\n"
                                     "b : 2\n"
                                     "  c    3 4  \n"
                                     "d=\n"
                                     "e\n"
                                     "f = = x\n"
                                     "g:http://h:8080/p\n");
  REQUIRE_FALSE(file.error);
  CHECK(file.syntax == "properties");
  REQUIRE(file.settings.size() == 7);
  CHECK(file.find("a")->value == "1");
  CHECK(file.find("a")->line == 4);
  CHECK(file.find("b")->value == "2");
  CHECK(file.find("c")->value == "3 4  ");  // Properties keeps trailing blanks in a value
  CHECK(file.find("c")->line == 6);
  CHECK(file.find("d")->value.empty());
  CHECK(file.find("e")->value.empty());
  CHECK(file.find("f")->value == "= x");  // only one separator is eaten
  CHECK(file.find("g")->value == "http://h:8080/p");
}

TEST_CASE("properties: continuation lines belong to the line the key is on") {
  const auto file = parse_properties("p",
                                     "list = one,\\\n"
                                     "       two,\\\n"
                                     "  three\n"
                                     "# a comment ends here \\\n"
                                     "after=1\n"
                                     "even=a\\\\\n"
                                     "next=2\n"
                                     "last=x\\");
  REQUIRE_FALSE(file.error);
  CHECK(file.find("list")->value == "one,two,three");
  CHECK(file.find("list")->line == 1);
  CHECK(file.find("after")->line == 5);      // the comment's backslash continued nothing
  CHECK(file.find("even")->value == "a\\");  // two backslashes: an escaped one, no continuation
  CHECK(file.find("next")->line == 7);
  CHECK(file.find("last")->value == "x");
}

TEST_CASE("properties: escapes in keys and values, \\uXXXX as UTF-8, CRLF lines") {
  const auto file = parse_properties("p",
                                     "key\\ with\\=odd\\:chars = v\r\n"
                                     "tab=a\\tb\\nc\\q\r\n"
                                     "uni=caf\\u00e9 \\u20AC\r\n");
  REQUIRE_FALSE(file.error);
  CHECK(file.find("key with=odd:chars")->value == "v");
  CHECK(file.find("tab")->value == "a\tb\ncq");
  CHECK(file.find("uni")->value == "caf\xC3\xA9 \xE2\x82\xAC");
  CHECK(file.lines[0].back() == '\r');  // the lines keep the file's endings for the diff
}

TEST_CASE("properties: a malformed \\uXXXX is an error with its line") {
  const auto file = parse_properties("p", "a=1\n\nb=\\u12G4\nc=3\n");
  REQUIRE(file.error);
  CHECK(file.error->line == 3);
  CHECK(file.error->message.find("\\uXXXX") != std::string::npos);
  const auto short_escape = parse_properties("p", "a=1\nb=x\\u12");
  REQUIRE(short_escape.error);
  CHECK(short_escape.error->line == 2);
}

TEST_CASE(
    "properties: BigBlueButton's bbb-web.properties and Jitsi's sip-communicator.properties") {
  const auto bbb_text = read_config("bigbluebutton/bbb-web.properties");
  const auto bbb = parse_properties("/etc/bigbluebutton/bbb-web.properties", bbb_text);
  REQUIRE_FALSE(bbb.error);
  CHECK(bbb.find("bigbluebutton.web.serverURL")->value == "https://bbb.example.com");
  CHECK(bbb.find("bigbluebutton.web.serverURL")->line == line_of(bbb_text, "serverURL="));
  CHECK(bbb.find("defaultHTML5ClientUrl")->value ==
        "${bigbluebutton.web.serverURL}/html5client/join");
  CHECK(bbb.find("redisPassword")->value.empty());

  const auto jitsi = parse_properties("sip-communicator.properties",
                                      read_config("jitsi/sip-communicator.properties"));
  REQUIRE_FALSE(jitsi.error);
  CHECK(jitsi.find("org.ice4j.ice.harvest.STUN_MAPPING_HARVESTER_ADDRESSES")->value ==
        "meet-jit-si-turnrelay.jitsi.net:443");
  CHECK(jitsi.find("org.ice4j.ice.harvest.STUN_MAPPING_HARVESTER_ADDRESSES")->line == 2);
  CHECK(jitsi.settings.size() == 10);
}

TEST_CASE("properties: replacing a value keeps the key, the separator and its blanks") {
  CHECK(properties_replace_value("a.b = old", "new") == "a.b = new");
  CHECK(properties_replace_value("  a.b:old value  ", "10.0.0.1") == "  a.b:10.0.0.1");
  CHECK(properties_replace_value("k=v\r", "w") == "k=w\r");
  CHECK(properties_replace_value("k=v", "C:\\x") == "k=C:\\\\x");
  CHECK(properties_replace_value("k=v", " lead") == "k=\\ lead");
  CHECK_FALSE(properties_replace_value("# k=v", "w"));
  CHECK_FALSE(properties_replace_value("   ", "w"));
  CHECK_FALSE(properties_replace_value("k=one,\\", "w"));  // the value goes on below
  // What the replacement writes reads back as the value.
  const auto line = properties_replace_value("k = v", "a\\b c");
  REQUIRE(line);
  CHECK(parse_properties("p", *line).find("k")->value == "a\\b c");
}

TEST_CASE("properties: damaged files never crash the reader; errors and settings have real lines") {
  for (const char* name :
       {"bigbluebutton/bbb-web.properties", "jitsi/sip-communicator.properties"}) {
    CAPTURE(name);
    natdiag::test::survives_damage(read_config(name),
                                   [](const std::string& t) { return parse_properties("p", t); });
  }
  for (const char* line : {"\\", "=", ":", "\\u", "a\\u12", "  \\", "k=\\\\\\"}) {
    CAPTURE(line);
    (void)parse_properties("p", line);
    (void)properties_replace_value(line, "x");
  }
}

TEST_CASE("config lines: split byte-exact, so the edits and the diff give the file back") {
  CHECK(split_lines("a\nb\n") == std::vector<std::string>{"a", "b", ""});
  CHECK(split_lines("a\r\nb") == std::vector<std::string>{"a\r", "b"});
  CHECK(split_lines("") == std::vector<std::string>{""});
  CHECK(split_lines("\n\n") == std::vector<std::string>{"", "", ""});
}
