#include "src/profile/config/port_overlap.hpp"

#include "src/profile/config/check_support.hpp"

namespace natdiag::profile::config {
namespace {

std::optional<cli::PortRange> range_from(const Setting* first, const Setting* last) {
  if (first == nullptr || last == nullptr) return std::nullopt;
  const auto a = port_number(first->value);
  const auto b = port_number(last->value);
  if (!a || !b || *a > *b) return std::nullopt;
  return cli::PortRange{*a, *b};
}

}  // namespace

std::optional<ConfiguredRange> configured_udp_range(const ParsedFile& file,
                                                    const ConfigFileKind& kind) {
  if (file.error) return std::nullopt;
  const auto* ports = cli::find_media_server_ports(kind.server);
  ConfiguredRange out;
  out.server = std::string(kind.server);
  out.installation = ports ? std::string(ports->installation) : out.server;
  out.file = &file;
  const auto from_pair = [&](const char* first, const char* last, const char* what,
                             bool default_applies) -> std::optional<ConfiguredRange> {
    out.what = what;
    if (auto r = range_from(file.find(first), file.find(last))) {
      out.range = *r;
      out.setting = file.find(first);
      return out;
    }
    if (!default_applies || ports == nullptr || file.find(first) != nullptr ||
        file.find(last) != nullptr)
      return std::nullopt;
    out.range = ports->media;  // not set: the documented default is what the server uses
    return out;
  };
  if (kind.role == "switch.conf.xml") {
    // FreeSWITCH is a program of its own, beside BigBlueButton's mediasoup (bbb-install gives
    // them 16384-24576 and 24577-32768); without the params it uses 16384-32768.
    out.installation = std::string(kind.server) + "/freeswitch";
    return from_pair("settings.param.rtp-start-port", "settings.param.rtp-end-port",
                     "rtp-start-port-rtp-end-port", true);
  }
  if (kind.server == "coturn") return from_pair("min-port", "max-port", "min-port-max-port", true);
  if (kind.server == "livekit" || kind.server == "plugnmeet") {
    // LiveKit muxes everything on rtc.udp_port when it is set without a range.
    if (file.find("rtc.udp_port") && !file.find("rtc.port_range_start")) return std::nullopt;
    return from_pair("rtc.port_range_start", "rtc.port_range_end",
                     "rtc.port_range_start-port_range_end", true);
  }
  if (kind.server == "kurento") return from_pair("minPort", "maxPort", "minPort-maxPort", false);
  if (kind.server == "bigbluebutton") {
    return from_pair("mediasoup.worker.rtcMinPort", "mediasoup.worker.rtcMaxPort",
                     "mediasoup.worker.rtcMinPort-rtcMaxPort", false);
  }
  if (kind.server == "jitsi" && kind.role == "jvb.conf") {
    // The videobridge muxes all media on one UDP port, 10000 unless jvb.conf says otherwise.
    out.what = "videobridge.ice.udp.port";
    const auto* s = file.find("videobridge.ice.udp.port");
    if (s == nullptr) {
      if (ports == nullptr) return std::nullopt;
      out.range = ports->media;
      return out;
    }
    const auto port = port_number(s->value);
    if (!port) return std::nullopt;
    out.range = {*port, *port};
    out.setting = s;
    return out;
  }
  if (kind.server == "janus") {
    const auto* s = file.find("media.rtp_port_range");
    const auto dash = s ? s->value.find('-') : std::string::npos;
    if (dash == std::string::npos) return std::nullopt;
    const auto a = port_number(s->value.substr(0, dash));
    const auto b = port_number(s->value.substr(dash + 1));
    if (!a || !b || *a > *b) return std::nullopt;
    out.range = {*a, *b};
    out.setting = s;
    out.what = "media.rtp_port_range";
    return out;
  }
  return std::nullopt;
}

std::vector<ConfigFinding> check_range_overlaps(const std::vector<CheckedConfig>& files) {
  std::vector<ConfiguredRange> ranges;
  for (const auto& f : files) {
    auto r = configured_udp_range(*f.file, *f.kind);
    if (!r) continue;
    // One range per installation: the first file of it that sets one (production.yml before
    // default.yml is the caller's order).
    bool seen = false;
    for (const auto& other : ranges) seen = seen || other.installation == r->installation;
    if (!seen) ranges.push_back(*r);
  }
  std::vector<ConfigFinding> out;
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      const auto& a = ranges[j];
      const auto& b = ranges[i];
      if (!a.range.overlaps(b.range)) continue;
      const auto said = [](const ConfiguredRange& r) {
        return r.server + (r.range.first == r.range.last ? "'s UDP port " : "'s UDP range ") +
               r.range.text() + " (" +
               (r.setting ? r.what + " in " + r.file->path
                          : "its default: " + r.what + " is not set in " + r.file->path) +
               ")";
      };
      FindingSink sink(*b.file, b.server, out);
      sink.add("port-ranges-overlap", "warning", b.setting ? b.setting->line : 0,
               b.setting ? b.setting->key : b.what, b.range.text(), std::nullopt,
               said(b) + " overlaps " + said(a) +
                   " on this host: two programs cannot share a port range (whichever "
                   "binds a port first gets it, the other's calls or relays fail at random) and a "
                   "router forwards each port "
                   "to one place only. Give one of them a range of its own.");
    }
  }
  return out;
}

}  // namespace natdiag::profile::config
