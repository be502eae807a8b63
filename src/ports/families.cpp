#include "src/ports/families.hpp"

#include <algorithm>

namespace natdiag::ports {

std::string family_label(stun::Family family) {
  return family == stun::Family::kIPv4 ? "IPv4" : "IPv6";
}

FarEnds far_end_addresses(const std::vector<FarEndName>& names, net::FamilyPreference family,
                          stun::TimePoint deadline, bool host_has_ipv6, std::string_view hint) {
  FarEnds out;
  std::optional<TransportAddress> v4, v6;
  for (const auto& [host, port] : names) {
    const auto resolution = net::resolve(host, port, family, deadline);
    if (resolution.addresses.empty()) {
      out.error = "'" + host + "' does not resolve: " + resolution.error;
      return out;
    }
    bool added = false;
    for (const auto& a : resolution.addresses) {
      auto& slot = a.family == stun::Family::kIPv4 ? v4 : v6;
      if (!slot) {
        slot = a;
        added = true;
      }
    }
    if (!added) {
      out.same_family = true;
      out.addresses.clear();
      out.error = "'" + host + "' adds no address family to '" + names.front().host +
                  "' (give the far end's IPv4 address once and its IPv6 address once)";
      return out;
    }
  }
  if (v4) out.addresses.push_back(*v4);
  if (v6) {
    if (family == net::FamilyPreference::kAny && v4 && !host_has_ipv6) {
      out.untested.push_back("IPv6 not tested: this host has no global IPv6 address");
    } else {
      out.addresses.push_back(*v6);
    }
  } else if (family == net::FamilyPreference::kAny && host_has_ipv6) {
    out.untested.push_back("IPv6 not tested: '" + names.front().host + "' has no IPv6 address (" +
                           std::string(hint) + ")");
  }
  return out;
}

FamiliesResult run_via_families(const ViaOptions& base, const std::vector<TransportAddress>& far_ends) {
  FamiliesResult result;
  for (const auto& address : far_ends) {
    ViaOptions o = base;
    o.host = address.ip_string();
    o.port = address.port;
    o.family = address.family == stun::Family::kIPv4 ? net::FamilyPreference::kIPv4Only
                                                     : net::FamilyPreference::kIPv6Only;
    auto via = run_via(o);
    FamilyRun run;
    run.family = address.family;
    if (via.error.empty()) {
      via.report.family = family_label(address.family);
      run.report = std::move(via.report);
    } else if (via.no_route && far_ends.size() > 1) {
      result.untested.push_back(family_label(address.family) + " not tested: " + via.error);
      continue;
    } else {
      run.error = via.error;
    }
    result.runs.push_back(std::move(run));
  }
  return result;
}

bool all_open(const FamiliesResult& result) {
  return !result.runs.empty() && std::all_of(result.runs.begin(), result.runs.end(), [](const FamilyRun& r) {
    return r.report && all_open(*r.report);
  });
}

}  // namespace natdiag::ports
