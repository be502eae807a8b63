// src/web/: the posted-result validation, TURN REST credentials, the web-report summary.
#include <doctest/doctest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "src/web/report.hpp"
#include "src/web/results.hpp"

using natdiag::web::mint_turn_credentials;
using natdiag::web::summarise;
using natdiag::web::validate_result;
using nlohmann::json;

namespace {

json result(const std::string& verdict, const std::string& udp, const std::string& turn_tcp) {
  return json{{"schema", "natdiag/1"},
              {"command", "web-check"},
              {"verdict", {{"id", verdict}, {"headline", "x"}}},
              {"checks", json::array({{{"name", "udp"}, {"result", udp}}, {{"name", "turn-tcp"}, {"result", turn_tcp}}})},
              {"nat", {{"mapping", "endpoint-independent"}}}};
}

}  // namespace

TEST_CASE("web: a well-formed web-check result is accepted") {
  CHECK_FALSE(validate_result(result("direct-udp", "works", "works")).has_value());
}

TEST_CASE("web: malformed results are refused with a reason") {
  CHECK(validate_result(json::array()).has_value());
  auto r = result("direct-udp", "works", "works");
  r["schema"] = "natdiag/2";
  CHECK(validate_result(r).has_value());
  r = result("direct-udp", "works", "works");
  r["command"] = "stun";
  CHECK(validate_result(r).has_value());
  CHECK(validate_result(result("everything-is-fine", "works", "works")).has_value());
  CHECK(validate_result(result("direct-udp", "maybe", "works")).has_value());
  r = result("direct-udp", "works", "works");
  r["checks"] = "all good";
  CHECK(validate_result(r).has_value());
  r = result("direct-udp", "works", "works");
  r["checks"].push_back(42);
  CHECK(validate_result(r).has_value());
}

TEST_CASE("web: TURN REST credentials are expiry:name and base64(HMAC-SHA1(secret, username))") {
  const auto c = mint_turn_credentials("northwind", 1'700'000'000, 600);
  CHECK(c.username == "1700000600:natdiag-web");
  // openssl: printf '1700000600:natdiag-web' | openssl dgst -sha1 -hmac northwind -binary | base64
  CHECK(c.password == "wnyyBcveAdppl+OMwxt9i6/GGiE=");
  CHECK(c.password.find("northwind") == std::string::npos);
}

TEST_CASE("web-report: counts users, TURN, failures and network types; skips junk lines") {
  std::stringstream in;
  in << result("direct-udp", "works", "works").dump() << "\n"
     << result("turn-tcp", "fails", "works").dump() << "\n"
     << result("cannot-connect", "fails", "fails").dump() << "\n"
     << "not json\n\n"
     << R"({"schema":"natdiag/1","command":"web-check"})" << "\n";
  const auto r = summarise(in);
  CHECK(r.users == 3);
  CHECK(r.direct_udp == 1);
  CHECK(r.needed_turn == 1);
  CHECK(r.failed == 1);
  CHECK(r.bad_lines == 2);
  CHECK(r.failures.size() == 1);
  CHECK(r.by_network.at("UDP open, mapping endpoint-independent") == 1);
  CHECK(r.by_network.at("UDP blocked, TCP open, mapping endpoint-independent") == 1);
  CHECK(r.by_network.at("nothing reached the server, mapping endpoint-independent") == 1);
}

TEST_CASE("web: only the page's own fields of a result are stored, each of its type, bounded") {
  json posted = result("turn-tcp", "fails", "works");
  posted["evil"] = std::string(10000, 'x');
  posted["verdict"]["forged_by"] = "someone";
  posted["user_agent"] = std::string(5000, 'u');
  posted["rtt_ms"] = "not a number";
  posted["candidates"] = json::array();
  for (int i = 0; i < 100; ++i) {
    posted["candidates"].push_back({{"type", "host"}, {"transport", "udp"}, {"address", "192.0.2.1"}, {"port", i}, {"x", 1}});
  }
  const json stored = natdiag::web::stored_result(posted);
  CHECK_FALSE(validate_result(stored).has_value());  // still a result web-report reads
  CHECK_FALSE(stored.contains("evil"));
  CHECK_FALSE(stored["verdict"].contains("forged_by"));
  CHECK(stored["verdict"]["id"] == "turn-tcp");
  CHECK(stored["user_agent"].get<std::string>().size() == 256);
  CHECK(stored["rtt_ms"].is_null());
  CHECK(stored["ipv6"].is_null());  // absent facts are null, never omitted
  CHECK(stored["candidates"].size() == 32);
  CHECK_FALSE(stored["candidates"][0].contains("x"));
  CHECK(stored["candidates"][0]["server"].is_null());
  CHECK(stored["nat"]["mapping"] == "endpoint-independent");
  CHECK(stored.dump().size() < 8 * 1024);
}
