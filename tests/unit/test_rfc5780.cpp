// The RFC 5780 state machine against a simulated NAT and server with a fake clock: the whole
// mapping x filtering matrix, no NAT, loss, duplicates, late and spoofed answers, bad servers.
#include <doctest/doctest.h>

#include <array>
#include <functional>
#include <map>
#include <queue>
#include <random>
#include <set>
#include <tuple>

#include "stun/proto/rfc5780.hpp"

using namespace natdiag::stun;
using namespace natdiag::stun::rfc5780;
using namespace std::chrono_literals;

namespace {

TransportAddress addr(const char* text) { return *TransportAddress::parse(text); }

const TransportAddress kA1P1 = addr("192.0.2.1:3478");
const TransportAddress kA2P2 = addr("192.0.2.2:3479");
const TransportAddress kLocalMapping = addr("10.0.0.2:40001");
const TransportAddress kLocalFiltering = addr("10.0.0.2:40002");

enum class ServerFault {
  kNone,
  kNoOtherAddress,
  kIgnoresChangeRequest,   // answers from the address asked
  kRefusesChangeRequest,   // answers 420
  kSilentOnChangeRequest,  // advertises OTHER-ADDRESS but cannot send from it (behind 1:1 NAT)
  kNoResponsePort,         // answers 420 to RESPONSE-PORT (an optional RFC 5780 attribute)
};

// A NAT table with RFC 4787 mapping and filtering behaviour, and an RFC 5780 server.
struct Network {
  Behaviour mapping = Behaviour::kEndpointIndependent;
  Behaviour filtering = Behaviour::kAddressAndPortDependent;  // kDirect: no NAT at all
  ServerFault fault = ServerFault::kNone;
  Duration rtt = 20ms;
  double loss = 0;          // per packet, each direction
  bool duplicate = false;   // every delivered answer arrives twice
  std::set<Test> lose_answers;  // every answer to these tests is lost (an exact loss pattern)
  std::set<Test> unreachable;   // these tests' requests come back as ICMP port unreachable
  std::mt19937 rng{1};

  std::map<std::tuple<Socket, std::string>, std::uint16_t> mappings;  // (socket, dest key) -> port
  std::set<std::tuple<std::uint16_t, std::string>> pinholes;          // (public port, remote key)
  std::uint16_t next_port = 50000;

  static std::string key(Behaviour b, const TransportAddress& a) {
    if (b == Behaviour::kEndpointIndependent) return "*";
    if (b == Behaviour::kAddressDependent) return a.ip_string();
    return a.to_string();
  }
  bool lost() { return loss > 0 && std::uniform_real_distribution<>(0, 1)(rng) < loss; }

