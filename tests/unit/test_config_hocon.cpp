// The HOCON-subset reader of `config check` (Jitsi Videobridge's jvb.conf): nested and dotted
// keys, arrays, comments; everything outside the subset an error with its line.
#include <doctest/doctest.h>

#include "src/profile/config/hocon.hpp"
#include "tests/unit/config_test_helpers.hpp"

using namespace natdiag::profile::config;
using natdiag::test::line_of;
using natdiag::test::read_config;

TEST_CASE("hocon: jvb.conf as the NAT guide writes it") {
  const auto text = read_config("jitsi/jvb.conf");
  const auto file = parse_hocon("/etc/jitsi/videobridge/jvb.conf", text);
  REQUIRE_FALSE(file.error);
  CHECK(file.syntax == "hocon");
  CHECK(file.find("videobridge.http-servers.public.port")->value == "9090");
  CHECK(file.find("videobridge.websockets.domain")->value == "meet.example.com:443");
  CHECK(file.find("videobridge.ice.udp.port")->value == "10000");
  CHECK(file.find("videobridge.ice.udp.port")->line == line_of(text, "port = 10000"));
  CHECK(file.find("videobridge.ice.tcp.enabled")->value == "false");
  CHECK(file.find("ice4j.harvest.mapping.static-mappings.0.local-address")->value == "10.77.0.10");
  CHECK(file.find("ice4j.harvest.mapping.static-mappings.0.public-address")->line ==
        line_of(text, "public-address"));
  CHECK(file.find("ice4j.harvest.mapping.static-mappings.0.name")->value == "lab-nat");
  CHECK_FALSE(file.find("ice4j.harvest.mapping.stun.addresses.0"));  // [ ]
}

TEST_CASE("hocon: dotted keys, ':' and '=', comments, root braces, quoted keys, merged objects") {
  const auto file = parse_hocon("c",
                                "{\n"
                                "  a.b.c = 1   # trailing comment\n"
                                "  a { b { d : \"two words\" } } // another\n"
                                "  \"x.y\" = quoted-key\n"
                                "  p.\"q.r\".s = 3, t = 4\n"
                                "  e { f = \"http://h/p\" }\n"
                                "  g = some unquoted words\n"
                                "}\n");
  REQUIRE_FALSE(file.error);
  CHECK(file.find("a.b.c")->value == "1");
  CHECK(file.find("a.b.c")->line == 2);
  CHECK(file.find("a.b.d")->value == "two words");
  CHECK(file.find("a.b.d")->line == 3);
  CHECK(file.find("x.y")->value == "quoted-key");
  CHECK(file.find("p.q.r.s")->value == "3");
  CHECK(file.find("t")->value == "4");
  CHECK(file.find("e.f")->value == "http://h/p");
  CHECK(file.find("g")->value == "some unquoted words");
}

TEST_CASE("hocon: arrays of scalars and of objects, over one line or several") {
  const auto file = parse_hocon("c",
                                "stun.addresses = [ \"a.example:443\", \"b.example:3478\" ]\n"
                                "list = [\n"
                                "  \"one\"\n"
                                "  \"two\",\n"
                                "  three\n"
                                "]\n"
                                "maps = [ { l = \"10.0.0.1\", p = \"1.2.3.4\" },\n"
                                "         { l = \"10.0.0.2\"\n"
                                "           p = \"1.2.3.5\" } ]\n"
                                "empty = []\n");
  REQUIRE_FALSE(file.error);
  CHECK(file.find("stun.addresses.0")->value == "a.example:443");
  CHECK(file.find("stun.addresses.1")->value == "b.example:3478");
  CHECK(file.find("list.1")->value == "two");
  CHECK(file.find("list.1")->line == 4);
  CHECK(file.find("list.2")->value == "three");
  CHECK(file.find("maps.0.p")->value == "1.2.3.4");
  CHECK(file.find("maps.1.p")->line == 9);
}

