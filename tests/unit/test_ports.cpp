// natdiag ports' pure parts: port-set parsing, range collapsing, the probe codec, the control
// protocol's request checks, /proc/net lines, the pacer and the report; then a listener and a
// prober on loopback.
#include <doctest/doctest.h>

#include <map>
#include <thread>

#include "src/ports/control.hpp"
#include "src/ports/families.hpp"
#include "src/ports/listener.hpp"
#include "src/ports/owners.hpp"
#include "src/ports/port_set.hpp"
#include "src/ports/prober.hpp"
#include "src/ports/report.hpp"
#include "src/ports/results.hpp"
#include "src/ports/session.hpp"
#include "src/ports/source_budget.hpp"
#include "src/ports/wire.hpp"

using namespace natdiag;
using namespace natdiag::ports;
using namespace std::chrono_literals;

namespace {

std::string error_of(std::string_view text) {
  try {
    (void)parse_port_set(text, "--udp");
  } catch (const SpecError& e) {
    return e.what();
  }
  return "";
}

PortSet set(std::string_view text) {
  return parse_port_set(text, "--test");
}

}  // namespace

TEST_CASE("ports: lists and ranges parse, merge and print back") {
  CHECK(set("80,443,7881").to_string() == "80,443,7881");
  CHECK(set("50000-60000").size() == 10001);
  CHECK(set("16384-32768").size() == 16385);
  CHECK(set("443,80,81-90,85").to_string() == "80-90,443");
  CHECK(set("5,4,3").ranges() == std::vector<PortRange>{{3, 5}});
  CHECK(set("1-65535").size() == 65535);
  CHECK(set("65535").contains(65535));
  CHECK_FALSE(set("80,443").contains(81));
  CHECK(set("50000-60000").to_string(':') == "50000:60000");
}

TEST_CASE("ports: bad input names the value") {
  CHECK(error_of("60000-50000") ==
        "--udp: the range '60000-50000' goes down (write the lower port first)");
  CHECK(error_of("70000") == "--udp: ports are 1 to 65535, got '70000'");
  CHECK(error_of("") == "--udp needs ports (e.g. 80,443 or 50000-60000), got ''");
  CHECK(error_of("0") == "--udp: ports are 1 to 65535, got '0'");
  CHECK(error_of("80,,443") == "--udp: empty item in '80,,443'");
  CHECK(error_of("80,") == "--udp: empty item in '80,'");
  CHECK(error_of("abc") == "--udp: ports are 1 to 65535, got 'abc'");
  CHECK(error_of("1-2-3") == "--udp: ports are 1 to 65535, got '1-2-3'");
  CHECK(error_of("-5") == "--udp: ports are 1 to 65535, got '-5'");
  CHECK(error_of(" 80") == "--udp: ports are 1 to 65535, got ' 80'");
}

TEST_CASE("ports: remove splits a range") {
  PortSet s = set("10-20");
  s.remove(15);
  CHECK(s.to_string() == "10-14,16-20");
  s.remove(10);
  s.remove(20);
  CHECK(s.to_string() == "11-14,16-19");
  s.remove(99);
  CHECK(s.size() == 8);
}