  // Outbound through the NAT: the public address the server sees.
  TransportAddress outbound(Socket s, const TransportAddress& to) {
    const TransportAddress local = s == Socket::kMapping ? kLocalMapping : kLocalFiltering;
    if (filtering == Behaviour::kDirect) return local;
    auto [it, fresh] = mappings.try_emplace({s, key(mapping, to)}, 0);
    if (fresh) it->second = next_port++;
    pinholes.insert({it->second, key(filtering, to)});
    TransportAddress pub = addr("203.0.113.1");
    pub.port = it->second;
    return pub;
  }
  bool inbound_allowed(const TransportAddress& pub, const TransportAddress& from) const {
    if (filtering == Behaviour::kDirect) return true;
    for (Behaviour level : {Behaviour::kEndpointIndependent, Behaviour::kAddressDependent,
                            Behaviour::kAddressAndPortDependent}) {
      if (level == filtering) return pinholes.count({pub.port, key(level, from)}) > 0;
    }
    return false;
  }
  // The server's answer: which address it comes from and what it says.
  Observation answer(const Send& send, const TransportAddress& seen_as) {
    Observation o;
    o.mapped = seen_as;
    if (fault != ServerFault::kNoOtherAddress) o.other_address = kA2P2;
    TransportAddress from = send.destination;
    if (send.response_port && fault == ServerFault::kNoResponsePort) {
      o.error_code = 420;
      o.mapped.reset();
      o.source = from;
      return o;
    }
    if (send.change_ip || send.change_port) {
      if (fault == ServerFault::kRefusesChangeRequest || fault == ServerFault::kNoOtherAddress) {
        o.error_code = 420;
        o.mapped.reset();
      } else if (fault != ServerFault::kIgnoresChangeRequest) {
        if (send.change_ip) from = addr(from.ip[3] == 1 ? "192.0.2.2" : "192.0.2.1"), from.port = send.destination.port;
        if (send.change_port) from.port = from.port == 3478 ? 3479 : 3478;
      }
    }
    o.source = from;
    return o;
  }
};

struct Delivery {
  TimePoint at;
  Test test;
  Observation observation;
  bool operator>(const Delivery& o) const { return at > o.at; }
};

struct Run {
  Verdict verdict;
  std::array<TestRecord, kTestCount> records;
  Duration elapsed{};
  int disbelieved = 0;
  int transmissions = 0;
};

// Drives a Discovery through the network until it is done. `inject` may add stray packets.
Run run(Network& net, Duration budget = 3s,
        const std::function<void(TimePoint, std::priority_queue<Delivery, std::vector<Delivery>, std::greater<>>&)>& inject = {}) {
  const TimePoint t0{};
  TimePoint now = t0;
  Discovery d(kA1P1, kLocalMapping, kLocalFiltering, now, now + budget);
  std::vector<std::pair<TimePoint, Test>> icmp;
  std::priority_queue<Delivery, std::vector<Delivery>, std::greater<>> queue;
  if (inject) inject(t0, queue);
  Run r;
  for (int guard = 0; guard < 100000 && !d.done(); ++guard) {
    for (const Send& s : d.poll(now)) {
      ++r.transmissions;
      if (net.lost()) continue;
      if (net.unreachable.count(s.test)) {
        icmp.push_back({now + net.rtt, s.test});
        continue;
      }
      if (net.fault == ServerFault::kSilentOnChangeRequest && (s.change_ip || s.change_port)) continue;
      const TransportAddress pub = net.outbound(s.socket, s.destination);
      const Observation o = net.answer(s, pub);
      TransportAddress to = pub;  // RFC 5780 §7.5: RESPONSE-PORT redirects the answer's port
      if (s.response_port && !o.error_code) to.port = *s.response_port;
      if (net.lose_answers.count(s.test) || !net.inbound_allowed(to, o.source) || net.lost()) continue;
      queue.push({now + net.rtt, s.test, o});
      if (net.duplicate) queue.push({now + net.rtt + 1ms, s.test, o});
    }
    TimePoint next = d.next_event();
    if (!queue.empty()) next = std::min(next, queue.top().at);
    for (const auto& [at, test] : icmp) next = std::min(next, at);
    if (d.done()) break;
    now = std::max(now, next);
    for (auto it = icmp.begin(); it != icmp.end();) {
      if (it->first <= now) {
        d.on_port_unreachable(it->second, now);
        it = icmp.erase(it);
      } else {
        ++it;
      }
    }
    while (!queue.empty() && queue.top().at <= now) {
      d.on_response(queue.top().test, queue.top().observation, now);
      queue.pop();
    }
  }
  REQUIRE(d.done());
  r.verdict = d.verdict();
  r.elapsed = std::chrono::duration_cast<Duration>(now - t0);
  r.disbelieved = d.disbelieved();
  for (std::size_t t = 0; t < kTestCount; ++t) r.records[t] = d.record(static_cast<Test>(t));
  return r;
}

const TestRecord& rec(const Run& r, Test t) { return r.records[static_cast<std::size_t>(t)]; }
bool contains(const std::string& text, const char* needle) { return text.find(needle) != std::string::npos; }

const Behaviour kTypes[] = {Behaviour::kEndpointIndependent, Behaviour::kAddressDependent,
                            Behaviour::kAddressAndPortDependent};

}  // namespace

TEST_CASE("rfc5780: every mapping x filtering combination is classified right") {
  for (Behaviour m : kTypes) {
    for (Behaviour f : kTypes) {
      CAPTURE(behaviour_name(m));
      CAPTURE(behaviour_name(f));
      Network net;
      net.mapping = m;
      net.filtering = f;
      const Run r = run(net);
      CHECK(r.verdict.mapping == m);
      CHECK(r.verdict.filtering == f);
      CHECK(r.verdict.public_address->ip_string() == "203.0.113.1");
      CHECK_FALSE(r.verdict.udp_blocked);
      // Two round trips and one silence window at 20 ms RTT: well under half a second.
      CHECK(r.elapsed <= 20ms + 250ms + 20ms);
    }
  }
}

