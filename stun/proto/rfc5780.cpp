#include "stun/proto/rfc5780.hpp"

#include <algorithm>
#include <cmath>

namespace natdiag::stun::rfc5780 {

std::string_view behaviour_name(Behaviour b) noexcept {
  switch (b) {
    case Behaviour::kUnknown: return "unknown";
    case Behaviour::kDirect: return "direct";
    case Behaviour::kEndpointIndependent: return "endpoint-independent";
    case Behaviour::kAddressDependent: return "address-dependent";
    case Behaviour::kAddressAndPortDependent: return "address-and-port-dependent";
  }
  return "unknown";
}

std::string_view unknown_why_name(UnknownWhy why) noexcept {
  switch (why) {
    case UnknownWhy::kNone: return "";
    case UnknownWhy::kNoAnswer: return "no-answer";
    case UnknownWhy::kTimeRanOut: return "time-ran-out";
    case UnknownWhy::kNoOtherAddress: return "no-other-address";
    case UnknownWhy::kAlternateSilent: return "alternate-silent";
    case UnknownWhy::kRecheckDisagrees: return "recheck-disagrees";
    case UnknownWhy::kRecheckFailed: return "recheck-failed";
    case UnknownWhy::kOneServer: return "one-server";
    case UnknownWhy::kServersShareIp: return "servers-share-ip";
    case UnknownWhy::kNeedSecondPort: return "need-second-port";
  }
  return "";
}

std::string_view test_name(Test t) noexcept {
  switch (t) {
    case Test::kM1: return "mapping test I (primary address)";
    case Test::kM2: return "mapping test II (alternate IP, primary port)";
    case Test::kM3: return "mapping test III (alternate IP and port)";
    case Test::kF1: return "filtering test I (primary address)";
    case Test::kF2: return "filtering test II (change IP and port)";
    case Test::kF3: return "filtering test III (change port)";
    case Test::kC1: return "server check: change IP and port, from the mapping socket";
    case Test::kC2: return "server check: change port, from the mapping socket";
    case Test::kR1: return "recheck: primary address, from a third socket";
    case Test::kR2: return "recheck: alternate IP, primary port, from a third socket";
  }
  return "?";
}

Socket socket_of(Test t) noexcept {
  if (t == Test::kF1 || t == Test::kF2 || t == Test::kF3) return Socket::kFiltering;
  if (t == Test::kR1 || t == Test::kR2) return Socket::kRecheck;
  return Socket::kMapping;
}

namespace {

TransportAddress with_port(TransportAddress a, std::uint16_t port) {
  a.port = port;
  return a;
}

}  // namespace

Discovery::Discovery(const TransportAddress& server, const TransportAddress& local_mapping,
                     const TransportAddress& local_filtering, TimePoint start, TimePoint deadline,
                     Timing timing)
    : server_(server),
      local_mapping_(local_mapping),
      local_filtering_(local_filtering),
      deadline_(deadline),
      timing_(timing) {
  this->start(Test::kM1, server_, false, false, start, timing_.initial_rto, false);
  this->start(Test::kF1, server_, false, false, start, timing_.initial_rto, false);
}

void Discovery::start(Test t, const TransportAddress& to, bool change_ip, bool change_port,
                      TimePoint now, Duration rto, bool expects_silence, Duration window,
                      std::optional<std::uint16_t> response_port) {
  State& s = state(t);
  s.record.started = true;
  s.record.destination = to;
  s.record.change_ip = change_ip;
  s.record.change_port = change_port;
  s.record.response_port = response_port;
  s.send = Send{t, socket_of(t), to, change_ip, change_port, response_port};
  s.expects_silence = expects_silence;
  s.next_send = now;
  s.rto = rto;
  s.closes = expects_silence ? std::min(deadline_, now + window) : deadline_;
  s.window_cut = expects_silence && now + window > deadline_;
}

int Discovery::required_silence_transmissions() const noexcept {
  // The round-trip loss seen on this path so far, from the tests that must be answered:
  // every transmission but the one answered (or, still waiting, the latest) counts as lost.
  // Laplace's rule keeps a short, lucky history from claiming a clean path.
  int sent = 0;
  int lost = 0;
  for (Test t : {Test::kM1, Test::kM2, Test::kM3, Test::kF1, Test::kC1, Test::kC2, Test::kR1, Test::kR2}) {
    const TestRecord& r = record(t);
    if (!r.started || r.transmissions == 0 || r.unreachable) continue;
    sent += r.transmissions;
    lost += r.transmissions - 1;
  }
  const double p = (lost + 1.0) / (sent + 2.0);
  // Enough transmissions that a positive answer is lost on all of them with probability
  // below 1/10000.
  const double needed = std::ceil(std::log(1e-4) / std::log(std::clamp(p, 0.01, 0.95)));
  return std::clamp(static_cast<int>(needed), timing_.min_silence_transmissions,
                    timing_.max_silence_transmissions);
}

std::vector<Send> Discovery::poll(TimePoint now) {
  std::vector<Send> out;
  const int needed = required_silence_transmissions();
  for (State& s : tests_) {
    if (!s.record.started || s.record.answered || s.record.silent) continue;
    if (now >= s.closes) {
      if (s.expects_silence && !s.window_cut && s.record.transmissions < needed) {
        // Loss seen on this path: more tries before silence may count.
        s.closes = std::min(deadline_, now + s.rto);
        s.window_cut = now + s.rto > deadline_;
      } else {
        s.record.silent = true;
        s.record.cut_short = s.expects_silence && s.window_cut;
        continue;
      }
    }
    if (now < s.next_send) continue;
    out.push_back(s.send);
    ++s.record.transmissions;
    s.record.rtt = Duration{};  // measured from the latest transmission
    s.next_send = now + s.rto;
    // A test that must be answered backs off (RFC 8489 §6.2.1, capped at 1 s so a lossy
    // path still gets several tries within a few seconds; once the server has answered, at
    // four RTOs of the measured RTT, at least 200 ms); a silence window keeps its pace.
    if (!s.expects_silence) s.rto = std::min<Duration>(s.rto * 2, rto_cap_);
    last_sent_[static_cast<std::size_t>(s.send.test)] = now;
  }
  return out;
}

TimePoint Discovery::next_event() const noexcept {
  TimePoint next = deadline_;
  for (const State& s : tests_) {
    if (!s.record.started || s.record.answered || s.record.silent) continue;
    next = std::min({next, s.next_send, s.closes});
  }
  return next;
}

bool Discovery::done() const noexcept {
  return std::none_of(tests_.begin(), tests_.end(), [](const State& s) {
    return s.record.started && !s.record.answered && !s.record.silent;
  });
}

bool Discovery::is_local(Socket s, const TransportAddress& mapped) const noexcept {
  return mapped == (s == Socket::kMapping ? local_mapping_ : local_filtering_);
}

void Discovery::on_port_unreachable(Test test, TimePoint /*now*/) {
  State& s = state(test);
  if (!s.record.started || s.record.answered || s.record.silent) return;
  s.record.unreachable = true;
  s.record.silent = true;
  s.record.note = "ICMP port unreachable: nothing listens on UDP " + s.record.destination.to_string();
}

void Discovery::repace(Duration rtt, TimePoint now) {
  // The first answer proves the server is there and how far: a test still waiting on its
  // initial guess (200 ms, doubling) is retried at the pace that RTT allows instead.
  const Duration rto = RetransmitSchedule::rto_from_rtt(rtt, timing_.rto_floor);
  rto_cap_ = std::clamp<Duration>(4 * rto, std::chrono::milliseconds(200), std::chrono::seconds(1));
  for (Test t : {Test::kM1, Test::kF1}) {
    State& s = state(t);
    if (!s.record.started || s.record.answered || s.record.silent || s.rto <= rto) continue;
    s.rto = rto;
    s.next_send = std::min(s.next_send, now + rto);
  }
}

void Discovery::on_response(Test test, const Observation& obs, TimePoint now) {
  State& s = state(test);
  // An ICMP error does not outweigh a real answer that arrives after it.
  const bool reopened = s.record.unreachable && !s.record.answered;
  if (!s.record.started || s.record.answered || (s.record.silent && !reopened)) {
    ++disbelieved_;  // late, duplicate, or for a test never sent
    return;
  }
  // Each test has exactly one address its answer may come from. For F2 and F3 an answer from
  // the primary address means the server ignored CHANGE-REQUEST: a server fault, never
  // evidence of open filtering (the classic way "no NAT" gets reported as a filtering type).
  TransportAddress expected = server_;
  if (other_) {
    switch (test) {
      case Test::kM2: case Test::kR2: expected = with_port(*other_, server_.port); break;
      case Test::kM3: case Test::kF2: case Test::kC1: case Test::kC2: expected = *other_; break;
      case Test::kF3: expected = with_port(server_, other_->port); break;
      default: break;
    }
  }
  if (obs.error_code && obs.source == s.record.destination) {
    // Error responses come from where the request went, whatever CHANGE-REQUEST asked.
    s.record.answered = true;
    s.record.silent = false;
    s.record.unreachable = false;
    s.record.observation = obs;
    s.record.note = "the server answered error " + std::to_string(*obs.error_code) +
                    (s.record.response_port ? " to RESPONSE-PORT/CHANGE-REQUEST"
                     : s.record.change_ip || s.record.change_port ? " to CHANGE-REQUEST" : "");
    return;
  }
  if (obs.source != expected) {
    const bool change_request = test == Test::kF2 || test == Test::kF3 || test == Test::kC1 || test == Test::kC2;
    if (change_request && obs.source == s.record.destination) {
      s.record.answered = true;
      s.record.silent = false;
      s.record.unreachable = false;
      s.record.observation = obs;
      s.record.note = "answered from the address asked: the server ignored CHANGE-REQUEST";
      return;
    }
    ++disbelieved_;
    if (s.record.note.empty()) {
      s.record.note = "ignored an answer from " + obs.source.to_string() + " (expected " +
                      expected.to_string() + ")";
    }
    return;
  }
  s.record.answered = true;
  s.record.silent = false;
  if (s.record.unreachable) s.record.note.clear();
  s.record.unreachable = false;
  s.record.observation = obs;
  s.record.rtt = std::chrono::duration_cast<Duration>(now - last_sent_[static_cast<std::size_t>(test)]);
  if (test == Test::kM1 || test == Test::kF1) repace(s.record.rtt, now);
  if (test == Test::kM1) after_m1(now);
  if (test == Test::kF1) after_f1(now);
  if (test == Test::kM2 || test == Test::kM3) {
    after_m3(now);
    recheck_if_dependent(now);
  }
}

void Discovery::recheck_if_dependent(TimePoint now) {
  const TestRecord& m1 = record(Test::kM1);
  if (record(Test::kR1).started || !m1.observation.mapped || !other_) return;
  auto mapped = [](const TestRecord& t) { return t.answered && t.observation.mapped && !t.observation.error_code; };
  bool changed = false;
  for (Test t : {Test::kM2, Test::kM3}) {
    const TestRecord& m = record(t);
    if (!mapped(m)) continue;
    if (*m.observation.mapped == *m1.observation.mapped) return;  // endpoint-independent
    changed = true;
  }
  if (!changed) return;
  const Duration rto = RetransmitSchedule::rto_from_rtt(m1.rtt, timing_.rto_floor);
  start(Test::kR1, server_, false, false, now, rto, false);
  start(Test::kR2, with_port(*other_, server_.port), false, false, now, rto, false);
}

void Discovery::after_m3(TimePoint now) {
  const TestRecord& m1 = record(Test::kM1);
  const TestRecord& m3 = record(Test::kM3);
  if (record(Test::kC1).started || !m1.observation.mapped || !m3.answered || !m3.observation.mapped) return;
  // Only an answered M3 shows that its mapping, and the pinhole for A2:P2 on it, exists at the
  // NAT. (An answer from A2:P2 that reached the NAT first would be a new inbound flow there,
  // and a Linux NAT then gives M3 another public port.) With endpoint-independent mapping that
  // is the mapping every request uses; otherwise RESPONSE-PORT asks for the answers on it.
  std::optional<std::uint16_t> response_port;
  if (*m3.observation.mapped != *m1.observation.mapped) response_port = m3.observation.mapped->port;
  // These should be answered; a long window costs nothing when they are, and keeps a lossy
  // path from failing an honest server.
  const Duration rtt = m3.rtt;
  const Duration window = 2 * std::max<Duration>(timing_.silence_floor, rtt * timing_.silence_rtt_factor);
  const Duration rto = RetransmitSchedule::rto_from_rtt(rtt, timing_.rto_floor);
  start(Test::kC1, server_, true, true, now, rto, true, window, response_port);
  start(Test::kC2, with_port(*other_, server_.port), false, true, now, rto, true, window, response_port);
}

void Discovery::after_m1(TimePoint now) {
  const TestRecord& m1 = record(Test::kM1);
  if (!m1.observation.mapped || is_local(Socket::kMapping, *m1.observation.mapped)) return;
  if (!other_) other_ = m1.observation.other_address;
  if (!other_ || other_->same_ip(server_) || other_->port == server_.port) return;
  const Duration rto = RetransmitSchedule::rto_from_rtt(m1.rtt, timing_.rto_floor);
  start(Test::kM2, with_port(*other_, server_.port), false, false, now, rto, false);
  start(Test::kM3, *other_, false, false, now, rto, false);
}

void Discovery::after_f1(TimePoint now) {
  const TestRecord& f1 = record(Test::kF1);
  if (!f1.observation.mapped) return;
  if (!other_) other_ = f1.observation.other_address;
  if (!other_ || other_->same_ip(server_) || other_->port == server_.port) return;
  // Silence is the answer these tests may get: the window scales with the RTT just measured
  // on this path, so a slow path is not mistaken for a filtering NAT.
  const Duration window = std::max<Duration>(timing_.silence_floor, f1.rtt * timing_.silence_rtt_factor);
  const Duration rto = std::clamp<Duration>(window / timing_.min_silence_transmissions, timing_.silence_rto_floor,
                                            RetransmitSchedule::rto_from_rtt(f1.rtt, timing_.silence_rto_floor));
  start(Test::kF2, server_, true, true, now, rto, true, window);
  start(Test::kF3, server_, false, true, now, rto, true, window);
}

}  // namespace natdiag::stun::rfc5780
