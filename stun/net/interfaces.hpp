// Local interface addresses (getifaddrs): is an address ours, and on which interface?
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "stun/net/endpoint.hpp"

namespace natdiag::net {

/// One address configured on a local interface.
struct InterfaceAddress {
  std::string interface;     ///< "eth0", "lo"
  TransportAddress address;  ///< port 0
  int prefix_length = 0;
  bool up = false;
  bool loopback = false;
};

/// Every IPv4 and IPv6 address on this host's interfaces.
[[nodiscard]] std::vector<InterfaceAddress> local_addresses();
/// The interface that carries `ip` (port ignored), if any.
[[nodiscard]] std::optional<InterfaceAddress> find_local_address(const TransportAddress& ip);
/// RFC 4291 global unicast: not loopback, link-local (fe80::/10), unique local (fc00::/7),
/// multicast, IPv4-mapped or unspecified.
[[nodiscard]] bool is_global_ipv6(const TransportAddress& a) noexcept;
/// A global IPv6 address on an interface that is up, if this host has one.
[[nodiscard]] std::optional<TransportAddress> global_ipv6_address();

}  // namespace natdiag::net
