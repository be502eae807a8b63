// BigBlueButton's bbb-webrtc-sfu YAML (production.yml overrides default.yml) against the measured
// network: the addresses mediasoup announces, the Kurento and FreeSWITCH addresses, port ranges.
#include "src/profile/config/check_support.hpp"
#include "src/profile/servers/config_checkers.hpp"

namespace natdiag::profile::config {
namespace {

// "mediasoup.webrtc.listenIps.0.ip" -> "mediasoup.webrtc.listenIps.0."
bool ends_with(const std::string& key, std::string_view suffix) {
  return key.size() >= suffix.size() && key.ends_with(suffix);
}

}  // namespace

void check_bbb_sfu(const ParsedFile& file, const ConfigFacts& facts, const ConfigFileKind& kind,
                   std::vector<ConfigFinding>& out) {
  FindingSink sink(file, kind.server, out);
  const auto& p = facts.profile;
  for (const auto& s : file.settings) {
    const bool webrtc = s.key.starts_with("mediasoup.webrtc.listenIps.") && ends_with(s.key, ".ip");
    const bool plain = s.key == "mediasoup.plainRtp.listenIp.ip";
    if (!webrtc && !plain) continue;
    const std::string base = s.key.substr(0, s.key.size() - 2);
    const std::string announced_key = base + "announcedIp";
    const auto* announced = file.find(announced_key);
    if (announced && !announced->value.empty()) {
      check_public_ipv4(sink, *announced, facts,
                        webrtc ? "bbb-sfu-announced-ip" : "bbb-sfu-plainrtp-announced-ip",
                        announced_key);
    } else if (p.behind_nat == true) {
      const std::string why =
          "This host is behind NAT and mediasoup listens on " + s.value +
          " without an announcedIp: "
          "bbb-webrtc-sfu announces " +
          (s.value == "0.0.0.0" ? "this host's private address" : s.value) +
          ", which peers on the Internet cannot reach (the BigBlueButton NAT guide sets it)." +
          (p.public_ipv4 ? std::string() : " natdiag has not measured the public address.");
      if (announced) {
        auto& f = sink.add(
            webrtc ? "bbb-sfu-announced-ip-missing" : "bbb-sfu-plainrtp-announced-ip-missing",
            webrtc ? "critical" : "warning", *announced, p.public_ipv4, why);
        if (p.public_ipv4) f.edits.push_back(replace_value(file, *announced, *p.public_ipv4));
      } else {
        sink.missing(
            webrtc ? "bbb-sfu-announced-ip-missing" : "bbb-sfu-plainrtp-announced-ip-missing",
            webrtc ? "critical" : "warning", announced_key, p.public_ipv4, p.public_ipv4, why);
      }
    }
  }
  // Kurento's and FreeSWITCH's addresses: loopback and private ones are this host's own
  // connections; a public one must be the measured public address.
  for (const auto& s : file.settings) {
    const bool kurento_ip = s.key.starts_with("kurento.") && ends_with(s.key, ".ip");
    const bool fs_ip = s.key == "freeswitch.ip" || s.key == "freeswitch.sip_ip";
    if (!(kurento_ip || fs_ip) || s.value.empty()) continue;
    const auto ip = plain_ip(s.value);
    if (ip && ip->family == stun::Family::kIPv4 && !is_private(*ip) && p.public_ipv4 &&
        ip->ip_string() != *p.public_ipv4) {
      auto& f = sink.add(kurento_ip ? "bbb-sfu-kurento-ip-stale" : "bbb-sfu-freeswitch-ip-stale",
                         "warning", s, p.public_ipv4,
                         s.key + " " + s.value +
                             " is a public address but not this host's: natdiag measured " +
                             *p.public_ipv4 + " (an old address left from before?).");
      f.edits.push_back(replace_value(file, s, *p.public_ipv4));
    }
  }
  check_port_range(sink, file.find("mediasoup.worker.rtcMinPort"),
                   file.find("mediasoup.worker.rtcMaxPort"), facts, "bbb-sfu-port-range",
                   "mediasoup.worker.rtcMinPort-rtcMaxPort");
}

}  // namespace natdiag::profile::config
