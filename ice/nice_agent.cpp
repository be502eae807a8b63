#include "ice/nice_agent.hpp"

#include <nice/interfaces.h>
#include <nice/nice.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "ice/nice_convert.hpp"

namespace natdiag::ice {
namespace {

/// `value` within the range the agent's unsigned property `name` accepts: out of range, GLib
/// would warn on stderr and keep the old value.
guint within_range(NiceAgent* agent, const char* name, guint value) {
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(agent), name);
  if (spec == nullptr || !G_IS_PARAM_SPEC_UINT(spec)) return value;
  const auto* range = G_PARAM_SPEC_UINT(spec);
  return std::clamp(value, range->minimum, range->maximum);
}

guint max_of(NiceAgent* agent, const char* name) {
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(agent), name);
  return spec != nullptr && G_IS_PARAM_SPEC_UINT(spec) ? G_PARAM_SPEC_UINT(spec)->maximum : 7;
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

Duration libnice_give_up(Duration initial_rto, unsigned transmissions) noexcept {
  // stun_timer_refresh(): after request k of N the wait doubles, except before the last wait,
  // which is half the one before.
  Duration delay = initial_rto;
  Duration total = delay;
  for (unsigned sent = 1; sent < transmissions; ++sent) {
    delay = sent == transmissions - 1 ? delay / 2 : delay * 2;
    total += delay;
  }
  return total;
}

unsigned libnice_transmissions_for(Duration timeout, unsigned max) noexcept {
  unsigned best = 1;
  for (unsigned n = 2; n <= max; ++n) {
    if (libnice_give_up(kStunInitialTimeout, n) + kGiveUpSlack > timeout) break;
    best = n;
  }
  return best;
}

bool libnice_discovers_in_rfc3489() noexcept { return !NICE_CHECK_VERSION(0, 1, 23); }

Duration min_gather_timeout() noexcept {
  return libnice_give_up(kStunInitialTimeout, 1) + kGiveUpSlack;
}

guint to_ms(Duration d) noexcept {
  return static_cast<guint>(std::max<std::int64_t>(1, d.count() / 1000));
}

glib::AgentPtr make_agent(GMainContext* context, const AgentSettings& settings, guint& stream_id) {
  glib::AgentPtr owner(
      nice_agent_new_full(context, NICE_COMPATIBILITY_RFC5245, NICE_AGENT_OPTION_NONE));
  if (!owner) throw std::runtime_error("libnice could not create an ICE agent");
  NiceAgent* agent = owner.get();
  const guint transmissions = within_range(
      agent, "stun-max-retransmissions",
      libnice_transmissions_for(settings.timeout, max_of(agent, "stun-max-retransmissions")));
  // No UPnP: a diagnostic must not ask the LAN's router to open ports.
  g_object_set(agent, "upnp", FALSE, "ice-udp", static_cast<gboolean>(settings.ice_udp), "ice-tcp",
               static_cast<gboolean>(settings.ice_tcp), "force-relay",
               static_cast<gboolean>(settings.relay_only), "controlling-mode",
               static_cast<gboolean>(settings.controlling), "stun-initial-timeout",
               within_range(agent, "stun-initial-timeout", to_ms(kStunInitialTimeout)),
               "stun-max-retransmissions", transmissions, "stun-reliable-timeout",
               within_range(agent, "stun-reliable-timeout", to_ms(settings.timeout)), nullptr);
  if (settings.stun != nullptr) {
    // libnice wants an IP literal here: names were resolved by natdiag, with a deadline.
    const std::string ip = settings.stun->address.ip_string();
    g_object_set(agent, "stun-server", ip.c_str(), "stun-server-port",
                 static_cast<guint>(settings.stun->address.port), nullptr);
  }
  if (settings.local_addresses != nullptr && !settings.local_addresses->empty()) {
    for (const auto& a : *settings.local_addresses) {
      NiceAddress address = to_nice_address(a);
      if (!nice_agent_add_local_address(agent, &address)) {
        throw std::runtime_error("libnice refused the local address " + a.ip_string());
      }
    }
  } else if (settings.families != AddressFamilies::kAny) {
    restrict_family(agent, settings.families);
  }
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