TEST_CASE("rfc5780: no NAT is `direct`, never a filtering type; the firewall is reported aside") {
  Network net;
  net.filtering = Behaviour::kDirect;
  const Run r = run(net);
  CHECK(r.verdict.mapping == Behaviour::kDirect);
  CHECK(r.verdict.filtering == Behaviour::kDirect);
  CHECK(r.verdict.firewall_filtering == Behaviour::kEndpointIndependent);
  CHECK(r.verdict.port_preservation == true);
}

TEST_CASE("rfc5780: port preservation is reported") {
  Network net;
  const Run r = run(net);
  CHECK(r.verdict.port_preservation == false);  // the simulated NAT allocates from 50000
}

TEST_CASE("rfc5780: UDP blocked ends at the deadline with udp_blocked") {
  Network net;
  net.loss = 1.0;
  const Run r = run(net, 2s);
  CHECK(r.verdict.udp_blocked);
  CHECK(r.verdict.mapping == Behaviour::kUnknown);
  CHECK(r.verdict.filtering == Behaviour::kUnknown);
  CHECK(r.elapsed == 2s);
}

TEST_CASE("rfc5780: 20% loss each way: the right verdicts, `unknown` rarely, never a wrong one") {
  int wrong = 0;
  int unknown = 0;
  int runs = 0;
  for (unsigned seed = 1; seed <= 30; ++seed) {
    for (Behaviour m : kTypes) {
      for (Behaviour f : kTypes) {
        Network net;
        net.mapping = m;
        net.filtering = f;
        net.loss = 0.2;
        net.rng.seed(seed);
        const Run r = run(net);
        ++runs;
        const bool mapping_ok = r.verdict.mapping == m || r.verdict.mapping == Behaviour::kUnknown;
        const bool filtering_ok = r.verdict.filtering == f || r.verdict.filtering == Behaviour::kUnknown;
        if (!mapping_ok || !filtering_ok) {
          ++wrong;
          MESSAGE("wrong: seed " << seed << " " << behaviour_name(m) << "/" << behaviour_name(f) << " -> "
                  << behaviour_name(r.verdict.mapping) << "/" << behaviour_name(r.verdict.filtering) << ": "
                  << r.verdict.mapping_reason << " | " << r.verdict.filtering_reason << " F2 tx "
                  << rec(r, Test::kF2).transmissions << " F3 tx " << rec(r, Test::kF3).transmissions);
        }
        if (r.verdict.mapping != m || r.verdict.filtering != f) ++unknown;
      }
    }
  }
  // A positive filtering answer lost on every try of its window would be a wrong verdict:
  // the window holds enough tries for the loss seen that this stays below 1/1000 per test.
  CAPTURE(runs);
  CHECK(wrong == 0);
  CHECK(unknown <= runs / 20);
}

TEST_CASE("rfc5780: a slow path widens the silence window instead of faking filtering") {
  Network net;
  net.filtering = Behaviour::kEndpointIndependent;
  net.rtt = 400ms;  // longer than the 250 ms floor: only an RTT-derived window catches it
  const Run r = run(net, 5s);
  CHECK(r.verdict.filtering == Behaviour::kEndpointIndependent);
}

TEST_CASE("rfc5780: duplicated answers are harmless and counted") {
  Network net;
  net.mapping = Behaviour::kAddressAndPortDependent;
  net.duplicate = true;
  const Run r = run(net);
  CHECK(r.verdict.mapping == Behaviour::kAddressAndPortDependent);
  CHECK(r.disbelieved > 0);
}

TEST_CASE("rfc5780: a spoofed answer from the wrong address never decides filtering") {
  Network net;  // APDF: F2 and F3 must stay silent
  const Run r = run(net, 3s, [](TimePoint t0, auto& queue) {
    Observation spoof;
    spoof.source = addr("198.51.100.66:3479");  // claims to answer F2, from elsewhere
    spoof.mapped = addr("203.0.113.1:50001");
    for (int i = 1; i < 20; ++i) queue.push({t0 + i * 15ms, Test::kF2, spoof});
  });
  CHECK(r.verdict.filtering == Behaviour::kAddressAndPortDependent);
  CHECK(r.disbelieved > 0);
}

