// The RFC 5780 state machine against a simulated NAT and server with a fake clock: the whole
// mapping x filtering matrix, no NAT, loss, duplicates, late and spoofed answers, bad servers.
#include <doctest/doctest.h>

#include "tests/unit/rfc5780_sim.hpp"

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
