// The UDP hairpin checks. The port check binds the port here and sends a nonce datagram from a
// second socket to EXTERNAL_IP:PORT: the bound socket receiving it proves the router sent it
// back. The mapping check (RFC 5780 §4.5, RFC 4787 REQ-9) asks a STUN server for a socket's
// mapped address and sends the nonce there instead.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hairpin/checks.hpp"

namespace natdiag::hairpin {

/// Settings shared by the UDP checks.
struct UdpProbeOptions {
  TransportAddress external_ip;  ///< port ignored
  TimePoint deadline;
  /// The path's round trip as the concurrent checks measure it: once known, a check stops
  /// waiting after silence_window(RTT) instead of at the deadline (ICMP errors are rate-limited,
  /// so silence is the common answer). Null: wait for the deadline.
  PathRtt* rtt = nullptr;
};

/// The media range BigBlueButton, LiveKit and Kurento forward (and natdiag samples by default).
inline constexpr std::uint16_t kMediaPortFirst = 50000;
inline constexpr std::uint16_t kMediaPortLast = 60000;

/// The nonce check on one UDP port. A port another program holds is `skipped`.
[[nodiscard]] CheckResult udp_check(std::uint16_t port, const UdpProbeOptions& options);

/// A STUN server for the mapping check.
struct StunTarget {
  std::string host;
  std::uint16_t port = 3478;
};

/// The RFC 5780 §4.5 style check on the address the STUN server reports for a socket.
[[nodiscard]] CheckResult stun_mapping_check(const StunTarget& server,
                                             const UdpProbeOptions& options);

/// `count` distinct UDP ports in [first, last] that are free here right now, at random.
[[nodiscard]] std::vector<std::uint16_t> sample_free_udp_ports(stun::Family family, int count,
                                                               std::uint16_t first,
                                                               std::uint16_t last);

}  // namespace natdiag::hairpin