TEST_CASE("ports: outcomes collapse into contiguous ranges of one state") {
  std::vector<PortOutcome> outcomes;
  for (std::uint32_t p = 50000; p <= 60000; ++p) {
    outcomes.push_back({static_cast<std::uint16_t>(p), p < 55000 ? State::kOpen : State::kFiltered,
                        p < 55000 ? "arrived" : "silence", ""});
  }
  std::reverse(outcomes.begin(), outcomes.end());  // any order in
  const auto ranges = collapse(outcomes);
  REQUIRE(ranges.size() == 2);
  CHECK(ranges[0].range == PortRange{50000, 54999});
  CHECK(ranges[0].state == State::kOpen);
  CHECK(ranges[1].range == PortRange{55000, 60000});
  CHECK(ranges[1].range.size() == 5001);
  CHECK(ranges[1].state == State::kFiltered);
  // Gaps, other evidence and other owners split ranges.
  const auto split = collapse({{80, State::kOpen, "a", ""},
                               {81, State::kOpen, "a", ""},
                               {83, State::kOpen, "a", ""},
                               {84, State::kOpen, "b", ""},
                               {85, State::kInUse, "held", "nginx (pid 1)"},
                               {86, State::kInUse, "held", "nginx (pid 2)"}});
  CHECK(split.size() == 5);
  CHECK(split[0].range == PortRange{80, 81});
  CHECK(ports_in_state(split, State::kOpen).to_string() == "80-81,83-84");
  CHECK(state_name(State::kAnsweredByOther) == "answered-by-other");
  CHECK(state_name(State::kInUse) == "in-use");
}

TEST_CASE("ports: the probe codec round-trips and rejects what a key did not make") {
  const Key key = key_from_code("abcdefghjkmn");
  const Probe probe{ProbeType::kProbe, Transport::kUdp, 50123, 0x0102030405060708ull, 7};
  const auto bytes = encode_probe(probe, key);
  CHECK(bytes.size() == kProbeSize);
  CHECK(bytes[0] == 'N');
  CHECK(bytes[6] == 0xC3);  // 50123 = 0xC3CB, big-endian
  const auto decoded = decode_probe(bytes, key);
  REQUIRE(decoded.probe);
  CHECK(*decoded.probe == probe);
  CHECK(echo_of(probe).type == ProbeType::kEcho);

  CHECK(decode_probe(bytes, key_from_code("abcdefghjkmp")).error == WireError::kTag);
  for (std::size_t i = 0; i < bytes.size(); ++i) {  // every flipped byte is caught
    auto bad = bytes;
    bad[i] ^= 0x40;
    CHECK_FALSE(decode_probe(bad, key).probe);
  }
  CHECK(decode_probe(std::span(bytes).first(39), key).error == WireError::kSize);
  std::vector<std::uint8_t> longer(bytes.begin(), bytes.end());
  longer.push_back(0);
  CHECK(decode_probe(longer, key).error == WireError::kSize);
  auto wrong_magic = bytes;
  wrong_magic[0] = 'X';
  CHECK(decode_probe(wrong_magic, key).error == WireError::kMagic);
}

TEST_CASE("ports: codes normalise, keys differ per code") {
  const auto code = new_code();
  CHECK(code.size() == 14);
  CHECK(code[4] == '-');
  REQUIRE(normalise_code(code));
  CHECK(normalise_code(code)->size() == 12);
  CHECK(normalise_code("ABCD-EFGH-JKMN") == std::optional<std::string>("abcdefghjkmn"));
  CHECK_FALSE(normalise_code("abcd-efgh-jkm"));   // too short
  CHECK_FALSE(normalise_code("abcd-efgh-jkm0"));  // 0 is not in the alphabet
  CHECK_FALSE(normalise_code(""));
  CHECK(key_from_code("abcdefghjkmn") != key_from_code("abcdefghjkmp"));
  CHECK(from_hex<4>("0a0B0c0d") == std::optional<std::array<std::uint8_t, 4>>({10, 11, 12, 13}));
  CHECK_FALSE(from_hex<4>("0a0b0c"));
  CHECK_FALSE(from_hex<2>("zz00"));
}

