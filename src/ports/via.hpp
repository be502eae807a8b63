// `natdiag ports --via HOST`: listen here on every port, have a natdiag serve --probe-back
// outside send the probes back to this host's public address, and count what arrives.
#pragma once

#include <chrono>
#include <string>
#include <vector>

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

/// Runs the whole --via check. Throws SocketError / DescriptorLimitError when this host cannot
/// listen (exit 3).
[[nodiscard]] ViaResult run_via(const ViaOptions& options);

}  // namespace natdiag::ports
