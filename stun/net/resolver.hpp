// Host name resolution with a deadline: getaddrinfo can block for many seconds when DNS is
// unreachable, and a diagnostic must not.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "stun/net/endpoint.hpp"
#include "stun/proto/retransmit.hpp"

namespace natdiag::net {

/// Which address families a lookup may return.
enum class FamilyPreference { kAny, kIPv4Only, kIPv6Only };

/// Addresses for `host` (a name or an IP literal) with `port`, or an error message.
struct Resolution {
  std::vector<TransportAddress> addresses;
  std::string error;  ///< set when addresses is empty
};

/// Resolves `host`. IP literals return at once; names go to getaddrinfo on a helper thread
/// that is abandoned (not waited for) when the deadline passes.
[[nodiscard]] Resolution resolve(const std::string& host, std::uint16_t port,
                                 FamilyPreference family, stun::TimePoint deadline);

}  // namespace natdiag::net