TEST_CASE("ports: serve checks a request: limits, secret, no address field") {
  ProbeRequest r;
  r.key = random_key();
  r.session = 42;
  r.udp = set("50000-60000");
  r.tcp = set("80,443,7881");
  r.seconds = 5;
  std::string refusal;
  auto ok = parse_request(make_request(r, "c0ffee", ""), "c0ffee", "", refusal);
  REQUIRE(ok);
  CHECK(refusal.empty());
  CHECK(ok->udp == r.udp);
  CHECK(ok->tcp == r.tcp);
  CHECK(ok->session == 42);
  CHECK(ok->key == r.key);
  // There is no field naming where to probe: an extra "address" changes nothing serve reads.
  auto with_address = make_request(r, "c0ffee", "");
  with_address["address"] = "192.0.2.99";
  with_address["target"] = "192.0.2.99";
  CHECK(parse_request(with_address, "c0ffee", "", refusal));

  SUBCASE("the secret") {
    const auto signed_request = make_request(r, "c0ffee", "s3cret");
    CHECK(parse_request(signed_request, "c0ffee", "s3cret", refusal));
    CHECK_FALSE(parse_request(signed_request, "c0ffef", "s3cret",
                              refusal));  // replayed on another challenge
    CHECK(refusal == "bad-mac");
    CHECK_FALSE(parse_request(make_request(r, "c0ffee", ""), "c0ffee", "s3cret", refusal));
    CHECK(refusal == "bad-mac");
    CHECK_FALSE(parse_request(make_request(r, "c0ffee", "wrong"), "c0ffee", "s3cret", refusal));
    auto tampered = signed_request;
    tampered["udp"] = "1-20000";
    CHECK_FALSE(parse_request(tampered, "c0ffee", "s3cret", refusal));
    CHECK(refusal == "bad-mac");
  }
  SUBCASE("limits") {
    r.udp = set("1-20001");
    CHECK_FALSE(parse_request(make_request(r, "c", ""), "c", "", refusal));
    CHECK(refusal == "too-many-ports");
    r.udp = set("1-20000");
    CHECK(parse_request(make_request(r, "c", ""), "c", "", refusal));
    r.tcp = set("1-65");
    CHECK_FALSE(parse_request(make_request(r, "c", ""), "c", "", refusal));
    CHECK(refusal == "too-many-ports");
    r.tcp = set("80");
    r.seconds = 11;
    CHECK_FALSE(parse_request(make_request(r, "c", ""), "c", "", refusal));
    CHECK(refusal == "too-long");
  }
  SUBCASE("malformed") {
    for (
        const char* text :
        {R"({"type":"request"})", R"({"type":"request","key":"00","session":"00","seconds":1})",
         R"([1,2])", R"({"type":"hello"})",
         R"({"type":"request","key":"0000000000000000000000000000000000000000000000000000000000000000","session":"0000000000000000","seconds":1,"udp":"70000"})",
         R"({"type":"request","key":"0000000000000000000000000000000000000000000000000000000000000000","session":"0000000000000000","seconds":1,"udp":5})"}) {
      CHECK_FALSE(parse_request(nlohmann::json::parse(text), "c", "", refusal));
      CHECK(refusal == "malformed");
    }
  }
}

TEST_CASE("ports: control lines") {
  LineReader reader;
  CHECK(reader.feed("{\"type\":\"a\"}\n{\"ty"));
  CHECK(reader.next() == std::optional<std::string>("{\"type\":\"a\"}"));
  CHECK_FALSE(reader.next());
  CHECK(reader.feed("pe\":\"b\"}\n"));
  CHECK(parse_message(*reader.next())->value("type", "") == "b");
  CHECK_FALSE(parse_message("not json"));
  CHECK_FALSE(parse_message("{\"type\":5}"));
  CHECK_FALSE(parse_message("[]"));
  LineReader flood;
  CHECK_FALSE(flood.feed(std::string(kMaxLine + 1, 'x')));
}

TEST_CASE("ports: /proc/net lines") {
  const auto e = parse_proc_net_line(
      "   1: 00000000:01BB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
      "123456 1 0000000000000000 100 0 0 10 0");
  REQUIRE(e);
  CHECK(e->port == 443);
  CHECK(e->state == 0x0A);
  CHECK(e->inode == 123456);
  CHECK_FALSE(
      parse_proc_net_line("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
                          "retrnsmt   uid  timeout inode"));
  CHECK_FALSE(parse_proc_net_line(""));
  CHECK_FALSE(parse_proc_net_line("garbage"));
}

