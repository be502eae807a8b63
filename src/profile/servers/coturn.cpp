// coturn: its advice. Its configuration checker is in coturn_config.cpp.
#include "src/profile/servers/server_advice.hpp"

namespace natdiag::cli {

Advice coturn_advice(const ProfileFacts& f, const AdviceContext& c) {
  const auto r = c.range("coturn");
  return {
      "/etc/turnserver.conf",
      {"external-ip=" + c.pub +
           (f.local_ipv4 && *f.local_ipv4 != c.pub ? "/" + *f.local_ipv4 : std::string()),
       "min-port=" + std::to_string(r.first), "max-port=" + std::to_string(r.last)},
      "Then: systemctl restart coturn." + c.why_moved("coturn") +
          (c.no_classic.empty()
               ? std::string()
               : " If the STUN server " + *f.stun_server_ip +
                     " is this coturn: delete the line "
                     "no-stun-backward-compatibility (Debian's stock file has it), or Kurento and "
                     "Janus (libnice before 0.1.23) get no srflx candidate from it.")};
}

}  // namespace natdiag::cli
