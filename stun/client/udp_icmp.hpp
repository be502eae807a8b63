// ICMP errors on unconnected UDP sockets. A connected socket learns "port unreachable" as
// ECONNREFUSED; NAT discovery talks to several addresses from one socket, so it asks the kernel
// (IP_RECVERR) to queue each ICMP error with the destination of the request that failed.
#pragma once

#include <optional>
#include <span>

#include "stun/net/socket.hpp"

namespace natdiag::client {

/// Queues ICMP errors on `socket` (IP_RECVERR / IPV6_RECVERR).
void enable_icmp_errors(const net::UdpSocket& socket, stun::Family family);

/// Sends; an ICMP error for an earlier packet that the send returned instead is sent past.
void send_past_icmp(net::UdpSocket& socket, std::span<const std::uint8_t> bytes, const stun::TransportAddress& to);

/// One queued ICMP error.
struct IcmpError {
  stun::TransportAddress destination;           ///< where the failed request went
  std::optional<stun::TransportAddress> from;   ///< who sent the ICMP error
  bool port_unreachable = false;                ///< ICMP 3/3 or ICMPv6 1/4
};

/// The next queued ICMP error, or nullopt when there is none (never blocks).
[[nodiscard]] std::optional<IcmpError> read_icmp_error(const net::UdpSocket& socket);

}  // namespace natdiag::client
