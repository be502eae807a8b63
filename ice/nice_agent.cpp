#include "ice/nice_agent.hpp"

#include <nice/interfaces.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "ice/nice_convert.hpp"

namespace natdiag::ice {
namespace {

constexpr guint kStunInitialTimeoutMs = 200;  // libnice's default first RTO for discovery

/// libnice gives up on a silent STUN server after about (initial RTO / 2) * 2^retransmissions
/// (measured with libnice 0.1.21: 0.8 s for 3, 1.8 s for 4 at 200 ms): as many as fit in the
/// timeout, so an agent whose server never answers says it is done within it.
guint retransmissions_for(Duration timeout) {
  const double budget = static_cast<double>(to_ms(timeout)) / (kStunInitialTimeoutMs / 2.0);
  return static_cast<guint>(std::clamp(std::floor(std::log2(budget)), 2.0, 7.0));
}

NiceRelayType relay_type(client::Transport t) noexcept {
  switch (t) {
    case client::Transport::kUdp: return NICE_RELAY_TYPE_TURN_UDP;
    case client::Transport::kTcp: return NICE_RELAY_TYPE_TURN_TCP;
    case client::Transport::kTls: return NICE_RELAY_TYPE_TURN_TLS;
  }
  return NICE_RELAY_TYPE_TURN_UDP;
}

/// libnice's own interface list (which skips what libnice ignores anyway), narrowed to one
/// address family.
void restrict_family(NiceAgent* agent, AddressFamilies families) {
  const stun::Family wanted =
      families == AddressFamilies::kIPv4Only ? stun::Family::kIPv4 : stun::Family::kIPv6;
  glib::StringListPtr ips(nice_interfaces_get_local_ips(FALSE));
  int added = 0;
  for (GList* item = ips.get(); item != nullptr; item = item->next) {
    const auto parsed = TransportAddress::parse(static_cast<const char*>(item->data));
    if (!parsed || parsed->family != wanted) continue;
    NiceAddress address = to_nice_address(*parsed);
    if (nice_agent_add_local_address(agent, &address)) ++added;
  }
  if (added == 0) {
    throw std::runtime_error(std::string("no usable local ") +
                             (wanted == stun::Family::kIPv4 ? "IPv4" : "IPv6") + " address");
  }
}

}  // namespace

guint to_ms(Duration d) noexcept {
  return static_cast<guint>(std::max<std::int64_t>(1, d.count() / 1000));
}

glib::AgentPtr make_agent(GMainContext* context, const AgentSettings& settings, guint& stream_id) {
  glib::AgentPtr owner(
      nice_agent_new_full(context, NICE_COMPATIBILITY_RFC5245, NICE_AGENT_OPTION_NONE));
  if (!owner) throw std::runtime_error("libnice could not create an ICE agent");
  NiceAgent* agent = owner.get();
  // No UPnP: a diagnostic must not ask the LAN's router to open ports.
  g_object_set(agent, "upnp", FALSE, "ice-udp", static_cast<gboolean>(settings.ice_udp), "ice-tcp",
               static_cast<gboolean>(settings.ice_tcp), "force-relay",
               static_cast<gboolean>(settings.relay_only), "controlling-mode",
               static_cast<gboolean>(settings.controlling), "stun-initial-timeout",
               kStunInitialTimeoutMs, "stun-max-retransmissions",
               retransmissions_for(settings.timeout), "stun-reliable-timeout",
               to_ms(settings.timeout), nullptr);
  if (settings.stun != nullptr) {
    // libnice wants an IP literal here: names were resolved by natdiag, with a deadline.
    const std::string ip = settings.stun->address.ip_string();
    g_object_set(agent, "stun-server", ip.c_str(), "stun-server-port",
                 static_cast<guint>(settings.stun->address.port), nullptr);
  }
  if (settings.families != AddressFamilies::kAny) restrict_family(agent, settings.families);
  stream_id = nice_agent_add_stream(agent, 1);
  if (stream_id == 0) throw std::runtime_error("libnice could not add a stream");
  for (const TurnServerConfig* t : settings.turn) {
    const std::string ip = t->address.ip_string();
    if (!nice_agent_set_relay_info(agent, stream_id, kComponent, ip.c_str(), t->address.port,
                                   t->credentials.username.c_str(), t->credentials.password.c_str(),
                                   relay_type(t->transport))) {
      throw std::runtime_error("libnice refused the TURN server " + t->uri);
    }
  }
  return owner;
}

}  // namespace natdiag::ice
