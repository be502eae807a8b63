// The `facts` object of a saved `natdiag profile --json`: written by profile, read back by
// `natdiag advise --from`. The file is input like any other: every fact is validated (type,
// range, enumeration, IP and host name syntax) and every command is derived from validated
// facts, never copied from the file.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "hairpin/local_facts.hpp"
#include "src/profile/advice.hpp"

namespace natdiag::cli {

/// The dummy NIC commands for `ip` on a host whose network `stack` configures: add it now,
/// then keep it after a reboot (with an unknown stack, the BigBlueButton guide's ifupdown
/// lines). The same for a live profile and for advise --from.
[[nodiscard]] std::vector<std::string> dummy_nic_commands_for(const stun::TransportAddress& ip,
                                                              hairpin::NetworkStack stack);

/// "ifupdown", ... as hairpin::stack_name writes it back into a stack; nullopt for others.
[[nodiscard]] std::optional<hairpin::NetworkStack> parse_network_stack(std::string_view name);

/// The facts a saved profile must carry, in the order profile writes them.
inline constexpr std::string_view kFactNames[] = {
    "public_ipv4",      "mapped_private",    "public_ipv6",      "local_ipv4",
    "behind_nat",       "mapping",           "mapping_candidates", "mapping_unknown",
    "filtering",        "udp",               "udp_error",        "tcp",
    "hairpin",          "dummy_nic_present", "external_ip",      "network_stack",
    "stun_error",       "default_servers",   "stun_server_ip",   "stun_server_port",
    "hostname",         "hostname_resolves_to_public",           "turn_configured",
    "turn_relay",       "turn_problem",      "relay_address",    "stun_rfc3489",
    "host_ipv6",        "ipv6_udp",          "ipv6_behind_nat",  "hairpin_target",
    "hairpin_untested", "etc_hosts_line",    "etc_hosts_ip",     "ports_measured",
    "ports_error"};

}  // namespace natdiag::cli
