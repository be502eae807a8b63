// The configuration checkers, one per media server, each in its server's *_config.cpp.
#pragma once

#include "src/profile/config/config_check.hpp"

namespace natdiag::profile::config {

/// Kurento: WebRtcEndpoint.conf.ini (STUN, TURN, external IPs) and BaseRtpEndpoint.conf.ini
/// (minPort/maxPort).
void check_kurento(const ParsedFile& file, const ConfigFacts& facts, const ConfigFileKind& kind,
                   std::vector<ConfigFinding>& out);
/// LiveKit's livekit.yaml (and plugNmeet's copy): rtc.*, turn.*.
void check_livekit(const ParsedFile& file, const ConfigFacts& facts, const ConfigFileKind& kind,
                   std::vector<ConfigFinding>& out);
/// coturn's turnserver.conf: external-ip, listening-ip/relay-ip, min-port/max-port.
void check_coturn(const ParsedFile& file, const ConfigFacts& facts, const ConfigFileKind& kind,
                  std::vector<ConfigFinding>& out);
/// Janus' janus.jcfg: nat.*, media.rtp_port_range.
void check_janus(const ParsedFile& file, const ConfigFacts& facts, const ConfigFileKind& kind,
                 std::vector<ConfigFinding>& out);
/// BigBlueButton's bbb-webrtc-sfu production.yml / default.yml: announced IPs, port ranges.
void check_bbb_sfu(const ParsedFile& file, const ConfigFacts& facts, const ConfigFileKind& kind,
                   std::vector<ConfigFinding>& out);

}  // namespace natdiag::profile::config
