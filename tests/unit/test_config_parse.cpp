// config check's parsers (ini, coturn, YAML, libconfig) and its unified diff writer.
#include <doctest/doctest.h>

#include <random>

#include "src/profile/config/line_edits.hpp"
#include "src/profile/config/parsers.hpp"
#include "tests/unit/config_test_helpers.hpp"

using namespace natdiag::profile::config;
using natdiag::test::data_file;
using natdiag::test::line_of;

namespace {

ParsedFile parsed(const std::string& syntax, const std::string& text) {
  return parse_config("f", syntax, text);
}

}  // namespace

TEST_CASE("split_lines keeps the text byte for byte, final newline or not") {
  CHECK(split_lines("a\nb\n") == std::vector<std::string>{"a", "b", ""});
  CHECK(split_lines("a\nb") == std::vector<std::string>{"a", "b"});
  CHECK(split_lines("") == std::vector<std::string>{""});
}

TEST_CASE("ini: comments, sections, key=value, and a line that is none of them") {
  const auto f = parsed("ini", ";c\n# c\nstunServerAddress = 203.0.113.10\n[Section]\nkey=\"v\"\n");
  REQUIRE_FALSE(f.error);
  REQUIRE(f.settings.size() == 2);
  CHECK(f.settings[0].key == "stunServerAddress");
  CHECK(f.settings[0].value == "203.0.113.10");
  CHECK(f.settings[0].line == 3);
  CHECK(f.settings[1].key == "Section.key");
  CHECK(f.settings[1].value == "v");
  const auto bad = parsed("ini", "a=1\nnot a setting\n");
  REQUIRE(bad.error);
  CHECK(bad.error->line == 2);
  // Kurento's own file: every setting is commented out.
  CHECK(parsed("ini", data_file("config/kurento/WebRtcEndpoint.conf.ini")).settings.empty());
}

TEST_CASE("coturn: key=value, key value, bare keys, repeated keys") {
  const auto f = parsed("coturn",
                        "# c\nexternal-ip=1.2.3.4/10.0.0.1\nexternal-ip "
                        "2001:db8::1\nfingerprint\n--min-port=49152\n");
  REQUIRE_FALSE(f.error);
  CHECK(f.find_all("external-ip").size() == 2);
  CHECK(f.find("external-ip")->value == "2001:db8::1");
  CHECK(f.find("fingerprint")->value.empty());
  CHECK(f.find("min-port")->line == 5);
  const auto debian = parsed("coturn", data_file("turnserver-debian12.conf"));
  CHECK_FALSE(debian.error);
  CHECK(debian.find("no-stun-backward-compatibility") != nullptr);
}

TEST_CASE("YAML: nested keys, sequences by index, the scalar's own line, errors with a line") {
  const auto text = data_file("config/bigbluebutton/production.yml");
  const auto f = parsed("yaml", text);
  REQUIRE_FALSE(f.error);
  const auto* announced = f.find("mediasoup.webrtc.listenIps.0.announcedIp");
  REQUIRE(announced != nullptr);
  CHECK(announced->value == "203.0.113.1");
  CHECK(announced->line == line_of(text, "        announcedIp: 203.0.113.1"));
  const auto empty = parsed("yaml", "a:\n  b:\n");
  REQUIRE(empty.find("a.b") != nullptr);
  CHECK(empty.find("a.b")->line == 2);
  const auto bad = parsed("yaml", "rtc:\n  node_ip: [1.2.3.4\n  port: 1\n");
  REQUIRE(bad.error);
  CHECK(bad.error->line >= 2);
  CHECK_FALSE(bad.error->message.empty());
}

TEST_CASE("libconfig: Debian's janus.jcfg, and a syntax error with its line") {
  const auto text = data_file("config/janus/janus.jcfg");
  const auto f = parsed("libconfig", text);
  REQUIRE_FALSE(f.error);
  REQUIRE(f.find("nat.ice_ignore_list") != nullptr);
  CHECK(f.find("nat.ice_ignore_list")->value == "vmnet");
  CHECK(f.find("nat.ice_ignore_list")->line == line_of(text, "\tice_ignore_list = \"vmnet\""));
  CHECK(f.find("nat.nice_debug")->value == "false");
  CHECK(f.find("general.protected_folders.0")->value == "/bin");
  const auto bad = parsed("libconfig", "nat: {\n  stun_port = 3478\n  stun_server = \"x\n}\n");
  REQUIRE(bad.error);
  CHECK(bad.error->line >= 3);
}

