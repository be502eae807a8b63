// `natdiag ports --via HOST`: listen here on every port, have a natdiag serve --probe-back
// outside send the probes back to this host's public address, and count what arrives.
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "src/ports/prober.hpp"
#include "src/ports/report.hpp"
#include "stun/net/resolver.hpp"

namespace natdiag::ports {

/// What --via needs.
struct ViaOptions {
  std::string host;
  std::uint16_t port = 3480;
  net::FamilyPreference family = net::FamilyPreference::kAny;
  PortSet tcp;
  PortSet udp;
  std::vector<ServerNeed> servers;
  std::chrono::microseconds timeout{5'000'000};
  std::string secret;  ///< serve's --probe-secret, or empty
};

/// The report, or why the far end could not do its part (`error` set: exit 1).
struct ViaResult {
  PortsReport report;
  std::string error;
  /// The far end could not be reached because this host has no route to its family (no
  /// IPv6 address or default route): the family is not tested, which is not a failure.
  bool no_route = false;
};

/// What serve's "done" message says about the UDP ports no probe arrived on.
struct ServeUdp {
  std::map<std::uint16_t, UdpReply> icmp;      ///< ICMP errors serve got back
  std::map<std::uint16_t, UdpReply> other;     ///< datagrams that are not natdiag's
  std::map<std::uint16_t, UdpReply> untested;  ///< probes serve could not send
};

/// Reads serve's "done" message (bad items are skipped, never believed).
[[nodiscard]] ServeUdp read_serve_udp(const nlohmann::json& done);

/// The UDP outcomes of --via: `listener` (listener_outcomes) decides where a probe arrived;
/// serve's reports explain the rest. `public_ip` is the address serve probed.
[[nodiscard]] std::vector<PortOutcome> via_udp_outcomes(std::vector<PortOutcome> listener,
                                                        const ServeUdp& serve,
                                                        const TransportAddress& public_ip,
                                                        const std::string& silence);

/// One TCP port of --via that natdiag listened on: arrived here, else serve's result.
[[nodiscard]] PortOutcome via_tcp_outcome(std::uint16_t port, bool arrived, const TcpResult* remote,
                                          const TransportAddress& server);

/// Runs the whole --via check. Throws SocketError / DescriptorLimitError when this host cannot
/// listen (exit 3).
[[nodiscard]] ViaResult run_via(const ViaOptions& options);

}  // namespace natdiag::ports
