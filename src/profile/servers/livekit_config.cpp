// LiveKit's livekit.yaml (and plugNmeet's copy of it) against the measured network.
#include "src/profile/config/check_support.hpp"
#include "src/profile/servers/config_checkers.hpp"

namespace natdiag::profile::config {

void check_livekit(const ParsedFile& file, const ConfigFacts& facts, const ConfigFileKind& kind,
                   std::vector<ConfigFinding>& out) {
  FindingSink sink(file, kind.server, out);
  const auto& p = facts.profile;
  const auto* node_ip = file.find("rtc.node_ip");
  const auto* use_external = file.find("rtc.use_external_ip");
  if (node_ip && !node_ip->value.empty()) {
    check_public_ipv4(sink, *node_ip, facts, "livekit-node-ip", "rtc.node_ip");
  } else if (p.behind_nat == true && !(use_external && use_external->value == "true")) {
    sink.missing(
        "livekit-private-only", "critical", "rtc.node_ip", p.public_ipv4, p.public_ipv4,
        "This host is behind NAT and LiveKit has neither rtc.node_ip nor rtc.use_external_ip: "
        "true: it will "
        "announce only its private address" +
            (p.local_ipv4 ? " " + *p.local_ipv4 : std::string()) +
            ", which peers on the Internet cannot reach." +
            (p.public_ipv4 ? " rtc.node_ip pins the measured public address " + *p.public_ipv4 + "."
                           : " natdiag has not measured the public address, so it cannot say what "
                             "to write."));
  }
  check_port_range(sink, file.find("rtc.port_range_start"), file.find("rtc.port_range_end"), facts,
                   "livekit-port-range", "rtc.port_range_start-port_range_end");
  if (const auto* s = file.find("rtc.tcp_port"))
    check_port(sink, *s, facts, false, "livekit-tcp-port", "rtc.tcp_port");
  if (const auto* s = file.find("rtc.udp_port"))
    check_port(sink, *s, facts, true, "livekit-udp-port", "rtc.udp_port");
  if (const auto* enabled = file.find("turn.enabled"); enabled && enabled->value == "true") {
    if (const auto* s = file.find("turn.udp_port"))
      check_port(sink, *s, facts, true, "livekit-turn-udp-port", "turn.udp_port");
    if (const auto* s = file.find("turn.tls_port"))
      check_port(sink, *s, facts, false, "livekit-turn-tls-port", "turn.tls_port");
    check_port_range(sink, file.find("turn.relay_range_start"), file.find("turn.relay_range_end"),
                     facts, "livekit-turn-relay-range", "turn.relay_range_start-relay_range_end");
  }
  for (const auto& [host, port] : stun_servers_named(file, kind)) {
    if (stun_answered(facts, host, port) != false) continue;
    for (const auto& s : file.settings) {
      if (!s.key.starts_with("rtc.stun_servers.") || s.value.find(host) == std::string::npos)
        continue;
      sink.add("livekit-stun-unanswered", "warning", s, std::nullopt,
               "The STUN server " + s.value +
                   " did not answer natdiag: LiveKit gives it to its clients (and asks it "
                   "itself with use_external_ip), and it gives them nothing.");
      break;
    }
  }
}

}  // namespace natdiag::profile::config
