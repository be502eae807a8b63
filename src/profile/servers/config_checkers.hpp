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
/// FreeSWITCH's vars.xml, sip_profiles/external.xml and switch.conf.xml (also BigBlueButton's):
/// a SIP profile's $${NAME} values are looked up in the vars.xml read with it (facts.files).
void check_freeswitch_file(const ParsedFile& file, const ConfigFacts& facts,
                           const ConfigFileKind& kind, std::vector<ConfigFinding>& out);
/// BigBlueButton's bbb-web.properties (or the defaults it overrides): serverURL and other URLs.
void check_bbb_web_file(const ParsedFile& file, const ConfigFacts& facts,
                        const ConfigFileKind& kind, std::vector<ConfigFinding>& out);
/// BigBlueButton's sip.nginx: the proxy_pass to FreeSWITCH's WebSocket.
void check_bbb_sip_nginx_file(const ParsedFile& file, const ConfigFacts& facts,
                              const ConfigFileKind& kind, std::vector<ConfigFinding>& out);
/// Jitsi Videobridge's jvb.conf and sip-communicator.properties: ice4j's NAT mapping, STUN
/// mapping servers, the UDP port.
void check_jitsi_file(const ParsedFile& file, const ConfigFacts& facts,
                      const ConfigFileKind& kind, std::vector<ConfigFinding>& out);

}  // namespace natdiag::profile::config