TEST_CASE("replace_value keeps the key, the spacing, the quotes and a trailing comment") {
  const auto yaml = parsed("yaml", "rtc:\n  node_ip: 198.51.100.7   # old\n");
  CHECK(replace_value(yaml, *yaml.find("rtc.node_ip"), "203.0.113.1").text ==
        "  node_ip: 203.0.113.1   # old");
  const auto cfg =
      parsed("libconfig", "nat: {\n\tnat_1_1_mapping = \"1.2.3.4\"  # x\n\tstun_port = 3478;\n}\n");
  CHECK(replace_value(cfg, *cfg.find("nat.nat_1_1_mapping"), "203.0.113.1").text ==
        "\tnat_1_1_mapping = \"203.0.113.1\"  # x");
  CHECK(replace_value(cfg, *cfg.find("nat.stun_port"), "3479").text == "\tstun_port = 3479;");
  const auto ini = parsed("ini", "externalIPv4 = 1.2.3.4\n");
  CHECK(replace_value(ini, *ini.find("externalIPv4"), "203.0.113.1").text ==
        "externalIPv4 = 203.0.113.1");
  const auto coturn = parsed("coturn", "relay-ip 203.0.113.1\n");
  CHECK(replace_value(coturn, *coturn.find("relay-ip"), "10.77.0.10").text ==
        "relay-ip 10.77.0.10");
}

TEST_CASE(
    "insert_setting: after the commented example, inside the section, under the YAML parent") {
  const auto ini = parsed("ini", ";; c\n;externalIPv4=198.51.100.1\n;iceTcp=1\n");
  const auto e1 = insert_setting(ini, "externalIPv4", "203.0.113.1");
  REQUIRE(e1.size() == 1);
  CHECK(e1[0].line == 2);
  CHECK(e1[0].text == "externalIPv4=203.0.113.1");
  const auto cfg = parsed("libconfig", "media: {\n}\nnat: {\n\tnice_debug = false\n}\n");
  const auto e2 = insert_setting(cfg, "nat.nat_1_1_mapping", "\"203.0.113.1\"");
  REQUIRE(e2.size() == 1);
  CHECK(e2[0].line == 3);
  CHECK(e2[0].text == "\tnat_1_1_mapping = \"203.0.113.1\"");
  const auto yaml = parsed("yaml", "port: 7880\nrtc:\n    tcp_port: 7881\nkeys:\n  k: s\n");
  const auto e3 = insert_setting(yaml, "rtc.node_ip", "203.0.113.1");
  REQUIRE(e3.size() == 1);
  CHECK(e3[0].line == 2);
  CHECK(e3[0].text == "    node_ip: 203.0.113.1");
  const auto item = parsed("yaml", "m:\n  l:\n    - ip: 0.0.0.0\n      x: 1\n");
  const auto e4 = insert_setting(item, "m.l.0.announcedIp", "203.0.113.1");
  REQUIRE(e4.size() == 1);
  CHECK(e4[0].line == 3);
  CHECK(e4[0].text == "      announcedIp: 203.0.113.1");
  const auto missing = parsed("yaml", "port: 7880\n");
  const auto e5 = insert_setting(missing, "rtc.node_ip", "203.0.113.1");
  REQUIRE(e5.size() == 2);
  CHECK(e5[0].text == "rtc:");
  CHECK(e5[1].text == "  node_ip: 203.0.113.1");
  CHECK(insert_setting(parsed("yaml", "rtc: {tcp_port: 7881}\n"), "rtc.node_ip", "x").empty());
  const auto empty_parent = parsed("yaml", "port: 7880\nrtc:\nkeys:\n  k: s\n");
  const auto e6 = insert_setting(empty_parent, "rtc.node_ip", "203.0.113.1");
  REQUIRE(e6.size() == 1);
  CHECK(e6[0].line == 2);
  CHECK(e6[0].text == "  node_ip: 203.0.113.1");
}

TEST_CASE("unified diff: 3 lines of context, merged hunks, untouched lines kept") {
  std::vector<std::string> lines;
  for (int i = 1; i <= 20; ++i) lines.push_back("line " + std::to_string(i));
  lines.push_back("");  // ends with a newline
  const std::vector<LineEdit> edits = {{LineEdit::Kind::replace, 5, "five"},
                                       {LineEdit::Kind::insert_after, 9, "after nine"},
                                       {LineEdit::Kind::replace, 20, "twenty"}};
  const auto diff = unified_diff(lines, edits, "etc/x.conf");
  CHECK(diff ==
        "--- a/etc/x.conf\n+++ b/etc/x.conf\n"
        "@@ -2,11 +2,12 @@\n line 2\n line 3\n line 4\n-line 5\n+five\n line 6\n line 7\n line 8\n "
        "line 9\n+after nine\n"
        " line 10\n line 11\n line 12\n"
        "@@ -17,4 +18,4 @@\n line 17\n line 18\n line 19\n-line 20\n+twenty\n");
  CHECK(
      apply_edits(lines, {}) ==
      "line 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\nline 8\nline 9\nline 10\n"
      "line 11\nline 12\nline 13\nline 14\nline 15\nline 16\nline 17\nline 18\nline 19\nline 20\n");
  CHECK(unified_diff(lines, {{LineEdit::Kind::replace, 3, "line 3"}}, "x").empty());
}

