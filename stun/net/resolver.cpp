#include "stun/net/resolver.hpp"

#include <netdb.h>

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

namespace natdiag::net {
namespace {

struct Lookup {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  Resolution result;
};

bool family_allowed(Family f, FamilyPreference pref) {
  return pref == FamilyPreference::kAny || (pref == FamilyPreference::kIPv4Only) == (f == Family::kIPv4);
}

}  // namespace

Resolution resolve(const std::string& host, std::uint16_t port, FamilyPreference family,
                   stun::TimePoint deadline) {
  Resolution out;
  if (auto literal = TransportAddress::parse(host);
      literal && host.find(']') == std::string::npos) {
    literal->port = port;
    if (!family_allowed(literal->family, family)) {
      out.error = host + " is an IPv" + (literal->family == Family::kIPv4 ? "4" : "6") +
                  " address but IPv" + (family == FamilyPreference::kIPv4Only ? "4" : "6") +
                  " was asked for";
      return out;
    }
    out.addresses.push_back(*literal);
    return out;
  }
  // getaddrinfo would read "1.2.3" as 1.2.0.3 and "3478" as 0.0.13.150 (inet_aton's legacy
  // forms): never send anything to an address the user did not write.
  if (is_numeric_host(host)) {
    out.error = host + " is not an IP address (IPv4 is four numbers a.b.c.d) nor a host name";
    return out;
  }
  // Shared with the helper thread, which may outlive this call when the deadline passes.
  auto lookup = std::make_shared<Lookup>();
  std::thread([lookup, host, port, family] {
    addrinfo hints{};
    hints.ai_family = family == FamilyPreference::kIPv4Only   ? AF_INET
                      : family == FamilyPreference::kIPv6Only ? AF_INET6
                                                              : AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* list = nullptr;
    Resolution result;
    const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &list);
    if (rc != 0) {
      result.error = "cannot resolve " + host + ": " + gai_strerror(rc);
    } else {
      for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
        if (auto addr = from_sockaddr(ai->ai_addr)) {
          addr->port = port;
          if (std::find(result.addresses.begin(), result.addresses.end(), *addr) ==
              result.addresses.end()) {
            result.addresses.push_back(*addr);
          }
        }
      }
      freeaddrinfo(list);
      if (result.addresses.empty()) result.error = "no usable address for " + host;
    }
    std::lock_guard lock(lookup->mutex);
    lookup->result = std::move(result);
    lookup->done = true;
    lookup->done_cv.notify_all();
  }).detach();

  std::unique_lock lock(lookup->mutex);
  if (!lookup->done_cv.wait_until(lock, deadline, [&] { return lookup->done; })) {
    out.error = "cannot resolve " + host + ": no answer from DNS before the timeout";
    return out;
  }
  return lookup->result;
}

}  // namespace natdiag::net
