// A simulated NAT (RFC 4787 mapping and filtering) and RFC 5780 server with a fake clock, to
// drive the RFC 5780 state machine in unit tests: loss (random or exact patterns), duplicates,
// ICMP port unreachable, servers that ignore, refuse or drop CHANGE-REQUEST or RESPONSE-PORT.
#pragma once

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

namespace rfc5780_sim {

inline TransportAddress addr(const char* text) { return *TransportAddress::parse(text); }

inline const TransportAddress kA1P1 = addr("192.0.2.1:3478");
inline const TransportAddress kA2P2 = addr("192.0.2.2:3479");
inline const TransportAddress kLocalMapping = addr("10.0.0.2:40001");
inline const TransportAddress kLocalFiltering = addr("10.0.0.2:40002");

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
  // Sockets whose flows to the alternate IP get a new public port, as an endpoint-independent
  // Linux NAT gives one when an older flow holds the tuple (a port clash).
  std::set<Socket> clash;
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
    const bool clashes = clash.count(s) > 0 && to.ip_string() == "192.0.2.2";
    auto [it, fresh] = mappings.try_emplace({s, clashes ? "clash" : key(mapping, to)}, 0);
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
inline Run run(Network& net, Duration budget = 3s,
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

inline const TestRecord& rec(const Run& r, Test t) { return r.records[static_cast<std::size_t>(t)]; }
inline bool contains(const std::string& text, const char* needle) { return text.find(needle) != std::string::npos; }

inline const Behaviour kTypes[] = {Behaviour::kEndpointIndependent, Behaviour::kAddressDependent,
                            Behaviour::kAddressAndPortDependent};

}  // namespace rfc5780_sim

using namespace rfc5780_sim;
