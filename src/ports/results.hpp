// What natdiag concluded per port, and the same collapsed into contiguous ranges. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/ports/port_set.hpp"

namespace natdiag::ports {

/// The state of one port as seen from outside.
enum class State : std::uint8_t {
  kOpen,             ///< natdiag's authenticated probe arrived at natdiag's listener here
  kClosed,           ///< TCP RST or ICMP port unreachable from the target itself
  kFiltered,         ///< silence, or an ICMP error from a firewall or router (evidence names it)
  kInUse,            ///< another program holds the port here; not tested (owner named)
  kAnsweredByOther,  ///< something answered that is not this host's listener or service
  kUntested,         ///< the probe never left the probing host (no route, its own firewall)
};

/// "open", "closed", "filtered", "in-use", "answered-by-other", "untested".
[[nodiscard]] std::string_view state_name(State state) noexcept;

/// One port's state, why natdiag believes it, and who holds the port here (if anyone).
struct PortOutcome {
  std::uint16_t port = 0;
  State state = State::kFiltered;
  std::string evidence;  ///< coarse enough to be shared by a range: "probe from 203.0.113.10"
  std::string owner;     ///< "nginx (pid 812)" or ""
};

/// Contiguous ports with the same state, evidence and owner.
struct StateRange {
  PortRange range;
  State state = State::kFiltered;
  std::string evidence;
  std::string owner;
};

/// Collapses outcomes (any order) into ranges: ports that follow each other numerically and
/// share state, evidence and owner become one range.
[[nodiscard]] std::vector<StateRange> collapse(std::vector<PortOutcome> outcomes);

/// The ports of `ranges` in `state`.
[[nodiscard]] PortSet ports_in_state(const std::vector<StateRange>& ranges, State state);

/// "50000-54999" or "443".
[[nodiscard]] std::string range_text(const PortRange& range);

}  // namespace natdiag::ports
