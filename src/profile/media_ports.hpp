// The ports each media server uses, from its own documentation, and how to give several
// servers on one host UDP media ranges that do not overlap. One table for `profile`, `advise`
// and `ports --for`. Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace natdiag::cli {

/// An inclusive port range; first == last for one port.
struct PortRange {
  std::uint16_t first = 0;
  std::uint16_t last = 0;
  [[nodiscard]] std::uint32_t size() const noexcept { return last - first + 1U; }
  [[nodiscard]] bool overlaps(const PortRange& other) const noexcept {
    return first <= other.last && other.first <= last;
  }
  /// "50000-60000", or "10000" for one port.
  [[nodiscard]] std::string text(char separator = '-') const;
  friend bool operator==(const PortRange&, const PortRange&) = default;
};

/// One media server's documented defaults.
struct MediaServerPorts {
  std::string_view name;            ///< a kMediaServers name: "livekit", "coturn", ...
  std::string_view display;         ///< "LiveKit", "coturn"
  std::vector<std::uint16_t> tcp;   ///< TCP ports to open (signalling, ICE-TCP, TURN)
  std::vector<std::uint16_t> udp;   ///< single UDP ports (SIP, STUN/TURN)
  PortRange media;                  ///< the UDP media (or relay) range
  std::string_view media_setting;   ///< where the range is set, for people
  /// Servers that are one installation with this one share its range (BigBlueButton ships
  /// FreeSWITCH; plugNmeet runs LiveKit): the same name here.
  std::string_view installation;
};

/// Every media server natdiag knows, in the order their ranges are kept when they clash:
/// the ranges that guides and port forwards are built around first, TURN relays last.
[[nodiscard]] std::span<const MediaServerPorts> media_server_ports();
/// What breaks for `server` (a kMediaServers name) when some of its UDP (or TCP) ports do
/// not get through from outside.
[[nodiscard]] std::string what_breaks(std::string_view server, bool udp);
/// The entry for `name`, or nullptr (e.g. kurento: it takes any port unless told).
[[nodiscard]] const MediaServerPorts* find_media_server_ports(std::string_view name);

/// The UDP media range one server gets on this host.
struct RangeChoice {
  std::string_view name;
  PortRange range;
  bool moved = false;      ///< not its default: the default overlapped `clashes_with`
  std::string_view clashes_with;  ///< the display name of the server that keeps the default
  PortRange clash_range;          ///< that server's range
  PortRange default_range;
};

/// Lowest port natdiag hands out when it moves a range (below are well-known services).
inline constexpr std::uint16_t kLowestMediaPort = 10000;

/// Ranges for the servers in `targets` that do not overlap on one host: in table order each
/// keeps its default unless that overlaps a range already given (other than its own
/// installation's); then it gets its default size placed as near its default as the free
/// ports allow, or else the largest free block in kLowestMediaPort-65535.
[[nodiscard]] std::vector<RangeChoice> plan_media_ranges(const std::vector<std::string>& targets);

/// The range `name` got in `plan`, if it is there.
[[nodiscard]] std::optional<PortRange> range_of(const std::vector<RangeChoice>& plan,
                                                std::string_view name);

}  // namespace natdiag::cli
