// Jitsi Videobridge's configuration against the measured network: the NAT mapping ice4j
// announces (jvb.conf ice4j.harvest.mapping.static-mappings, or sip-communicator.properties
// NAT_HARVESTER_LOCAL_ADDRESS / NAT_HARVESTER_PUBLIC_ADDRESS), the STUN servers its mapping
// harvester asks, and the videobridge's UDP port. Pure: file and facts in.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "src/profile/advice.hpp"
#include "src/profile/config/announced.hpp"
#include "src/profile/config/config_model.hpp"

namespace natdiag::profile {

/// Findings for a parsed jvb.conf (syntax "hocon") or sip-communicator.properties (syntax
/// "properties"): a mapping whose local address is not this host's, whose public address is
/// private or old, or with only one half; STUN mapping servers none of which answered or was
/// asked; a UDP port the firewall advice does not open; an include natdiag did not follow.
[[nodiscard]] std::vector<config::ConfigFinding> check_jitsi(
    const config::ParsedFile& file, const cli::ProfileFacts& facts,
    const config::Measurements& measured = {});

/// The STUN servers (host, port; 3478 when not written) the mapping harvester asks, for
/// config check to ask before checking.
[[nodiscard]] std::vector<std::pair<std::string, std::uint16_t>> jitsi_stun_servers(
    const config::ParsedFile& file);

}  // namespace natdiag::profile
