// LiveKit (and plugNmeet, which runs it with its own copy of livekit.yaml): its advice. Its
// configuration checker is in livekit_config.cpp.
#include "src/profile/servers/server_advice.hpp"

namespace natdiag::cli {

Advice livekit_advice(std::string_view name, const AdviceContext& c) {
  const auto r = c.range(name);
  return {name == "plugnmeet" ? "/opt/plugNmeet/etc/livekit.yaml" : "/etc/livekit.yaml",
          {"rtc:", "  port_range_start: " + std::to_string(r.first),
           "  port_range_end: " + std::to_string(r.last), "  tcp_port: 7881",
           "  use_external_ip: false", "  node_ip: " + c.pub},
          "node_ip pins the public address natdiag measured; use_external_ip: true would make "
          "LiveKit ask "
          "a public STUN server itself at start-up." +
              c.why_moved(name)};
}

}  // namespace natdiag::cli
