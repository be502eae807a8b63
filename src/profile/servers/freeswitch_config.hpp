// FreeSWITCH's configuration against the measured network: the addresses it announces
// (external_rtp_ip / external_sip_ip in vars.xml, ext-rtp-ip / ext-sip-ip in the SIP
// profiles), the addresses it binds (rtp-ip, sip-ip) and its RTP port range (switch.conf.xml).
// BigBlueButton ships the same files under /opt/freeswitch/conf. Pure: files and facts in.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "src/profile/advice.hpp"
#include "src/profile/config/announced.hpp"
#include "src/profile/config/config_model.hpp"

namespace natdiag::profile {

/// Findings for one parsed FreeSWITCH XML file (vars.xml, sip_profiles/*.xml,
/// autoload_configs/switch.conf.xml). `$${NAME}` values other than the built-in local_ip_v4
/// are not followed here; see the overload with vars.xml. `measured`: what config check
/// measured beyond the profile (STUN answers, UDP ports).
[[nodiscard]] std::vector<config::ConfigFinding> check_freeswitch(
    const config::ParsedFile& file, const cli::ProfileFacts& facts,
    const config::Measurements& measured = {});

/// The same for a SIP profile whose `$${NAME}` values come from `vars` (vars.xml): a wrong
/// value set there is reported at its line in vars.xml, with the edit there. References to
/// external_rtp_ip / external_sip_ip are left to the check of vars.xml itself, so nothing is
/// reported twice.
[[nodiscard]] std::vector<config::ConfigFinding> check_freeswitch(
    const config::ParsedFile& file, const config::ParsedFile& vars, const cli::ProfileFacts& facts,
    const config::Measurements& measured = {});

/// The STUN servers (host, port; 3478 when not written) the file's stun: values ask, for
/// config check to ask before checking.
[[nodiscard]] std::vector<std::pair<std::string, std::uint16_t>> freeswitch_stun_servers(
    const config::ParsedFile& file);

}  // namespace natdiag::profile
