// Kurento: its advice. Its configuration checker is in kurento_config.cpp.
#include "src/profile/servers/server_advice.hpp"

namespace natdiag::cli {

Advice kurento_advice(const ProfileFacts& f, const AdviceContext& c) {
  Advice a{
      "/etc/kurento/modules/kurento/WebRtcEndpoint.conf.ini", {}, "Restart kurento-media-server."};
  if (f.stun_server_ip && f.udp == true) {  // only a server that answered over UDP
    a.lines = {"stunServerAddress=" + *f.stun_server_ip,
               "stunServerPort=" + std::to_string(f.stun_server_port)};
    a.note = "stunServerAddress must be an IP address, not a name (the file says so). " + a.note;
  }
  a.lines.push_back("externalIPv4=" + c.pub);
  if (!c.no_classic.empty()) {
    a.note += c.no_classic +
              " Give Kurento a TURN server (turnURL) or a STUN server that answers RFC 3489.";
  }
  return a;
}

}  // namespace natdiag::cli