TEST_CASE("ports: the pacer spaces bursts by the rate") {
  Pacer pacer(1000, 64);  // 1000/s: 64 packets every 64 ms
  const stun::TimePoint t0{};
  CHECK(pacer.allowance(t0) == 64);
  pacer.sent(64, t0);
  CHECK(pacer.allowance(t0 + 10ms) == 0);
  CHECK(pacer.next_time() == t0 + 64ms);
  CHECK(pacer.allowance(t0 + 64ms) == 64);
  // After a long pause the budget is one burst, not everything saved up.
  pacer.sent(64, t0 + 10s);
  CHECK(pacer.next_time() <= t0 + 10s + 64ms);
  CHECK(pacer.allowance(t0 + 10s + 1ms) == 0);
}

TEST_CASE("ports: the report leads with the verdict and advises only what failed") {
  PortsReport r;
  r.mode = "via";
  r.public_ip = "203.0.113.1";
  r.local_ip = "10.77.0.10";
  r.servers.push_back({"livekit", set("80,443,7881"), set("50000-60000")});
  r.tcp.tested = set("80,443,7881");
  r.udp.tested = set("50000-60000");
  r.tcp.ranges = collapse(
      {{80, State::kOpen, "e", ""}, {443, State::kOpen, "e", ""}, {7881, State::kOpen, "e", ""}});
  r.udp.ranges = {{{50000, 54999}, State::kOpen, "e", ""},
                  {{55000, 60000}, State::kFiltered, "silence", ""}};
  CHECK_FALSE(all_open(r));
  CHECK(verdict_line(r) ==
        "Not every port is open from outside: TCP 80, 443, 7881 open; UDP 50000-54999 open, "
        "55000-60000 filtered "
        "(5,001 ports): only part of livekit's UDP range (50000-60000) gets through");
  const auto advice = advice_lines(r);
  REQUIRE(advice.size() >= 4);
  CHECK(advice[0] ==
        "Forward UDP 55000-60000 to 10.77.0.10 on the router (port forwarding / virtual server) "
        "(livekit needs it: without it clients fall back to TCP 7881 or TURN).");
  CHECK(std::find(advice.begin(), advice.end(), "    ufw allow 55000:60000/udp") != advice.end());
  CHECK(std::find(advice.begin(), advice.end(),
                  "    nft add rule inet filter input udp dport { 55000-60000 } accept") !=
        advice.end());
  nlohmann::ordered_json j;
  report_to_json(r, j);
  CHECK(j["verdict"] == "not-open");
  CHECK(j["udp"]["ranges"].size() == 2);
  CHECK(j["udp"]["ranges"][1]["count"] == 5001);
  CHECK(j["udp"]["counts"]["filtered"] == 5001);
  CHECK(j["local_ip"] == "10.77.0.10");
  // All open, one port held (in-use): healthy, and no advice.
  r.udp.ranges = {{{50000, 60000}, State::kOpen, "e", ""}};
  r.tcp.ranges = collapse({{80, State::kOpen, "e", ""},
                           {443, State::kInUse, "held", "nginx (pid 7)"},
                           {7881, State::kOpen, "e", ""}});
  CHECK(all_open(r));
  CHECK(advice_lines(r).empty());
  CHECK(
      verdict_line(r) ==
      "All 10,003 ports tested are open from outside (1 held by another program here: not tested)");
}

