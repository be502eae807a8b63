// One advice function per media server, each in the file of its server (kurento.cpp, ...):
// the lines `natdiag profile` and `advise` print for it. Pure: facts in, lines out.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "src/profile/advice.hpp"
#include "src/profile/media_ports.hpp"

namespace natdiag::cli {

/// What every server's advice is made from besides the facts: the measured public IPv4, the
/// warning for libnice-based servers when the STUN server refuses classic STUN ("" when it does
/// not), and the UDP ranges planned for the servers on this host.
struct AdviceContext {
  std::string pub;
  std::string no_classic;
  const std::vector<RangeChoice>& plan;

  /// The range planned for `name` (it is in the plan).
  [[nodiscard]] PortRange range(std::string_view name) const { return *range_of(plan, name); }
  /// " <why the range moved>" or "".
  [[nodiscard]] std::string why_moved(std::string_view name) const;
};

/// Kurento's WebRtcEndpoint.conf.ini lines.
[[nodiscard]] Advice kurento_advice(const ProfileFacts& f, const AdviceContext& c);
/// LiveKit's livekit.yaml lines; `name` is "livekit" or "plugnmeet" (its copy of the file).
[[nodiscard]] Advice livekit_advice(std::string_view name, const AdviceContext& c);
/// Janus' janus.jcfg lines.
[[nodiscard]] Advice janus_advice(const ProfileFacts& f, const AdviceContext& c);
/// coturn's turnserver.conf lines.
[[nodiscard]] Advice coturn_advice(const ProfileFacts& f, const AdviceContext& c);

}  // namespace natdiag::cli
