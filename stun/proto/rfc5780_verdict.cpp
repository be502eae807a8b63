// The RFC 5780 verdict from the test records: what each observation proves, and where the
// evidence cannot separate two behaviours, `unknown` with the candidates and the reason.
#include <algorithm>
#include <chrono>

#include "stun/proto/rfc5780.hpp"

namespace natdiag::stun::rfc5780 {
namespace {

bool valid(const TestRecord& t) { return t.answered && !t.observation.error_code && t.note.empty(); }

// Silence that counts: the whole window ran, with enough tries, and no ICMP error.
bool proven_silent(const TestRecord& t) { return t.silent && !t.cut_short && !t.unreachable; }

std::string tries(int n) { return std::to_string(n) + (n == 1 ? " try" : " tries"); }

std::string note_or(const TestRecord& t, const std::string& fallback) { return t.note.empty() ? fallback : t.note; }

}  // namespace

void Discovery::decide_mapping(Verdict& v) const {
  const TestRecord& m1 = record(Test::kM1);
  const TestRecord& m2 = record(Test::kM2);
  const TestRecord& m3 = record(Test::kM3);
  const TestRecord& f1 = record(Test::kF1);
  // Silence from a test the deadline ended before it had enough tries says nothing.
  const auto silent_why = [this](const TestRecord& t) {
    return t.transmissions >= timing_.min_blocked_transmissions ? UnknownWhy::kAlternateSilent
                                                                : UnknownWhy::kTimeRanOut;
  };
  v.mapping_unknown = UnknownWhy::kNoAnswer;
  if (!m1.answered) {
    if (!v.udp_blocked && !m1.unreachable && !f1.unreachable && !f1.answered) {
      v.mapping_unknown = UnknownWhy::kTimeRanOut;
    }
    if (m1.unreachable || f1.unreachable) {
      v.mapping_reason = "nothing listens on UDP " + server_.to_string() + " (ICMP port unreachable)";
    } else if (f1.answered) {
      v.mapping_reason = "mapping test I got no answer in " + tries(m1.transmissions) +
                         " although the server answered filtering test I: packets were lost; run it again "
                         "or give a longer --timeout";
    } else if (!v.udp_blocked) {
      v.mapping_reason = "no answer in the time given (" + tries(m1.transmissions) + "): too short to tell";
    } else {
      v.mapping_reason = "no answer from the server over UDP";
    }
    return;
  }
  if (m1.observation.error_code || !m1.observation.mapped) {
    v.mapping_reason = "the server's answer carried no mapped address";
    return;
  }
  const TransportAddress x1 = *m1.observation.mapped;
  v.public_address = x1;
  v.port_preservation = x1.port == local_mapping_.port;
  auto mapped = [](const TestRecord& t) { return t.answered && t.observation.mapped && !t.observation.error_code; };
  v.mapping_unknown = UnknownWhy::kNone;
  auto decided = [&v](Behaviour b, std::string why) {
    v.mapping = b;
    v.mapping_candidates = {b};
    v.mapping_reason = std::move(why);
  };
  if (is_local(Socket::kMapping, x1)) {
    decided(Behaviour::kDirect, "the mapped address is this host's own address: no NAT");
  } else if (!other_) {
    v.mapping_unknown = UnknownWhy::kNoOtherAddress;
    v.mapping_reason = "the server sent no OTHER-ADDRESS (not an RFC 5780 server)";
  } else if (!m2.started) {
    v.mapping_unknown = UnknownWhy::kNoOtherAddress;
    v.mapping_reason = "OTHER-ADDRESS " + other_->to_string() + " does not differ in IP and port";
  } else if ((mapped(m2) && *m2.observation.mapped == x1) || (mapped(m3) && *m3.observation.mapped == x1)) {
    // RFC 5780 §4.3: the same mapping towards an address that differs in IP (M2, or M3 which
    // differs in IP and port) is endpoint-independent mapping.
    decided(Behaviour::kEndpointIndependent, "the same mapping towards both server addresses");
  } else if (mapped(m2) || mapped(m3)) {
    // This socket's mappings changed with the destination; the recheck from a fresh socket
    // tells a mapping policy from a one-off port clash (see rfc5780.hpp).
    if (mapped(m2) && mapped(m3)) {
      if (*m3.observation.mapped == *m2.observation.mapped) {
        decided(Behaviour::kAddressDependent, "a new mapping per destination IP, the same across its ports");
      } else {
        decided(Behaviour::kAddressAndPortDependent, "a new mapping for every destination IP and port");
      }
    } else {
      const TestRecord& missing = mapped(m2) ? m3 : m2;
      v.mapping_unknown = silent_why(missing);
      v.mapping_candidates = {Behaviour::kAddressDependent, Behaviour::kAddressAndPortDependent};
      v.mapping_reason = "not endpoint-independent (address-dependent or address-and-port-dependent: " +
                         missing.destination.to_string() + " did not answer (" +
                         note_or(missing, tries(missing.transmissions)) + "), and only it could tell which)";
    }
    const TestRecord& r1 = record(Test::kR1);
    const TestRecord& r2 = record(Test::kR2);
    if (mapped(r1) && mapped(r2) && *r1.observation.mapped != *r2.observation.mapped) {
      v.mapping_reason += "; a second socket got a new mapping for the alternate IP too";
    } else {
      const std::string first = v.mapping_reason;
      v.mapping = Behaviour::kUnknown;
      v.mapping_unknown = mapped(r1) && mapped(r2) ? UnknownWhy::kRecheckDisagrees : UnknownWhy::kRecheckFailed;
      v.mapping_candidates.insert(v.mapping_candidates.begin(), Behaviour::kEndpointIndependent);
      v.mapping_reason =
          mapped(r1) && mapped(r2)
              ? "one socket got a new mapping per destination (" + first +
                    "), a second socket kept one mapping for both addresses: the NAT maps endpoint-"
                    "independently but gave one flow a new port because an older flow held it (Linux "
                    "does, for 30 s and more), or its behaviour changes; run natdiag nat again"
              : first + "; but the recheck from a second socket, which tells a mapping policy from a "
                        "one-off port clash, " +
                    (!r1.started ? std::string("could not run")
                                 : "got no answer (" +
                                       note_or(mapped(r1) ? r2 : r1, tries((mapped(r1) ? r2 : r1).transmissions)) + ")");
    }
  } else {
    v.mapping_unknown = silent_why(m2);
    v.mapping_reason = "no answer from the alternate address " + m2.destination.to_string() +
                       (m2.note.empty() ? "" : " (" + m2.note + ")");
  }
}

void Discovery::decide_filtering(Verdict& v) const {
  const TestRecord& m1 = record(Test::kM1);
  const TestRecord& f1 = record(Test::kF1);
  const TestRecord& f2 = record(Test::kF2);
  const TestRecord& f3 = record(Test::kF3);
  const TestRecord& c1 = record(Test::kC1);
  const TestRecord& c2 = record(Test::kC2);
  Behaviour seen = Behaviour::kUnknown;
  std::vector<Behaviour> candidates;
  std::string why;
  auto cut = [this](const TestRecord& t) {
    return t.destination.to_string() + " silent, but the time given ended its window after " +
           tries(t.transmissions) + " (give a longer --timeout)";
  };
  // Why a server check does not back a silence: it was not run, or the server failed it.
  auto unchecked = [&](const TestRecord& c, const char* what) {
    if (!c.started) {
      return std::string("the server's ") + what + " could not be checked (" +
             (v.mapping_candidates.empty() ? "the mapping tests got no answer"
                                           : "the mapping tests gave no pinhole to check it through") + ")";
    }
    if (c.cut_short) return std::string("the time given ended the server check before it was answered");
    return std::string("the server did not answer ") + what + " where this NAT lets it in, so silence "
           "proves nothing (" + note_or(c, "check silent after " + tries(c.transmissions)) + ")";
  };
  if (!f1.answered || !f1.observation.mapped) {
    if (f1.unreachable || m1.unreachable) {
      why = "nothing listens on UDP " + server_.to_string() + " (ICMP port unreachable)";
    } else if (m1.answered) {
      why = "filtering test I got no answer in " + tries(f1.transmissions) +
            " although the server answered mapping test I: packets were lost";
    } else {
      why = v.udp_blocked ? "no answer from the server over UDP" : "no answer in the time given";
    }
  } else if (!other_) {
    why = "the server sent no OTHER-ADDRESS, so it cannot answer from another address";
  } else if (!f2.started) {
    why = "OTHER-ADDRESS " + other_->to_string() + " does not differ in IP and port";
  } else if (f2.answered && !valid(f2)) {
    why = "filtering test II: " + note_or(f2, "no valid answer");
  } else if (valid(f2)) {
    seen = Behaviour::kEndpointIndependent;
    why = "packets from another IP and port were let in";
  } else if (f3.answered && !valid(f3)) {
    why = "filtering test III: " + note_or(f3, "no valid answer");
  } else if (valid(f3)) {
    // Let in from another port of the same IP: endpoint-independent or address-dependent;
    // only a believed silence of test II tells which.
    if (proven_silent(f2) && valid(c1)) {
      seen = Behaviour::kAddressDependent;
      why = "packets from another port of the same IP were let in, from another IP not";
    } else {
      candidates = {Behaviour::kEndpointIndependent, Behaviour::kAddressDependent};
      why = "packets from another port of the same IP were let in; from another IP: " +
            (f2.cut_short ? cut(f2) : unchecked(c1, "CHANGE-REQUEST (change IP and port)"));
    }
  } else if (f3.cut_short || f2.cut_short) {
    why = "filtering test " + std::string(f3.cut_short ? "III: " + cut(f3) : "II: " + cut(f2));
  } else if (proven_silent(f2) && proven_silent(f3)) {
    // Only address-and-port-dependent filtering keeps out another port of the same IP; the
    // server must have shown it answers a change-port request where the NAT lets it in.
    if (valid(c2)) {
      seen = Behaviour::kAddressAndPortDependent;
      why = "only the exact address and port contacted could answer";
    } else {
      why = unchecked(c2, "a change-port request");
    }
  }
  if (seen != Behaviour::kUnknown) candidates = {seen};
  if (c1.started) v.server_change_request_verified = valid(c1) && valid(c2);
  if (f1.answered && f1.observation.mapped && is_local(Socket::kFiltering, *f1.observation.mapped)) {
    v.filtering = Behaviour::kDirect;
    v.filtering_candidates = {Behaviour::kDirect};
    v.firewall_filtering = seen;
    v.filtering_reason = "no NAT" + (seen == Behaviour::kUnknown ? std::string()
                                     : "; a firewall here lets in " +
                                           std::string(seen == Behaviour::kEndpointIndependent
                                                           ? "unsolicited packets from anywhere"
                                                           : "answers only (" + std::string(behaviour_name(seen)) + ")"));
  } else {
    v.filtering = seen;
    v.filtering_candidates = candidates;
    v.filtering_reason = why;
  }
}

Verdict Discovery::verdict() const {
  Verdict v;
  const TestRecord& m1 = record(Test::kM1);
  const TestRecord& f1 = record(Test::kF1);
  v.server_has_other_address = other_.has_value();
  v.port_unreachable = (m1.unreachable || f1.unreachable) && !m1.answered && !f1.answered;
  // "Blocked" is a claim about silence: it needs enough unanswered tries on both sockets.
  const int enough = timing_.min_blocked_transmissions;
  v.udp_blocked = !v.port_unreachable && m1.silent && f1.silent && m1.transmissions >= enough &&
                  f1.transmissions >= enough;
  decide_mapping(v);
  decide_filtering(v);
  return v;
}

}  // namespace natdiag::stun::rfc5780
