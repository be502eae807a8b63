// The rules the profile advice is made of, shared by the findings and the advice: when
// /etc/hosts needs a change, when a dummy NIC is wanted and with which commands, why a port
// range moved, and the BigBlueButton guide's NAT steps. Pure: facts in, words and lines out.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/profile/advice.hpp"
#include "src/profile/media_ports.hpp"

namespace natdiag::cli {

/// `value` is set and equals `wanted`.
[[nodiscard]] bool is(const std::optional<std::string>& value, std::string_view wanted);
/// --hostname is an IP address literal (nothing for /etc/hosts).
[[nodiscard]] bool hostname_is_ip(const ProfileFacts& f);
/// /etc/hosts maps the host name to another address on its first matching line.
[[nodiscard]] bool etc_hosts_maps_elsewhere(const ProfileFacts& f);
/// The host name needs an /etc/hosts change (never for an IP literal).
[[nodiscard]] bool etc_hosts_needed(const ProfileFacts& f);
/// Hairpin to the measured public address is missing and the address is not on this host.
[[nodiscard]] bool dummy_nic_wanted(const ProfileFacts& f);
/// The commands that add the measured public IPv4 as a dummy NIC now (and persist it).
[[nodiscard]] std::vector<std::string> dummy_nic_lines(const ProfileFacts& f);
/// Why a server's UDP range moved, in one sentence.
[[nodiscard]] std::string moved_text(const RangeChoice& choice);
/// The BigBlueButton guide's NAT steps with the measured values (facts.public_ipv4 must be set);
/// no lines when none apply.
[[nodiscard]] Advice bigbluebutton_advice(const ProfileFacts& f, const std::vector<RangeChoice>& plan);

}  // namespace natdiag::cli
