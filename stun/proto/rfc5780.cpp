#include "stun/proto/rfc5780.hpp"

#include <algorithm>

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
  }
  return "?";
}

Socket socket_of(Test t) noexcept {
  return t == Test::kF1 || t == Test::kF2 || t == Test::kF3 ? Socket::kFiltering : Socket::kMapping;
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
                      TimePoint now, Duration rto, bool expects_silence, Duration window) {
  State& s = state(t);
  s.record.started = true;
  s.record.destination = to;
  s.record.change_ip = change_ip;
  s.record.change_port = change_port;
  s.send = Send{t, socket_of(t), to, change_ip, change_port};
  s.expects_silence = expects_silence;
  s.next_send = now;
  s.rto = rto;
  s.closes = expects_silence ? std::min(deadline_, now + window) : deadline_;
}

std::vector<Send> Discovery::poll(TimePoint now) {
  std::vector<Send> out;
  for (State& s : tests_) {
    if (!s.record.started || s.record.answered || s.record.silent) continue;
    if (now >= s.closes) {
      s.record.silent = true;
      continue;
    }
    if (now < s.next_send) continue;
    out.push_back(s.send);
    ++s.record.transmissions;
    s.record.rtt = Duration{};  // measured from the latest transmission
    s.next_send = now + s.rto;
    // A test that must be answered backs off (RFC 8489 §6.2.1, capped at 1 s so a lossy
    // path still gets several tries within a few seconds); a silence window keeps its pace.
    if (!s.expects_silence) s.rto = std::min<Duration>(s.rto * 2, std::chrono::seconds(1));
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

void Discovery::on_response(Test test, const Observation& obs, TimePoint now) {
  State& s = state(test);
  if (!s.record.started || s.record.answered || s.record.silent) {
    ++disbelieved_;  // late, duplicate, or for a test never sent
    return;
  }
  // Each test has exactly one address its answer may come from. For F2 and F3 an answer from
  // the primary address means the server ignored CHANGE-REQUEST: a server fault, never
  // evidence of open filtering (the classic way "no NAT" gets reported as a filtering type).
  TransportAddress expected = server_;
  if (other_) {
    switch (test) {
      case Test::kM2: expected = with_port(*other_, server_.port); break;
      case Test::kM3: case Test::kF2: case Test::kC1: case Test::kC2: expected = *other_; break;
      case Test::kF3: expected = with_port(server_, other_->port); break;
      default: break;
    }
  }
  if (obs.error_code && obs.source == s.record.destination) {
    // Error responses come from where the request went, whatever CHANGE-REQUEST asked.
    s.record.answered = true;
    s.record.observation = obs;
    s.record.note = "the server answered error " + std::to_string(*obs.error_code) +
                    (s.record.change_ip || s.record.change_port ? " to CHANGE-REQUEST" : "");
    return;
  }
  if (obs.source != expected) {
    const bool change_request = test == Test::kF2 || test == Test::kF3 || test == Test::kC1 || test == Test::kC2;
    if (change_request && obs.source == s.record.destination) {
      s.record.answered = true;
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
  s.record.observation = obs;
  s.record.rtt = std::chrono::duration_cast<Duration>(now - last_sent_[static_cast<std::size_t>(test)]);
  if (test == Test::kM1) after_m1(now);
  if (test == Test::kF1) after_f1(now);
  if (test == Test::kM2 || test == Test::kM3) after_m3(now);
}

void Discovery::after_m3(TimePoint now) {
  const TestRecord& m1 = record(Test::kM1);
  const TestRecord& m2 = record(Test::kM2);
  const TestRecord& m3 = record(Test::kM3);
  if (!m2.answered || !m3.answered || !m1.observation.mapped || m1.observation.mapped != m2.observation.mapped ||
      m2.observation.mapped != m3.observation.mapped) {
    return;  // only endpoint-independent mapping guarantees the pinhole the checks rely on
  }
  // These should be answered; a long window costs nothing when they are, and keeps a lossy
  // path from failing an honest server.
  const Duration rtt = std::max(m2.rtt, m3.rtt);
  const Duration window = 2 * std::max<Duration>(timing_.silence_floor, rtt * timing_.silence_rtt_factor);
  const Duration rto = RetransmitSchedule::rto_from_rtt(rtt, timing_.rto_floor);
  start(Test::kC1, server_, true, true, now, rto, true, window);
  start(Test::kC2, with_port(*other_, server_.port), false, true, now, rto, true, window);
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
  const Duration rto = RetransmitSchedule::rto_from_rtt(f1.rtt, timing_.rto_floor);
  start(Test::kF2, server_, true, true, now, rto, true, window);
  start(Test::kF3, server_, false, true, now, rto, true, window);
}

Verdict Discovery::verdict() const {
  Verdict v;
  const TestRecord& m1 = record(Test::kM1);
  const TestRecord& m2 = record(Test::kM2);
  const TestRecord& m3 = record(Test::kM3);
  const TestRecord& f1 = record(Test::kF1);
  const TestRecord& f2 = record(Test::kF2);
  const TestRecord& f3 = record(Test::kF3);
  const TestRecord& c1 = record(Test::kC1);
  const TestRecord& c2 = record(Test::kC2);
  v.server_has_other_address = other_.has_value();
  v.udp_blocked = m1.silent && f1.silent;

  // Mapping, RFC 5780 §4.3.
  if (!m1.answered) {
    v.mapping_reason = "no answer from the server over UDP";
  } else if (m1.observation.error_code || !m1.observation.mapped) {
    v.mapping_reason = "the server's answer carried no mapped address";
  } else {
    const TransportAddress x1 = *m1.observation.mapped;
    v.public_address = x1;
    v.port_preservation = x1.port == local_mapping_.port;
    if (is_local(Socket::kMapping, x1)) {
      v.mapping = Behaviour::kDirect;
      v.mapping_reason = "the mapped address is this host's own address: no NAT";
    } else if (!other_) {
      v.mapping_reason = "the server sent no OTHER-ADDRESS (not an RFC 5780 server)";
    } else if (!m2.started) {
      v.mapping_reason = "OTHER-ADDRESS " + other_->to_string() + " does not differ in IP and port";
    } else if (!m2.answered || !m2.observation.mapped) {
      v.mapping_reason = "no answer from the alternate address " + m2.destination.to_string();
    } else if (*m2.observation.mapped == x1) {
      v.mapping = Behaviour::kEndpointIndependent;
      v.mapping_reason = "the same mapping towards both server addresses";
    } else if (!m3.answered || !m3.observation.mapped) {
      v.mapping_reason = "the mapping changed with the address, and " + m3.destination.to_string() +
                         " did not answer";
    } else if (*m3.observation.mapped == *m2.observation.mapped) {
      v.mapping = Behaviour::kAddressDependent;
      v.mapping_reason = "a new mapping per destination IP, the same across its ports";
    } else {
      v.mapping = Behaviour::kAddressAndPortDependent;
      v.mapping_reason = "a new mapping for every destination IP and port";
    }
  }

  // Filtering, RFC 5780 §4.4.
  Behaviour seen = Behaviour::kUnknown;
  std::string why;
  auto valid = [](const TestRecord& t) {
    return t.answered && !t.observation.error_code && t.note.empty();
  };
  if (!f1.answered || !f1.observation.mapped) {
    why = "no answer from the server over UDP";
  } else if (!other_) {
    why = "the server sent no OTHER-ADDRESS, so it cannot answer from another address";
  } else if (!f2.started) {
    why = "OTHER-ADDRESS " + other_->to_string() + " does not differ in IP and port";
  } else if (f2.answered && !valid(f2)) {
    why = "filtering test II: " + (f2.note.empty() ? std::string("no valid answer") : f2.note);
  } else if (valid(f2)) {
    seen = Behaviour::kEndpointIndependent;
    why = "packets from another IP and port were let in";
  } else if (f3.answered && !valid(f3)) {
    why = "filtering test III: " + (f3.note.empty() ? std::string("no valid answer") : f3.note);
  } else if (c1.started && !valid(c1)) {
    why = "the server did not answer CHANGE-REQUEST from its other address even where this NAT "
          "lets it in, so silence proves nothing (" + (c1.note.empty() ? std::string("check C1 silent") : c1.note) + ")";
  } else if (valid(f3)) {
    seen = Behaviour::kAddressDependent;
    why = "packets from another port of the same IP were let in, from another IP not";
  } else if (c2.started && !valid(c2)) {
    why = "the server did not answer a change-port request where this NAT lets it in, so silence "
          "proves nothing (" + (c2.note.empty() ? std::string("check C2 silent") : c2.note) + ")";
  } else if (f2.silent && f3.silent) {
    seen = Behaviour::kAddressAndPortDependent;
    why = "only the exact address and port contacted could answer";
  }
  if (c1.started) {
    v.server_change_request_verified = valid(c1) && valid(c2);
  } else if (seen == Behaviour::kAddressDependent || seen == Behaviour::kAddressAndPortDependent) {
    why += " (the server's CHANGE-REQUEST support could not be cross-checked: that needs "
           "endpoint-independent mapping)";
  }
  if (f1.answered && f1.observation.mapped && is_local(Socket::kFiltering, *f1.observation.mapped)) {
    v.filtering = Behaviour::kDirect;
    v.firewall_filtering = seen;
    v.filtering_reason = "no NAT" + (seen == Behaviour::kUnknown ? std::string()
                                     : "; a firewall here lets in " +
                                           std::string(seen == Behaviour::kEndpointIndependent
                                                           ? "unsolicited packets from anywhere"
                                                           : "answers only (" + std::string(behaviour_name(seen)) + ")"));
  } else {
    v.filtering = seen;
    v.filtering_reason = why;
  }
  return v;
}

}  // namespace natdiag::stun::rfc5780
