// What `profile --via` measured about the media ports from outside, as findings and as the
// firewall advice: only the ranges that did not get through, naming the servers that need
// them and what breaks. Pure: a function of the facts, so `advise --from` says the same.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "src/profile/advice.hpp"

namespace natdiag::cli {

/// The port check's findings: ranges not open per family (critical), ports held by other
/// programs (info), all open (info), or why the check could not run (warning). Empty when
/// no port check was asked for.
[[nodiscard]] std::vector<Finding> port_findings(const ProfileFacts& facts,
                                                 const std::vector<std::string>& targets);

/// The firewall advice from the measurement: ufw and nftables lines for the ranges that did
/// not get through and, behind NAT, the router forward to this host's measured address.
/// nullopt when nothing was measured (the documented ports apply) ; an Advice with no lines
/// when everything measured is open.
[[nodiscard]] std::optional<Advice> measured_firewall_advice(const ProfileFacts& facts);

}  // namespace natdiag::cli
