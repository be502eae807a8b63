// The warnings of `natdiag ice`: from the candidates and the direct probes to sentences an
// administrator can act on. Pure: no I/O, so every case is unit-tested.
#include <algorithm>
#include <cstdio>
#include <optional>

#include "ice/diagnose.hpp"
#include "stun/net/endpoint.hpp"

namespace natdiag::ice {
namespace {

bool is_host_ip(const TransportAddress& a, const std::vector<Candidate>& candidates) {
  return std::any_of(candidates.begin(), candidates.end(), [&](const Candidate& c) {
    return c.type == CandidateType::kHost && c.address.same_ip(a);
  });
}

/// STUN over UDP unanswered (or refused by another host on the way) while STUN over TCP to
/// the same server answered. The server's own ICMP port unreachable is no blocked path.
bool udp_blocked_to(const StunServerReport& s) {
  return s.probed && !s.udp_mapped && s.tcp_answered == true &&
         s.udp_failure != client::Failure::kRefusedByServer && s.udp_failure != client::Failure::kOther;
}

/// The server itself answered ICMP port unreachable over UDP and STUN over TCP: no UDP there.
bool server_without_udp(const StunServerReport& s) {
  return s.probed && !s.udp_mapped && s.udp_failure == client::Failure::kRefusedByServer;
}

/// Across all servers: some UDP path failed where a TCP/TLS one to the same server worked.
bool udp_blocked(const IceReport& r) {
  if (std::any_of(r.stun.begin(), r.stun.end(), udp_blocked_to)) return true;
  for (const auto& udp : r.turn) {
    if (udp.transport != client::Transport::kUdp ||
        udp.verdict() != client::TurnVerdict::kUnreachable || !udp.address) {
      continue;
    }
    for (const auto& stream : r.turn) {
      if (stream.transport != client::Transport::kUdp && stream.address &&
          stream.address->same_ip(*udp.address) && stream.verdict() == client::TurnVerdict::kOk) {
        return true;
      }
    }
  }
  return false;
}

std::string seconds(Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(d.count()) / 1e6);
  return buf;
}

std::string turn_warning(const TurnServerReport& t, bool udp_is_blocked) {
  const std::string head = "no relay from " + t.uri + ": ";
  const std::string& detail = t.probe.detail;
  switch (t.probe.verdict) {
    case client::TurnVerdict::kAuthFailed:
      return head + "authentication failed (" + detail +
             "). Check the TURN user and password, or the shared secret (coturn "
             "static-auth-secret) "
             "and the realm.";
    case client::TurnVerdict::kRefused:
      return head + "the server refused the allocation (" + detail + ").";
    case client::TurnVerdict::kUnreachable: {
      std::string w = head + "the server is unreachable (" + detail + ").";
      if (t.transport == client::Transport::kUdp && udp_is_blocked) {
        w += " UDP is blocked on this path: use TURN over TCP or TLS (?transport=tcp, turns:).";
      }
      return w;
    }
    case client::TurnVerdict::kOk: break;
  }
  return head + "natdiag's own Allocate succeeded (" + detail +
         "), but libnice gathered none in time; try a longer --timeout.";
}

/// The fixes for a STUN server that drops RFC 3489 Bindings, as the sentence's end.
constexpr const char* kClassicStunFixes =
    "Fix one of: remove the line no-stun-backward-compatibility from the STUN server's "
    "configuration (Debian's stock /etc/turnserver.conf sets it); or give the media server a "
    "TURN server (libnice then takes the srflx from the Allocate answer); or use libnice 0.1.23 "
    "or newer.";

std::string stun_warning(const StunServerReport& s) {
  const std::string head = "no srflx from " + s.uri + ": ";
  if (!s.resolve_error.empty()) return head + s.resolve_error + ".";
  if (!s.probed) return head + "the server did not answer libnice.";
  if (udp_blocked_to(s)) {
    return head +
           "UDP is blocked (STUN over UDP got no answer, STUN over TCP did). "
           "Peers will need TURN over TCP or TLS, or open UDP in the firewall.";
  }
  if (server_without_udp(s)) {
    return head + "the STUN server does not listen on UDP (" + s.udp_error + (s.tcp_answered == true ? "; it answered over TCP" : "") +
           "). A STUN server without UDP gives WebRTC no srflx: check its configuration (coturn: no-udp, "
           "listening-port) and its firewall.";
  }
  if (!s.udp_mapped) {
    return head + "the STUN server is unreachable or UDP is blocked (" + s.udp_error +
           "; no answer over TCP either).";
  }
  if (refuses_classic_stun(s)) {
    return head +
           "the server refuses classic STUN: it answered natdiag's RFC 5389 Binding (mapped " +
           s.udp_mapped->to_string() +
           ") but not the same request in RFC 3489 form, without the magic cookie (coturn: "
           "no-stun-backward-compatibility). libnice before 0.1.23 sends its srflx discovery in "
           "that form (Kurento and Janus on Debian 12 use libnice 0.1.21), so it gets no srflx "
           "from this server. " +
           kClassicStunFixes;
  }
  return head + "the server answered natdiag's own Binding request (mapped " +
         s.udp_mapped->to_string() +
         "), but libnice gathered nothing in time; try a longer --timeout.";
}

/// A STUN server's view of this host at one of its own addresses: that path has no NAT.
std::optional<TransportAddress> direct_address(const StunServerReport& stun,
                                               const std::vector<Candidate>& candidates) {
  if (stun.udp_mapped && is_host_ip(*stun.udp_mapped, candidates)) return stun.udp_mapped;
  for (const auto& a : stun.srflx) {
    if (is_host_ip(a, candidates)) return a;
  }
  return std::nullopt;
}

std::string no_nat_warning(const StunServerReport& s, const TransportAddress& direct,
                           const std::vector<Candidate>& candidates) {
  std::string w = "no NAT: " + s.uri + " sees this host at " + direct.ip_string() +
                  ", a host address (srflx equals host). The host candidate " + direct.ip_string() +
                  " is public.";
  // A multi-homed host may reach the server through a NAT from its other addresses.
  for (const auto& c : candidates) {
    if (c.type != CandidateType::kServerReflexive || c.server != s.uri ||
        is_host_ip(c.address, candidates)) {
      continue;
    }
    w += " From " + (c.base ? c.base->ip_string() : std::string("another local address")) +
         " the server sees " + c.address.ip_string() + ": that path goes through a NAT.";
  }
  return w;
}

/// Families whose host candidates are all private or link-local: with no server to learn a
/// public address from, peers on the Internet cannot reach this host over that family.
std::vector<std::string> private_only_families(const std::vector<Candidate>& candidates) {
  std::vector<std::string> out;
  for (const auto family : {stun::Family::kIPv4, stun::Family::kIPv6}) {
    std::string addresses;
    bool any = false;
    bool public_one = false;
    for (const auto& c : candidates) {
      if (c.type != CandidateType::kHost || c.address.family != family) continue;
      any = true;
      public_one = public_one || !net::is_private_or_local(c.address);
      if (addresses.find(c.address.ip_string()) == std::string::npos)
        addresses += (addresses.empty() ? "" : ", ") + c.address.ip_string();
    }
    if (any && !public_one) {
      out.push_back(std::string(family == stun::Family::kIPv4 ? "IPv4" : "IPv6") + " (" +
                    addresses + ")");
    }
  }
  return out;
}

}  // namespace

