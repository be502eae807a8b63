// The warnings of `natdiag ice`: from the candidates and the direct probes to sentences an
// administrator can act on. Pure: no I/O, so every case is unit-tested.
#include <algorithm>
#include <cstdio>

#include "ice/diagnose.hpp"
#include "stun/net/endpoint.hpp"

namespace natdiag::ice {
namespace {

bool is_host_ip(const TransportAddress& a, const std::vector<Candidate>& candidates) {
  return std::any_of(candidates.begin(), candidates.end(), [&](const Candidate& c) {
    return c.type == CandidateType::kHost && c.address.same_ip(a);
  });
}

/// STUN over UDP unanswered while STUN over TCP to the same server answered.
bool udp_blocked_to(const StunServerReport& s) {
  return s.probed && !s.udp_mapped && s.tcp_answered == true;
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

std::string stun_warning(const StunServerReport& s) {
  const std::string head = "no srflx from " + s.uri + ": ";
  if (!s.resolve_error.empty()) return head + s.resolve_error + ".";
  if (!s.probed) return head + "the server did not answer libnice.";
  if (udp_blocked_to(s)) {
    return head +
           "UDP is blocked (STUN over UDP got no answer, STUN over TCP did). "
           "Peers will need TURN over TCP or TLS, or open UDP in the firewall.";
  }
  if (!s.udp_mapped) {
    return head + "the STUN server is unreachable or UDP is blocked (" + s.udp_error +
           "; no answer over TCP either).";
  }
  return head + "the server answered natdiag's own Binding request (mapped " +
         s.udp_mapped->to_string() +
         "), but libnice gathered nothing in time; try a longer --timeout.";
}

}  // namespace

bool no_nat_towards(const StunServerReport& stun, const std::vector<Candidate>& candidates) {
  if (stun.udp_mapped && is_host_ip(*stun.udp_mapped, candidates)) return true;
  return std::any_of(stun.srflx.begin(), stun.srflx.end(),
                     [&](const TransportAddress& a) { return is_host_ip(a, candidates); });
}

std::vector<std::string> ice_warnings(const IceReport& r, const IceOptions& options) {
  std::vector<std::string> w;
  const auto& candidates = r.gather.candidates;
  const bool blocked = udp_blocked(r);

  if (options.stun.empty() && options.turn.empty()) {
    w.push_back(
        "no --stun or --turn server given: only host candidates. Behind NAT, peers need a "
        "srflx candidate (add --stun) or a relay (add --turn).");
  }
  if (!options.relay_only) {
    for (const auto& s : r.stun) {
      if (no_nat_towards(s, candidates)) {
        const auto seen = !s.srflx.empty() ? s.srflx.front() : *s.udp_mapped;
        w.push_back("no NAT: " + s.uri + " sees this host at " + seen.ip_string() +
                    ", a host address (srflx equals host). The host candidate is public.");
      } else if (s.srflx.empty()) {
        w.push_back(stun_warning(s));
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
  if (options.check && r.gather.check && !r.gather.check->success) {
    w.push_back("connectivity check failed: " + r.gather.check->error + ".");
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
  if (options.check && !(r.gather.check && r.gather.check->success)) return false;
  return true;
}

}  // namespace natdiag::ice