TEST_CASE("hocon: include lines are noted, not followed") {
  const auto file =
      parse_hocon("c", "include \"other.conf\"\ninclude required(file(\"x.conf\"))\na = 1\n");
  REQUIRE_FALSE(file.error);
  const auto includes = file.find_all("include");
  REQUIRE(includes.size() == 2);
  CHECK(includes[0]->value == "other.conf");
  CHECK(includes[1]->value == "required(file(\"x.conf\"))");
  CHECK(includes[1]->line == 2);
  CHECK(file.find("a")->value == "1");
  // A key named include is a key.
  const auto key = parse_hocon("c", "include = yes\ninclude { x = 2 }\n");
  REQUIRE_FALSE(key.error);
  CHECK(key.find("include")->value == "yes");
  CHECK(key.find("include.x")->value == "2");
}

TEST_CASE("hocon: what is outside the subset is an error with its line, never a guess") {
  struct Case {
    std::string text;
    int line;
    std::string words;
  };
  const Case cases[] = {
      {"a = 1\nb = ${a}\n", 2, "substitution"},
      {"a = [1]\na += 2\n", 2, "+="},
      {"a {\n  b = 1\n", 3, "line 1 is not closed"},
      {"a = [\n 1,\n", 3, "line 1 is not closed"},
      {"a = \"\"\"long\"\"\"\n", 1, "triple"},
      {"a = foo \"bar\"\n", 1, "concatenation"},
      {"\n\na = \"open\n", 3, "unterminated"},
      {"a = host:443\n", 1, "expected a new line"},
      {"a b c\n", 1, "expected '='"},
      {"a = \"\\x\"\n", 1, "escape"},
      {"{ a = 1 }\nb = 2\n", 2, "after the root"},
      {"a = }\n", 1, "expected a value"},
      {"a = 1 }\n", 1, "expected a new line"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const auto file = parse_hocon("c", c.text);
    REQUIRE(file.error);
    CHECK(file.error->line == c.line);
    CHECK_MESSAGE(file.error->message.find(c.words) != std::string::npos, file.error->message);
    CHECK(file.settings.empty());
  }
}

TEST_CASE("hocon: replacing a value keeps the line's layout and quoting") {
  CHECK(hocon_replace_value("    port = 10000   # media", "a.port", "10000", "10001") ==
        "    port = 10001   # media");
  CHECK(hocon_replace_value("  public-address = \"198.51.100.7\"", "m.0.public-address",
                            "198.51.100.7", "203.0.113.1") == "  public-address = \"203.0.113.1\"");
  // Both addresses on one line, the same value: the key decides which one changes.
  CHECK(hocon_replace_value("{ local-address = \"10.0.0.1\", public-address = \"10.0.0.1\" }",
                            "m.0.public-address", "10.0.0.1", "203.0.113.1") ==
        "{ local-address = \"10.0.0.1\", public-address = \"203.0.113.1\" }");
  // An array element alone on its line; an unquoted value that now needs quotes.
  CHECK(hocon_replace_value("    \"stun.example:443\",", "s.addresses.0", "stun.example:443",
                            "203.0.113.10:3478") == "    \"203.0.113.10:3478\",");
  CHECK(hocon_replace_value("a = old", "a", "old", "1.2.3.4:5") == "a = \"1.2.3.4:5\"");
  CHECK_FALSE(hocon_replace_value("a = other", "a", "old", "new"));
  CHECK_FALSE(hocon_replace_value("a = [x, x]", "a.1", "x", "y"));  // which x: not guessed
}

TEST_CASE("hocon: damaged files never crash the reader; errors and settings have real lines") {
  natdiag::test::survives_damage(read_config("jitsi/jvb.conf"),
                                 [](const std::string& t) { return parse_hocon("c", t); });
  // Nesting deeper than natdiag reads is an error with its line, not a stack overflow.
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "a {\n";
  const auto file = parse_hocon("c", deep);
  REQUIRE(file.error);
  CHECK(file.error->message.find("nested") != std::string::npos);
  CHECK(file.error->line == 65);
  std::string arrays(100000, '[');
  REQUIRE(parse_hocon("c", "a = " + arrays).error);
  std::string ok;
  for (int i = 0; i < 20; ++i) ok += "a {";
  ok += "b = 1";
  for (int i = 0; i < 20; ++i) ok += "}";
  CHECK(parse_hocon("c", ok).find("a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.b")->value == "1");
  for (const char* line : {"\"", "a = \"", "[", "{", "= =", "a.b.0"}) {
    CAPTURE(line);
    (void)hocon_replace_value(line, "a.b.0", "x", "y");
  }
}
