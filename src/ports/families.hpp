// IPv4 and IPv6 in one run: "default both where both exist" (IPv6 has no NAT but has
// firewalls). Picks one far-end address per family, runs each family in turn, and keeps
// a family that this host cannot route apart from a family that failed.
#pragma once

#include <optional>
#include <ostream>
#include <string_view>
#include <string>
#include <vector>

#include "src/ports/report.hpp"
#include "src/ports/via.hpp"
#include "stun/net/resolver.hpp"

namespace natdiag::ports {

using stun::TransportAddress;

/// One family's result: its report, or why it could not run.
struct FamilyRun {
  stun::Family family = stun::Family::kIPv4;
  std::optional<PortsReport> report;
  std::string error;  ///< set when the family was tried and failed (exit 1)
};

/// Every family tried, and the ones not tried with why ("IPv6 not tested: ...").
struct FamiliesResult {
  std::vector<FamilyRun> runs;
  std::vector<std::string> untested;
};

/// "IPv4" / "IPv6".
[[nodiscard]] std::string family_label(stun::Family family);

/// The far-end addresses to use, one per family, from the names given (one or two: the far
/// end's IPv4 and IPv6 addresses). With `family` kAny, both families where the names have
/// both and this host has a global IPv6 address; else only the family asked. Families left
/// out are explained in `untested`. An empty result means nothing resolved (`error`).
struct FarEndName {
  std::string host;
  std::uint16_t port = 0;
};
struct FarEnds {
  std::vector<TransportAddress> addresses;
  std::vector<std::string> untested;
  std::string error;
  bool same_family = false;  ///< the error: the second name adds no family (bad input)
};
/// `hint` says how to name the other family ("give --via twice: ...").
[[nodiscard]] FarEnds far_end_addresses(const std::vector<FarEndName>& names,
                                        net::FamilyPreference family, stun::TimePoint deadline,
                                        bool host_has_ipv6, std::string_view hint);

/// `ports --via` for each of `far_ends` in turn (their ports are serve's control ports), the ports and
/// budget of `base`. A family whose far end this host has no route to is moved to untested.
[[nodiscard]] FamiliesResult run_via_families(const ViaOptions& base,
                                              const std::vector<TransportAddress>& far_ends);

/// `ports` cut into sets of at most `most` ports, in order (one empty set for none).
[[nodiscard]] std::vector<PortSet> split(const PortSet& ports, std::uint32_t most);

/// True when every family that ran is all open and none failed.
[[nodiscard]] bool all_open(const FamiliesResult& result);

/// Moves the failures and the families not tested into the first report's notes. Returns
/// the error to report instead when no family has a report (both families named if both
/// failed).
[[nodiscard]] std::optional<std::string> settle(FamiliesResult& result);
/// The first report's fields (IPv4 when both ran), then `ipv6`: the IPv6 report or null.
/// After settle(), with at least one report.
void families_to_json(const FamiliesResult& result, nlohmann::ordered_json& out);
/// One report, or each with its family before its verdict line. After settle().
void print_families(std::ostream& out, const FamiliesResult& result);

/// The ports each of `targets` (kMediaServers names) needs open, from profile's port table;
/// servers without fixed ports in it are left out.
[[nodiscard]] std::vector<ServerNeed> server_needs(const std::vector<std::string>& targets);

}  // namespace natdiag::ports