TEST_CASE("rfc5780: an answer after the silence window does not change the verdict") {
  Network net;
  const Run r = run(net, 3s, [](TimePoint t0, auto& queue) {
    Observation late;
    late.source = kA2P2;
    late.mapped = addr("203.0.113.1:50001");
    queue.push({t0 + 900ms, Test::kF2, late});  // long after F1 (20 ms) + window (250 ms)
  });
  CHECK(r.verdict.filtering == Behaviour::kAddressAndPortDependent);
}

TEST_CASE("rfc5780: servers that cannot do RFC 5780 give `unknown` with the reason") {
  SUBCASE("no OTHER-ADDRESS") {
    Network net;
    net.fault = ServerFault::kNoOtherAddress;
    const Run r = run(net);
    CHECK(r.verdict.mapping == Behaviour::kUnknown);
    CHECK(r.verdict.filtering == Behaviour::kUnknown);
    CHECK_FALSE(r.verdict.server_has_other_address);
    CHECK(r.verdict.mapping_reason.find("OTHER-ADDRESS") != std::string::npos);
    CHECK(r.verdict.public_address.has_value());
  }
  SUBCASE("ignores CHANGE-REQUEST (answers from the primary address)") {
    Network net;
    net.filtering = Behaviour::kEndpointIndependent;
    net.fault = ServerFault::kIgnoresChangeRequest;
    const Run r = run(net);
    CHECK(r.verdict.mapping == Behaviour::kEndpointIndependent);
    CHECK(r.verdict.filtering == Behaviour::kUnknown);  // not mistaken for open filtering
    CHECK(r.verdict.filtering_reason.find("ignored CHANGE-REQUEST") != std::string::npos);
  }
  SUBCASE("refuses CHANGE-REQUEST with 420") {
    Network net;
    net.fault = ServerFault::kRefusesChangeRequest;
    const Run r = run(net);
    CHECK(r.verdict.filtering == Behaviour::kUnknown);
    CHECK(r.verdict.filtering_reason.find("420") != std::string::npos);
  }
}

TEST_CASE("rfc5780: a server silent on CHANGE-REQUEST cannot make silence a filtering verdict") {
  Network net;  // cone: endpoint-independent mapping, so the capability checks can run
  net.fault = ServerFault::kSilentOnChangeRequest;
  const Run r = run(net);
  CHECK(r.verdict.mapping == Behaviour::kEndpointIndependent);
  CHECK(r.verdict.filtering == Behaviour::kUnknown);
  CHECK(r.verdict.server_change_request_verified == false);
  CHECK(r.verdict.filtering_reason.find("proves nothing") != std::string::npos);

  Network honest;
  const Run ok = run(honest);
  CHECK(ok.verdict.filtering == Behaviour::kAddressAndPortDependent);
  CHECK(ok.verdict.server_change_request_verified == true);

  Network symmetric;  // no endpoint-independent mapping: the checks go through M3's mapping
  symmetric.mapping = Behaviour::kAddressAndPortDependent;
  const Run sym = run(symmetric);
  CHECK(sym.verdict.filtering == Behaviour::kAddressAndPortDependent);
  CHECK(sym.verdict.server_change_request_verified == true);
  const auto& m3 = sym.records[static_cast<std::size_t>(Test::kM3)];
  CHECK(sym.records[static_cast<std::size_t>(Test::kC1)].response_port == m3.observation.mapped->port);
}


// Issue 10, defect 5: with mapping that is not endpoint-independent, silence used to become a
// filtering verdict without any check that the server can answer from its other address.
TEST_CASE("rfc5780: no filtering verdict from a server that drops CHANGE-REQUEST, whatever the mapping") {
  for (Behaviour m : kTypes) {
    CAPTURE(behaviour_name(m));
    Network net;  // filtering is endpoint-independent: an honest server's F2 answer gets in
    net.mapping = m;
    net.filtering = Behaviour::kEndpointIndependent;
    net.fault = ServerFault::kSilentOnChangeRequest;
    const Run r = run(net);
    CHECK(r.verdict.mapping == m);
    CHECK(r.verdict.filtering == Behaviour::kUnknown);
    CHECK(r.verdict.filtering_candidates.empty());
    CHECK(r.verdict.server_change_request_verified == false);
    CHECK(contains(r.verdict.filtering_reason, "proves nothing"));
  }
}

