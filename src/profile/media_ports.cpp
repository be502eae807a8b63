#include "src/profile/media_ports.hpp"

#include <algorithm>

namespace natdiag::cli {
namespace {

// Defaults from each project's documentation: LiveKit's config sample (rtc.port_range_start/
// end, tcp_port 7881), the BigBlueButton firewall guide (UDP 16384-32768), FreeSWITCH's
// switch.conf.xml (rtp-start-port 16384, rtp-end-port 32768) and SIP profiles 5060/5080, Jitsi
// Videobridge's single UDP port 10000, the rtp_port_range of janus.jcfg's sample, coturn's
// min-port/max-port defaults.
const std::vector<MediaServerPorts>& table() {
  static const std::vector<MediaServerPorts> kTable = {
      {"bigbluebutton", "BigBlueButton", {80, 443}, {}, {16384, 32768},
       "FreeSWITCH and bbb-webrtc-sfu", "bigbluebutton"},
      {"freeswitch", "FreeSWITCH", {5060, 5080}, {5060, 5080}, {16384, 32768},
       "rtp-start-port/rtp-end-port in autoload_configs/switch.conf.xml", "bigbluebutton"},
      {"livekit", "LiveKit", {80, 443, 7881}, {}, {50000, 60000},
       "rtc.port_range_start/port_range_end in livekit.yaml", "livekit"},
      {"plugnmeet", "plugNmeet (LiveKit)", {80, 443, 7881}, {}, {50000, 60000},
       "rtc.port_range_start/port_range_end in plugNmeet's livekit.yaml", "livekit"},
      {"jitsi", "Jitsi Videobridge", {443}, {}, {10000, 10000},
       "the videobridge's UDP port", "jitsi"},
      {"janus", "Janus", {443}, {}, {20000, 40000}, "rtp_port_range in janus.jcfg", "janus"},
      {"coturn", "coturn", {3478, 5349}, {3478, 5349}, {49152, 65535},
       "min-port/max-port in turnserver.conf", "coturn"},
  };
  return kTable;
}

bool free_of(const PortRange& r, const std::vector<PortRange>& taken) {
  return std::none_of(taken.begin(), taken.end(), [&](const PortRange& t) { return t.overlaps(r); });
}

/// Free blocks of kLowestMediaPort-65535 between the taken ranges.
std::vector<PortRange> gaps(std::vector<PortRange> taken) {
  std::sort(taken.begin(), taken.end(), [](const PortRange& a, const PortRange& b) { return a.first < b.first; });
  std::vector<PortRange> out;
  std::uint32_t next = kLowestMediaPort;
  for (const auto& t : taken) {
    if (t.first > next) out.push_back({static_cast<std::uint16_t>(next), static_cast<std::uint16_t>(t.first - 1)});
    next = std::max<std::uint32_t>(next, t.last + 1U);
  }
  if (next <= 65535) out.push_back({static_cast<std::uint16_t>(next), 65535});
  return out;
}

/// The default's size as near the default as the gaps allow; else the largest gap.
PortRange relocate(const PortRange& wanted, const std::vector<PortRange>& taken) {
  const auto free = gaps(taken);
  std::optional<PortRange> best;
  std::uint32_t best_distance = 0;
  for (const auto& g : free) {
    if (g.size() < wanted.size()) continue;
    // Slide the default into the gap: its nearest position there.
    const std::uint32_t first = std::clamp<std::uint32_t>(wanted.first, g.first, g.last + 1U - wanted.size());
    const PortRange r{static_cast<std::uint16_t>(first), static_cast<std::uint16_t>(first + wanted.size() - 1)};
    const std::uint32_t distance = first > wanted.first ? first - wanted.first : wanted.first - first;
    if (!best || distance < best_distance) {
      best = r;
      best_distance = distance;
    }
  }
  if (best) return *best;
  PortRange largest{};
  for (const auto& g : free) {
    if (g.size() > largest.size() || largest.first == 0) largest = g;
  }
  return largest;
}

}  // namespace

std::string PortRange::text(char separator) const {
  return first == last ? std::to_string(first) : std::to_string(first) + separator + std::to_string(last);
}

std::span<const MediaServerPorts> media_server_ports() { return table(); }

const MediaServerPorts* find_media_server_ports(std::string_view name) {
  for (const auto& m : table()) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::vector<RangeChoice> plan_media_ranges(const std::vector<std::string>& targets) {
  struct Given {
    PortRange range;
    std::string_view installation;
    std::string_view display;
  };
  std::vector<Given> given;
  std::vector<RangeChoice> out;
  for (const auto& m : table()) {
    if (std::find(targets.begin(), targets.end(), m.name) == targets.end()) continue;
    RangeChoice choice{m.name, m.media, false, {}, {}, m.media};
    // One installation shares its range (BigBlueButton's FreeSWITCH, plugNmeet's LiveKit).
    const auto same = std::find_if(given.begin(), given.end(), [&](const Given& g) { return g.installation == m.installation; });
    if (same != given.end()) {
      choice.range = same->range;
      out.push_back(choice);
      continue;
    }
    std::vector<PortRange> taken;
    for (const auto& g : given) taken.push_back(g.range);
    if (!free_of(m.media, taken)) {
      const auto clash = std::find_if(given.begin(), given.end(), [&](const Given& g) { return g.range.overlaps(m.media); });
      choice.moved = true;
      choice.clashes_with = clash->display;
      choice.clash_range = clash->range;
      choice.range = relocate(m.media, taken);
    }
    given.push_back({choice.range, m.installation, m.display});
    out.push_back(choice);
  }
  return out;
}

std::optional<PortRange> range_of(const std::vector<RangeChoice>& plan, std::string_view name) {
  for (const auto& c : plan) {
    if (c.name == name) return c.range;
  }
  return std::nullopt;
}

std::string what_breaks(std::string_view server, bool udp) {
  if (server == "bigbluebutton")
    return udp ? "users get WebRTC error 1007 (ICE failed)" : "users cannot load the client or join";
  if (server == "livekit" || server == "plugnmeet") {
    return udp ? "clients fall back to TCP 7881 or TURN" : "clients cannot connect, or lose the ICE/TCP fallback";
  }
  if (server == "jitsi") return udp ? "media fails for clients without a TURN fallback" : "clients cannot join";
  if (server == "coturn") return "relays through this TURN server fail";
  return udp ? "media cannot reach this host directly; peers need TURN" : "clients cannot connect";
}

}  // namespace natdiag::cli