TEST_CASE("ports: a listener and a prober on loopback") {
  const Key key = random_key();
  // Ports the kernel picks are free now; a neighbour may take one meanwhile, which then shows
  // as held.
  PortSet udp;
  PortSet tcp;
  for (int i = 0; i < 50; ++i) {
    auto s = net::UdpSocket::bind(*TransportAddress::parse("127.0.0.1:0"));
    udp.add(s.local_address().port, s.local_address().port);
  }
  auto held = net::UdpSocket::bind(*TransportAddress::parse("0.0.0.0:0"));
  const auto held_port = held.local_address().port;
  udp.add(held_port, held_port);
  Listener listener(tcp, udp, key);
  CHECK(listener.held_udp().contains(held_port));
  std::atomic<bool> stop{false};
  std::thread t([&] { listener.poll_until(stun::Clock::now() + 3s, true); });
  const auto run = run_probe(*TransportAddress::parse("127.0.0.1"), tcp, listener.listening_udp(),
                             key, 20000, stun::Clock::now() + 2s);
  t.join();
  CHECK(run.udp_echoed.size() == listener.listening_udp().size());
  CHECK(listener.udp_missing().empty());
  // A prober with another key gets no echo: the listener ignores what it cannot verify.
  const auto stranger =
      run_probe(*TransportAddress::parse("127.0.0.1"), tcp, listener.listening_udp(), random_key(),
                20000, stun::Clock::now() + 300ms);
  CHECK(stranger.udp_echoed.empty());
}

TEST_CASE("ports: retransmission rounds stop when silence proves enough") {
  SUBCASE("no loss, everything answers: one round") {
    RoundPolicy p;
    p.record(10001, 10001);
    CHECK_FALSE(p.keep_going());
  }
  SUBCASE("no loss, half filtered: a few silent rounds, then stop") {
    RoundPolicy p;
    p.record(10001, 5000);
    int rounds = 1;
    while (p.keep_going() && rounds < 20) {
      p.record(5001, 0);
      ++rounds;
    }
    CHECK(rounds == 1 + 4);  // 0.05^3 > 1e-4 >= 0.05^4... (floor loss 5 %)
  }
  SUBCASE("20 % loss: the estimate follows, and more silent rounds are needed") {
    RoundPolicy p;
    std::size_t missing = 16385;
    for (std::size_t answered : {13108u, 2621u, 524u, 105u, 21u, 4u, 1u}) {
      p.record(missing, answered);
      missing -= answered;
      CHECK(p.keep_going());
    }
    CHECK(p.loss() == doctest::Approx(0.2).epsilon(0.05));
    int silent = 0;
    while (p.keep_going() && silent < 20) {
      p.record(missing, 0);
      ++silent;
    }
    CHECK(silent == 6);  // 0.2^5 = 3.2e-4 >= 1e-4 > 0.2^6
  }
}

TEST_CASE("ports: adding in any order gives the same set") {
  PortSet up, down, mixed;
  for (std::uint32_t p = 100; p <= 200; p += 3)
    up.add(static_cast<std::uint16_t>(p), static_cast<std::uint16_t>(p + 1));
  for (std::uint32_t p = 200; p >= 100; p -= 1) {
    if ((p - 100) % 3 == 0)
      down.add(static_cast<std::uint16_t>(p + 1), static_cast<std::uint16_t>(p));
  }
  CHECK(up == down);
  mixed.add(150, 160);
  mixed.add(100, 120);
  mixed.add(161, 170);
  mixed.add(121, 149);
  CHECK(mixed.to_string() == "100-170");
  mixed.add(171, 171);
  mixed.add(165, 180);
  CHECK(mixed.to_string() == "100-180");
  PortSet big;
  for (std::uint32_t p = 1; p <= 65535; ++p)
    big.add(static_cast<std::uint16_t>(p), static_cast<std::uint16_t>(p));
  CHECK(big.ranges().size() == 1);
}

