#include "stun/net/endpoint.hpp"

#include <netinet/in.h>

#include <cctype>
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

bool is_numeric_host(std::string_view host) noexcept {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  const auto dot = host.rfind('.');
  std::string_view last = dot == std::string_view::npos ? host : host.substr(dot + 1);
  if (last.empty()) return false;
  auto all = [](std::string_view s, auto pred) {
    for (char c : s) {
      if (!pred(static_cast<unsigned char>(c))) return false;
    }
    return true;
  };
  if (all(last, [](unsigned char c) { return c >= '0' && c <= '9'; })) return true;
  return (last.starts_with("0x") || last.starts_with("0X")) &&
         all(last.substr(2), [](unsigned char c) { return std::isxdigit(c) != 0; });
}

bool is_host_name(std::string_view host) noexcept {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty() || host.size() > 253 || is_numeric_host(host)) return false;
  std::size_t start = 0;
  while (start <= host.size()) {
    const auto dot = host.find('.', start);
    const auto label = host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_';
      if (!ok) return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

}  // namespace natdiag::net
