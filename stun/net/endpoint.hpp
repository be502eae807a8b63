// Conversions between natdiag's TransportAddress and the sockets API's sockaddr.
#pragma once

#include <sys/socket.h>

#include <optional>
#include <string_view>

#include "stun/proto/types.hpp"

namespace natdiag::net {

using stun::Family;
using stun::TransportAddress;

/// A sockaddr big enough for IPv4 and IPv6, with its length.
struct SockAddr {
  sockaddr_storage storage{};
  socklen_t length = 0;

  [[nodiscard]] const sockaddr* get() const noexcept {
    return reinterpret_cast<const sockaddr*>(&storage);
  }
  [[nodiscard]] sockaddr* get() noexcept { return reinterpret_cast<sockaddr*>(&storage); }
};

[[nodiscard]] SockAddr to_sockaddr(const TransportAddress& address) noexcept;
/// nullopt for families other than AF_INET/AF_INET6. IPv4-mapped IPv6 addresses are
/// returned as IPv4 so they compare equal to what the peer reports.
[[nodiscard]] std::optional<TransportAddress> from_sockaddr(const sockaddr* addr) noexcept;
[[nodiscard]] int to_af(Family family) noexcept;
/// The unspecified address of a family ("0.0.0.0" or "::") with a port.
[[nodiscard]] TransportAddress any_address(Family family, std::uint16_t port = 0) noexcept;
/// Loopback, private (RFC 1918, RFC 4193), link-local, CGNAT (RFC 6598) addresses: the ones
/// that a peer on the Internet cannot reach.
[[nodiscard]] bool is_private_or_local(const TransportAddress& address) noexcept;

/// A name that the resolver would read as a legacy numeric address ("1.2.3", "3478",
/// "0x7f.1"): its last label is a number (WHATWG URL "ends in a number"). Only dotted quads
/// (inet_pton) are IPv4 addresses here, so such a name is refused, never looked up.
[[nodiscard]] bool is_numeric_host(std::string_view host) noexcept;
/// RFC 1123 host name syntax: labels of letters, digits, '-' (and '_', as SRV-style names
/// have), 1-63 characters, not starting or ending with '-'; at most 253 characters; an
/// optional final dot; not a numeric host.
[[nodiscard]] bool is_host_name(std::string_view host) noexcept;

}  // namespace natdiag::net