TEST_CASE("rfc5780: with mapping that is not endpoint-independent the server check uses RESPONSE-PORT") {
  SUBCASE("an honest server: the filtering verdict stands, verified") {
    for (Behaviour f : kTypes) {
      CAPTURE(behaviour_name(f));
      Network net;
      net.mapping = Behaviour::kAddressAndPortDependent;
      net.filtering = f;
      const Run r = run(net);
      CHECK(r.verdict.filtering == f);
      CHECK(r.verdict.server_change_request_verified == true);
    }
  }
  SUBCASE("a server without RESPONSE-PORT: silence stays unexplained") {
    Network net;
    net.mapping = Behaviour::kAddressAndPortDependent;
    net.fault = ServerFault::kNoResponsePort;
    const Run r = run(net);
    CHECK(r.verdict.filtering == Behaviour::kUnknown);
    CHECK(contains(r.verdict.filtering_reason, "420"));
  }
  SUBCASE("endpoint-independent mapping needs no RESPONSE-PORT (plain RFC 5780 servers pass)") {
    Network net;
    net.fault = ServerFault::kNoResponsePort;
    const Run r = run(net);
    CHECK(r.verdict.filtering == Behaviour::kAddressAndPortDependent);
    CHECK_FALSE(rec(r, Test::kC1).response_port.has_value());
  }
}

// Issue 10, defect 7: a budget too short for the silence windows gave verdicts from nothing.
TEST_CASE("rfc5780: a budget too short for a verdict gives `unknown`, never a verdict or `UDP blocked`") {
  for (Duration budget : {Duration(1), Duration(1000), Duration(10000), Duration(100000), Duration(300000)}) {
    for (Duration rtt : {Duration(500), Duration(20000)}) {
      for (Behaviour f : kTypes) {
        CAPTURE(budget.count());
        CAPTURE(rtt.count());
        CAPTURE(behaviour_name(f));
        Network net;
        net.filtering = f;
        net.rtt = rtt;
        const Run r = run(net, budget);
        CHECK_FALSE(r.verdict.udp_blocked);
        CHECK((r.verdict.mapping == Behaviour::kUnknown || r.verdict.mapping == Behaviour::kEndpointIndependent));
        CHECK((r.verdict.filtering == Behaviour::kUnknown || r.verdict.filtering == f));
        // A filtering verdict from silence needs the whole window.
        if (f != Behaviour::kEndpointIndependent && r.verdict.filtering == f) {
          const Test silent = f == Behaviour::kAddressDependent ? Test::kF2 : Test::kF3;
          CHECK(rec(r, silent).transmissions >= 5);
          CHECK_FALSE(rec(r, silent).cut_short);
        }
      }
    }
  }
  Network net;
  net.rtt = std::chrono::microseconds(500);
  const Run r = run(net, 10ms);
  CHECK(r.verdict.filtering == Behaviour::kUnknown);
  CHECK(contains(r.verdict.filtering_reason, "time given"));
  CHECK(rec(r, Test::kF2).cut_short);
}

TEST_CASE("rfc5780: `UDP blocked` needs several unanswered tries on both sockets") {
  Network net;
  net.loss = 1.0;
  const Run short_run = run(net, 300ms);  // sends at 0 and 200 ms only
  CHECK_FALSE(short_run.verdict.udp_blocked);
  CHECK(contains(short_run.verdict.mapping_reason, "too short"));
  const Run long_run = run(net, 1s);
  CHECK(long_run.verdict.udp_blocked);
}

// Issue 10, defect 8: loss patterns seen in the lab.
TEST_CASE("rfc5780: mapping test I lost while filtering test I was answered") {
  Network net;
  net.lose_answers = {Test::kM1};
  const Run r = run(net);
  CHECK(r.verdict.mapping == Behaviour::kUnknown);
  CHECK_FALSE(r.verdict.udp_blocked);
  CHECK_FALSE(contains(r.verdict.mapping_reason, "no answer from the server over UDP"));
  CHECK(contains(r.verdict.mapping_reason, "lost"));
  // F2/F3 were silent, but with no mapping test nothing showed the server can answer from
  // its other address: no filtering verdict from that.
  CHECK(r.verdict.filtering == Behaviour::kUnknown);
  CHECK(contains(r.verdict.filtering_reason, "could not be checked"));
}

