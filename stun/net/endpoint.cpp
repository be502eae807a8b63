#include "stun/net/endpoint.hpp"

#include <netinet/in.h>

#include <cstring>

namespace natdiag::net {

SockAddr to_sockaddr(const TransportAddress& address) noexcept {
  SockAddr out;
  if (address.family == Family::kIPv4) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out.storage);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(address.port);
    std::memcpy(&sin->sin_addr, address.ip.data(), 4);
    out.length = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(address.port);
    std::memcpy(&sin6->sin6_addr, address.ip.data(), 16);
    out.length = sizeof(sockaddr_in6);
  }
  return out;
}

std::optional<TransportAddress> from_sockaddr(const sockaddr* addr) noexcept {
  TransportAddress out;
  if (addr->sa_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(addr);
    out.family = Family::kIPv4;
    out.port = ntohs(sin->sin_port);
    std::memcpy(out.ip.data(), &sin->sin_addr, 4);
    return out;
  }
  if (addr->sa_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(addr);
    out.port = ntohs(sin6->sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
      out.family = Family::kIPv4;
      std::memcpy(out.ip.data(), reinterpret_cast<const std::uint8_t*>(&sin6->sin6_addr) + 12, 4);
    } else {
      out.family = Family::kIPv6;
      std::memcpy(out.ip.data(), &sin6->sin6_addr, 16);
    }
    return out;
  }
  return std::nullopt;
}

int to_af(Family family) noexcept { return family == Family::kIPv4 ? AF_INET : AF_INET6; }

TransportAddress any_address(Family family, std::uint16_t port) noexcept {
  TransportAddress out;
  out.family = family;
  out.port = port;
  return out;
}

bool is_private_or_local(const TransportAddress& a) noexcept {
  const auto& ip = a.ip;
  if (a.family == Family::kIPv4) {
    return ip[0] == 10 || ip[0] == 127 || (ip[0] == 172 && (ip[1] & 0xF0) == 16) ||
           (ip[0] == 192 && ip[1] == 168) || (ip[0] == 169 && ip[1] == 254) ||
           (ip[0] == 100 && (ip[1] & 0xC0) == 64) || ip[0] == 0;
  }
  static const std::uint8_t kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return std::memcmp(ip.data(), kLoopback, 16) == 0 || (ip[0] & 0xFE) == 0xFC ||
         (ip[0] == 0xFE && (ip[1] & 0xC0) == 0x80);
}

}  // namespace natdiag::net