bool refuses_classic_stun(const StunServerReport& stun) noexcept {
  // A libnice that asks in RFC 3489 form (0.1.21) and got a srflx shows the server answers that.
  return stun.udp_mapped && stun.rfc3489_answered == false &&
         (stun.srflx.empty() || !libnice_discovers_in_rfc3489());
}

bool no_nat_towards(const StunServerReport& stun, const std::vector<Candidate>& candidates) {
  return direct_address(stun, candidates).has_value();
}

bool pair_crosses_nat(const SelectedPair& pair, const std::vector<Candidate>& candidates) {
  auto crosses = [&](const Candidate& c) {
    switch (c.type) {
      case CandidateType::kServerReflexive:
      case CandidateType::kRelayed: return true;
      // Learnt from a check: through a NAT only if it is none of this host's addresses.
      case CandidateType::kPeerReflexive: return !is_host_ip(c.address, candidates);
      case CandidateType::kHost: break;
    }
    return false;
  };
  return crosses(pair.local) || crosses(pair.remote);
}

std::string_view check_verdict_name(CheckVerdict v) noexcept {
  switch (v) {
    case CheckVerdict::kSuccess: return "success";
    case CheckVerdict::kInconclusive: return "inconclusive";
    case CheckVerdict::kFail: break;
  }
  return "fail";
}

CheckVerdict check_verdict(const CheckOutcome& check, const std::vector<Candidate>& candidates) {
  if (!check.success || !check.pair) return CheckVerdict::kFail;
  return pair_crosses_nat(*check.pair, candidates) ? CheckVerdict::kSuccess
                                                   : CheckVerdict::kInconclusive;
}

