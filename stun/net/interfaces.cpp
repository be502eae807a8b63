#include "stun/net/interfaces.hpp"

#include <ifaddrs.h>
#include <net/if.h>

#include <algorithm>
#include <bit>
#include <memory>

namespace natdiag::net {

std::vector<InterfaceAddress> local_addresses() {
  ifaddrs* list = nullptr;
  std::vector<InterfaceAddress> out;
  if (getifaddrs(&list) != 0) return out;
  std::unique_ptr<ifaddrs, decltype(&freeifaddrs)> owner(list, &freeifaddrs);
  for (ifaddrs* ifa = list; ifa != nullptr; ifa = ifa->ifa_next) {
    if (ifa->ifa_addr == nullptr) continue;
    auto address = from_sockaddr(ifa->ifa_addr);
    if (!address) continue;
    address->port = 0;
    InterfaceAddress entry{ifa->ifa_name, *address, 0, (ifa->ifa_flags & IFF_UP) != 0,
                           (ifa->ifa_flags & IFF_LOOPBACK) != 0};
    if (ifa->ifa_netmask != nullptr) {
      if (auto mask = from_sockaddr(ifa->ifa_netmask)) {
        for (std::size_t i = 0; i < address->ip_size(); ++i) {
          entry.prefix_length += std::popcount(static_cast<unsigned>(mask->ip[i]));
        }
      }
    }
    out.push_back(std::move(entry));
  }
  return out;
}

std::optional<InterfaceAddress> find_local_address(const TransportAddress& ip) {
  for (auto& entry : local_addresses()) {
    if (entry.address.same_ip(ip)) return entry;
  }
  return std::nullopt;
}

bool is_global_ipv6(const TransportAddress& a) noexcept {
  if (a.family != stun::Family::kIPv6) return false;
  const auto& b = a.ip;
  if ((b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || (b[0] & 0xfe) == 0xfc || b[0] == 0xff) return false;
  return !std::all_of(b.begin(), b.begin() + 10, [](auto x) { return x == 0; });  // ::, ::1, ::ffff:a.b.c.d
}

std::optional<TransportAddress> global_ipv6_address() {
  for (const auto& a : local_addresses()) {
    if (a.up && !a.loopback && is_global_ipv6(a.address)) return a.address;
  }
  return std::nullopt;
}

}  // namespace natdiag::net