TEST_CASE("unified diff: a file without a final newline keeps lacking one") {
  const std::vector<std::string> lines = {"a", "b"};
  CHECK(unified_diff(lines, {{LineEdit::Kind::insert_after, 2, "c"}}, "f") ==
        "--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n a\n-b\n\\ No newline at end of file\n+b\n+c\n\\ No "
        "newline at end of file\n");
  CHECK(apply_edits(lines, {{LineEdit::Kind::insert_after, 2, "c"}}) == "a\nb\nc");
  CHECK(unified_diff(lines, {{LineEdit::Kind::replace, 1, "A"}}, "f") ==
        "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n-a\n+A\n b\n\\ No newline at end of file\n");
  CHECK(unified_diff({""}, {{LineEdit::Kind::insert_after, 0, "x"}}, "f") ==
        "--- a/f\n+++ b/f\n@@ -0,0 +1 @@\n+x\n");
  CHECK(apply_edits({""}, {{LineEdit::Kind::insert_after, 0, "x"}}) == "x\n");
}

TEST_CASE("malformed files never crash a parser, a checker or the diff writer") {
  // Every test file, mutated: bytes flipped, lines cut and doubled, brackets and quotes planted.
  struct Sample {
    const char* server;
    const char* name;
    const char* file;
  };
  const Sample samples[] = {
      {"janus", "janus.jcfg", "config/janus/janus.jcfg"},
      {"kurento", "WebRtcEndpoint.conf.ini", "config/kurento/WebRtcEndpoint.conf.ini"},
      {"livekit", "livekit.yaml", "config/livekit/livekit.yaml"},
      {"bigbluebutton", "default.yml", "config/bigbluebutton/default.yml"},
      {"coturn", "turnserver.conf", "turnserver-debian12.conf"}};
  std::mt19937 random(16);
  const std::string planted = "{}[]:\"'=#;\n\t-&*!|>%@`\\\0\xff";
  int runs = 0;
  for (const auto& sample : samples) {
    const std::string original = data_file(sample.file);
    for (int i = 0; i < 300; ++i) {
      std::string text = original;
      const int changes = 1 + static_cast<int>(random() % 8);
      for (int c = 0; c < changes && !text.empty(); ++c) {
        const auto at = random() % text.size();
        switch (random() % 4) {
          case 0: text[at] = planted[random() % planted.size()]; break;
          case 1: text.erase(at, random() % 200); break;
          case 2: text.insert(at, text.substr(at, random() % 300)); break;
          default: text.insert(at, 1, planted[random() % planted.size()]); break;
        }
      }
      auto facts = natdiag::test::lab_facts();
      if (i % 2 == 1) facts.profile.public_ipv4.reset();
      CHECK_NOTHROW({
        const auto findings = natdiag::test::check_text(sample.server, sample.name, text, facts);
        (void)natdiag::test::fixed_text(sample.server, sample.name, text, findings);
        const auto* kind = kind_for(sample.server, sample.name);
        const auto parsed_file = parse_config(sample.name, kind->syntax, text);
        std::vector<LineEdit> edits;
        for (const auto& f : findings) edits.insert(edits.end(), f.edits.begin(), f.edits.end());
        (void)unified_diff(parsed_file.lines, edits, "f");
      });
      ++runs;
    }
  }
  CHECK(runs == 1500);
}

TEST_CASE("a file with CRLF line ends keeps them on the lines natdiag changes and adds") {
  const std::string text = "[x]\r\n;externalIPv4=198.51.100.1\r\nexternalIPv6=2001:db8::1\r\n";
  const auto f = parsed("ini", text);
  REQUIRE_FALSE(f.error);
  CHECK(f.find("x.externalIPv6")->value == "2001:db8::1");
  std::vector<LineEdit> edits = insert_setting(f, "externalIPv4", "203.0.113.1");
  edits.push_back(replace_value(f, *f.find("x.externalIPv6"), "2001:db8::2"));
  CHECK(apply_edits(f.lines, edits) ==
        "[x]\r\n;externalIPv4=198.51.100.1\r\nexternalIPv4=203.0.113.1\r\nexternalIPv6=2001:db8::"
        "2\r\n");
}