TEST_CASE("rfc5780: filtering test I lost while mapping test I was answered") {
  Network net;
  net.lose_answers = {Test::kF1};
  const Run r = run(net);
  CHECK(r.verdict.mapping == Behaviour::kEndpointIndependent);
  CHECK(r.verdict.filtering == Behaviour::kUnknown);
  CHECK(contains(r.verdict.filtering_reason, "lost"));
}

TEST_CASE("rfc5780: one of M2/M3 lost: endpoint-independent still proven, or both candidates named") {
  for (Test lost : {Test::kM2, Test::kM3}) {
    CAPTURE(test_name(lost));
    Network cone;
    cone.lose_answers = {lost};
    const Run r = run(cone);
    CHECK(r.verdict.mapping == Behaviour::kEndpointIndependent);  // M2 or M3 equal to M1 proves it

    for (Behaviour m : {Behaviour::kAddressDependent, Behaviour::kAddressAndPortDependent}) {
      Network sym;
      sym.mapping = m;
      sym.lose_answers = {lost};
      const Run s = run(sym);
      CHECK(s.verdict.mapping == Behaviour::kUnknown);
      CHECK(s.verdict.mapping_candidates ==
            std::vector<Behaviour>{Behaviour::kAddressDependent, Behaviour::kAddressAndPortDependent});
      CHECK(contains(s.verdict.mapping_reason, "not endpoint-independent"));
      // The server check needs M3's mapping (RESPONSE-PORT names its port): with M3 answered
      // the filtering verdict stands, verified; without it, silence proves nothing.
      if (lost == Test::kM2) {
        CHECK(s.verdict.filtering == Behaviour::kAddressAndPortDependent);
        CHECK(s.verdict.server_change_request_verified == true);
      } else {
        CHECK(s.verdict.filtering == Behaviour::kUnknown);
      }
    }
  }
}

TEST_CASE("rfc5780: 30% random loss each way: every verdict right or unknown") {
  int unknown = 0;
  int runs = 0;
  for (unsigned seed = 1; seed <= 60; ++seed) {
    for (Behaviour m : kTypes) {
      for (Behaviour f : kTypes) {
        CAPTURE(seed);
        CAPTURE(behaviour_name(m));
        CAPTURE(behaviour_name(f));
        Network net;
        net.mapping = m;
        net.filtering = f;
        net.loss = 0.3;
        net.rng.seed(seed);
        const Run r = run(net);
        ++runs;
        CHECK((r.verdict.mapping == m || r.verdict.mapping == Behaviour::kUnknown));
        CHECK((r.verdict.filtering == f || r.verdict.filtering == Behaviour::kUnknown));
        CHECK_FALSE(r.verdict.udp_blocked);
        if (r.verdict.mapping == Behaviour::kUnknown || r.verdict.filtering == Behaviour::kUnknown) ++unknown;
      }
    }
  }
  MESSAGE("30% loss: " << unknown << " of " << runs << " runs left something unknown");
  CHECK(unknown * 5 <= runs);  // unknown is allowed, but should stay the exception
}

// Issue 10, defect 6: ICMP port unreachable is "nothing listens", not "UDP blocked", at once.
TEST_CASE("rfc5780: ICMP port unreachable ends the discovery at once with that reason") {
  Network net;
  net.unreachable = {Test::kM1, Test::kF1};
  const Run r = run(net);
  CHECK(r.verdict.port_unreachable);
  CHECK_FALSE(r.verdict.udp_blocked);
  CHECK(r.elapsed < 100ms);
  CHECK(contains(r.verdict.mapping_reason, "nothing listens on UDP 192.0.2.1:3478"));
  CHECK(r.verdict.mapping == Behaviour::kUnknown);

  Network alternate;  // the advertised OTHER-ADDRESS is closed
  alternate.unreachable = {Test::kM2, Test::kM3};
  const Run a = run(alternate);
  CHECK_FALSE(a.verdict.port_unreachable);
  CHECK(a.verdict.mapping == Behaviour::kUnknown);
  CHECK(contains(a.verdict.mapping_reason, "ICMP port unreachable"));
}
