// Private to ice/: one libnice agent, configured the way natdiag needs it.
#pragma once

#include <nice/agent.h>

#include <vector>

#include "ice/gatherer.hpp"
#include "ice/glib_ptr.hpp"

namespace natdiag::ice {

/// The one component of the one stream (RTP with rtcp-mux, as WebRTC uses).
inline constexpr guint kComponent = 1;

/// How to set up one agent.
struct AgentSettings {
  bool ice_udp = true;
  bool ice_tcp = false;
  bool relay_only = false;
  bool controlling = true;
  AddressFamilies families = AddressFamilies::kAny;
  const std::vector<TransportAddress>* local_addresses = nullptr;  ///< only these, if set
  Duration timeout{};                      ///< fits libnice's STUN retransmissions into it
  const StunServerConfig* stun = nullptr;  ///< libnice takes at most one
  std::vector<const TurnServerConfig*> turn;
};

/// An RFC 5245 agent on `context` with one stream of one component (its id in `stream_id`),
/// no UPnP, and the servers of `settings`. Throws std::runtime_error when libnice refuses.
[[nodiscard]] glib::AgentPtr make_agent(GMainContext* context, const AgentSettings& settings,
                                        guint& stream_id);
/// Milliseconds for GLib timers and libnice properties (at least 1).
[[nodiscard]] guint to_ms(Duration d) noexcept;

}  // namespace natdiag::ice
