// natdiag's own ICE candidate (RFC 8445 §5.1), the value type libnice's NiceCandidate becomes
// the moment it leaves libnice. Nothing here includes GLib or libnice.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stun/proto/retransmit.hpp"
#include "stun/proto/types.hpp"

namespace natdiag::ice {

using stun::Duration;
using stun::TransportAddress;

/// RFC 8445 §5.1.1: how a candidate was obtained.
enum class CandidateType : std::uint8_t {
  kHost,             ///< an address on a local interface
  kServerReflexive,  ///< the address a STUN (or TURN) server saw: the NAT's public side
  kPeerReflexive,    ///< learnt from a connectivity check (RFC 8445 §7.2.5.3.1)
  kRelayed,          ///< allocated on a TURN server (RFC 8656)
};

/// RFC 8445 §5.1 with RFC 6544 for TCP: the candidate's transport.
enum class CandidateTransport : std::uint8_t {
  kUdp,
  kTcpActive,   ///< RFC 6544 §4.5: opens connections, never accepts them
  kTcpPassive,  ///< accepts connections
  kTcpSo,       ///< simultaneous open
};

/// "host", "srflx", "prflx", "relay" (the SDP names, RFC 8839 §5.1).
[[nodiscard]] std::string_view type_name(CandidateType type) noexcept;
/// "udp", "tcp-active", "tcp-passive", "tcp-so".
[[nodiscard]] std::string_view transport_name(CandidateTransport transport) noexcept;
[[nodiscard]] constexpr bool is_tcp(CandidateTransport t) noexcept {
  return t != CandidateTransport::kUdp;
}

/// One local (or, in a connectivity check, remote) ICE candidate.
struct Candidate {
  CandidateType type = CandidateType::kHost;
  CandidateTransport transport = CandidateTransport::kUdp;
  TransportAddress address;
  std::uint32_t priority = 0;            ///< RFC 8445 §5.1.2
  std::string foundation;                ///< RFC 8445 §5.1.1.3
  std::optional<TransportAddress> base;  ///< the related address (rel-addr) for srflx/relay
  std::string server;  ///< the STUN/TURN URI that produced it; empty for host and prflx
  Duration elapsed{};  ///< when it arrived, since gathering started

  /// Same kind, transport and address: the same candidate however it was reported.
  [[nodiscard]] bool same_target(const Candidate& other) const noexcept {
    return type == other.type && transport == other.transport && address == other.address;
  }
};

/// Merges the candidates of several agents (libnice takes one STUN server per agent, so
/// natdiag runs one agent per server). Every agent gathers the same host candidates on its
/// own ports: a host candidate is kept once per transport and IP, from the first agent that
/// had it. Server-derived candidates are all kept; exact duplicates are dropped. The result
/// is in Trickle ICE order: by priority, highest first, then by arrival.
[[nodiscard]] std::vector<Candidate> merge_candidates(
    const std::vector<std::vector<Candidate>>& per_agent);

/// "203.0.113.1:50000 srflx udp" style one-liner for logs and selected pairs.
[[nodiscard]] std::string describe(const Candidate& c);

}  // namespace natdiag::ice
