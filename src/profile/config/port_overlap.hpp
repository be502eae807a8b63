// Media servers on one host whose UDP port ranges overlap, as their own files set them (or as
// their documented default when a file sets none): two programs cannot share a range. Pure.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "src/profile/config/config_check.hpp"

namespace natdiag::profile::config {

/// The UDP range one file makes its server use.
struct ConfiguredRange {
  std::string server;
  std::string installation;  ///< servers of one installation share a range (media_ports.hpp)
  cli::PortRange range;
  const ParsedFile* file = nullptr;
  const Setting* setting = nullptr;  ///< nullptr: the server's documented default applies
  std::string what;                  ///< "rtc.port_range_start-port_range_end", ...
};

/// The range `file` sets (or its server's documented default when its server always uses one:
/// coturn, LiveKit, FreeSWITCH, Jitsi Videobridge); nullopt when the file leaves it to chance
/// (Kurento, Janus) or is broken.
[[nodiscard]] std::optional<ConfiguredRange> configured_udp_range(const ParsedFile& file,
                                                                  const ConfigFileKind& kind);

/// A warning for each pair of installations whose ranges overlap, on the file of the second.
[[nodiscard]] std::vector<ConfigFinding> check_range_overlaps(
    const std::vector<CheckedConfig>& files);

}  // namespace natdiag::profile::config
