// Janus: its advice. Its configuration checker is in janus_config.cpp.
#include "src/profile/servers/server_advice.hpp"

namespace natdiag::cli {

Advice janus_advice(const ProfileFacts& f, const AdviceContext& c) {
  const auto r = c.range("janus");
  Advice a{"/etc/janus/janus.jcfg",
           {"media: {", "  rtp_port_range = \"" + r.text() + "\"", "}", "nat: {"},
           "Then restart janus." + c.why_moved("janus")};
  if (!c.no_classic.empty()) {
    a.note += c.no_classic +
              " Give Janus a TURN server (turn_server in nat: {}) or a STUN server that answers "
              "RFC 3489.";
  }
  if (f.stun_server_ip && f.udp == true) {  // only a server that answered over UDP
    a.lines.push_back("  stun_server = \"" + *f.stun_server_ip + "\"");
    a.lines.push_back("  stun_port = " + std::to_string(f.stun_server_port));
  }
  a.lines.push_back("  nat_1_1_mapping = \"" + c.pub + "\"");
  a.lines.push_back("}");
  return a;
}

}  // namespace natdiag::cli