std::vector<std::string> ice_warnings(const IceReport& r, const IceOptions& options) {
  std::vector<std::string> w;
  const auto& candidates = r.gather.candidates;
  const bool blocked = udp_blocked(r);

  if (options.stun.empty() && options.turn.empty()) {
    const auto hidden = private_only_families(candidates);
    if (hidden.empty()) {
      w.push_back(
          "no --stun or --turn server given: only host candidates, all of them public addresses "
          "(natdiag did not test that peers can reach them).");
    }
    for (const auto& family : hidden) {
      w.push_back("no --stun or --turn server given, and every " + family +
                  " host candidate is private: this host is behind NAT (or has no public " +
                  family.substr(0, 4) +
                  " address), so peers on the Internet cannot reach these. Add --stun for a "
                  "srflx candidate or --turn for a relay.");
    }
  }
  if (!options.relay_only) {
    for (const auto& s : r.stun) {
      if (const auto direct = direct_address(s, candidates)) {
        w.push_back(no_nat_warning(s, *direct, candidates));
      } else if (s.srflx.empty()) {
        w.push_back(stun_warning(s));
      } else if (refuses_classic_stun(s)) {
        // This libnice asks in RFC 5389 form; media servers on older ones do not.
        w.push_back(
            s.uri +
            " refuses classic STUN: an RFC 3489 Binding, without the magic cookie, got no "
            "answer (coturn: no-stun-backward-compatibility). This libnice got a srflx, but "
            "libnice before 0.1.23 (Kurento and Janus on Debian 12) gets none from it. " +
            kClassicStunFixes);
      }
    }
  }
  for (const auto& t : r.turn) {
    if (t.relays.empty()) w.push_back(turn_warning(t, blocked));
  }
  for (const auto& t : r.turn) {
    if (!t.probe.tls_problem.empty()) {
      w.push_back(t.uri + ": the TLS certificate does not verify (" + t.probe.tls_problem +
                  "). libnice does not check it, but browsers will refuse this TURN server.");
    }
  }
  if (blocked && std::none_of(r.stun.begin(), r.stun.end(), udp_blocked_to)) {
    w.push_back(
        "UDP is blocked on the way out: TURN over UDP got no answer, over TCP/TLS it works.");
  }
  for (const auto& c : candidates) {
    if (c.type == CandidateType::kRelayed && net::is_private_or_local(c.address)) {
      w.push_back("relay address " + c.address.to_string() + " from " + c.server +
                  " is private: coturn does not know its public address. Set external-ip="
                  "PUBLIC_IP/PRIVATE_IP in turnserver.conf.");
    }
  }
  if (options.family == net::FamilyPreference::kAny) {
    bool v4 = false;
    bool v6 = false;
    for (const auto& c : candidates) {
      if (c.type != CandidateType::kHost) continue;
      (c.address.family == stun::Family::kIPv4 ? v4 : v6) = true;
    }
    if (v4 && !v6) {
      w.push_back(
          "only IPv4 host candidates: no usable IPv6 address here, so IPv6-only peers "
          "cannot reach this host directly.");
    } else if (v6 && !v4) {
      w.push_back(
          "only IPv6 host candidates: no usable IPv4 address here, so IPv4-only peers "
          "need a relay.");
    }
  }
  for (const auto& a : r.gather.agents) {
    if (!a.done) {
      w.push_back("gathering " +
                  (a.server.empty() ? std::string("host candidates") : "from " + a.server) +
                  " did not finish within " + seconds(options.timeout) + ".");
    }
  }
  if (options.check && r.gather.check) {
    const auto& c = *r.gather.check;
    switch (check_verdict(c, candidates)) {
      case CheckVerdict::kFail: w.push_back("connectivity check failed: " + c.error + "."); break;
      case CheckVerdict::kInconclusive:
        w.push_back(
            "the connectivity check proves nothing about the NAT: both agents run in this "
            "process, and the pair ICE selected (" +
            describe(c.pair->local) + " to " + describe(c.pair->remote) +
            ") does not go through it. Give --turn, and the check runs relay to relay through "
            "the NAT.");
        break;
      case CheckVerdict::kSuccess: break;
    }
  }
  return w;
}

bool ice_healthy(const IceReport& r, const IceOptions& options) {
  if (!options.relay_only) {
    for (const auto& s : r.stun) {
      if (s.srflx.empty() && !no_nat_towards(s, r.gather.candidates)) return false;
    }
  }
  for (const auto& t : r.turn) {
    if (t.relays.empty()) return false;
  }
  if (options.check && !(r.gather.check && check_verdict(*r.gather.check, r.gather.candidates) ==
                                               CheckVerdict::kSuccess)) {
    return false;
  }
  // Candidates may be missing when gathering ran out of time.
  if (r.gather.timed_out) return false;
  if (options.stun.empty() && options.turn.empty() &&
      !private_only_families(r.gather.candidates).empty()) {
    return false;
  }
  return true;
}

}  // namespace natdiag::ice