TEST_CASE("ports: a UDP set larger than one probe-back request is cut into requests, in order, nothing lost") {
  PortSet bbb_and_livekit;
  bbb_and_livekit.add(16384, 32768);
  bbb_and_livekit.add(50000, 60000);
  const auto parts = natdiag::ports::split(bbb_and_livekit, 20000);
  REQUIRE(parts.size() == 2);
  CHECK(parts[0].size() == 20000);
  CHECK(parts[1].size() == 6386);
  CHECK(parts[0].to_string() == "16384-32768,50000-53614");
  PortSet back;
  for (const auto& p : parts) back.add(p);
  CHECK(back == bbb_and_livekit);
  CHECK(natdiag::ports::split(PortSet{}, 20000).size() == 1);
  PortSet exact;
  exact.add(1, 20000);
  CHECK(natdiag::ports::split(exact, 20000).size() == 1);
}

namespace {

stun::TransportAddress v6_in_one_64(std::uint32_t n) {
  auto a = *stun::TransportAddress::parse("[2001:db8:5:6::]:40000");
  for (int i = 0; i < 4; ++i) a.ip[12 + i] = static_cast<std::uint8_t>(n >> (24 - 8 * i));
  a.ip[8] = static_cast<std::uint8_t>(n & 0xFF);  // interface ids differ in their high bytes too
  return a;
}

}  // namespace

TEST_CASE("probe-back budget: every address of one IPv6 /64 shares one budget, the table stays bounded") {
  const auto t0 = std::chrono::steady_clock::time_point{} + 1000s;
  SourceBudget budget(12, 4, 64, 8);
  int admitted = 0;
  std::map<std::string, int> refused;
  for (std::uint32_t n = 1; n <= 10000; ++n) {
    const auto source = v6_in_one_64(n);
    const auto why = budget.admit(source, t0 + std::chrono::milliseconds(n));
    if (why.empty()) {
      ++admitted;
      budget.release(source);
    } else {
      ++refused[why];
    }
  }
  CHECK(admitted == 12);  // --probe-per-minute, not 12 per address
  CHECK(refused["per-ip-budget"] == 10000 - 12);
  CHECK(budget.tracked() == 1);
  CHECK(budget.key_text(v6_in_one_64(7)) == "2001:db8:5:6::/64");
  // A minute later the /64 has its budget back.
  CHECK(budget.admit(v6_in_one_64(99999), t0 + 75s).empty());
  budget.release(v6_in_one_64(99999));

  SUBCASE("one request at a time per /64, whichever address asks") {
    SourceBudget b(12, 4, 64, 8);
    CHECK(b.admit(v6_in_one_64(1), t0).empty());
    CHECK(b.admit(v6_in_one_64(2), t0) == "busy-ip");
    b.release(v6_in_one_64(3));  // the same key: its one request is over
    CHECK(b.admit(v6_in_one_64(4), t0).empty());
    CHECK(b.running() == 1);
  }
  SUBCASE("--ipv6-prefix 128: every address is its own key, and the table is capped") {
    SourceBudget b(12, 100, 128, 8);
    std::map<std::string, int> why;
    for (std::uint32_t n = 1; n <= 100; ++n) ++why[b.admit(v6_in_one_64(n), t0)];
    CHECK(why[""] == 8);
    CHECK(why["too-many-sources"] == 92);
    CHECK(b.tracked() == 8);
    for (std::uint32_t n = 1; n <= 8; ++n) b.release(v6_in_one_64(n));
    // Keys with nothing left in their minute are forgotten, and newcomers fit again.
    CHECK(b.admit(v6_in_one_64(500), t0 + 61s).empty());
    CHECK(b.tracked() == 1);
  }
  SUBCASE("IPv4 sources count by address") {
    SourceBudget b(1, 4, 64, 8);
    const auto a = *stun::TransportAddress::parse("198.51.100.7:1");
    CHECK(b.admit(a, t0).empty());
    b.release(a);
    CHECK(b.admit(a, t0 + 1s) == "per-ip-budget");
    CHECK(b.admit(*stun::TransportAddress::parse("198.51.100.8:1"), t0 + 1s).empty());
  }
}
