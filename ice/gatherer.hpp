// ICE candidate gathering (RFC 8445 §5.1) and an optional in-process connectivity check,
// through libnice. libnice takes one STUN server per agent, so every configured server gets
// its own agent; all agents run on one GMainContext on the calling thread, and gathering ends
// as soon as every agent has signalled candidate-gathering-done (the timeout only bounds it).
// This header shows natdiag types only: GLib and libnice stay in the .cpp files.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ice/candidate.hpp"
#include "stun/client/binding.hpp"
#include "stun/client/turn.hpp"

namespace natdiag::ice {

/// A STUN server for server-reflexive candidates (libnice: UDP only, an IP literal).
struct StunServerConfig {
  std::string uri;  ///< as the user wrote it; names the candidates it produces
  TransportAddress address;
};

/// A TURN server for relayed candidates (RFC 8656), reached over UDP, TCP or TLS.
struct TurnServerConfig {
  std::string uri;
  TransportAddress address;
  client::Transport transport = client::Transport::kUdp;
  client::TurnCredentials credentials;
};

/// Which local addresses the agents may use.
enum class AddressFamilies : std::uint8_t { kAny, kIPv4Only, kIPv6Only };

/// libnice's first STUN retransmission timeout for discovery, as natdiag sets it.
inline constexpr Duration kStunInitialTimeout = std::chrono::milliseconds(200);
/// What libnice adds to its STUN timer before an agent says it is done: its discovery tick
/// (20 ms) once per local address, and scheduling.
inline constexpr Duration kGiveUpSlack = std::chrono::milliseconds(150);

/// When libnice 0.1.21 gives up on a STUN (or TURN) server that never answers, counted from
/// its first request, after `transmissions` requests (libnice's stun-max-retransmissions)
/// starting at `initial_rto`: its timer (stun/usages/timer.c) doubles the wait after each
/// request but halves it before the last one, so 3..7 take 0.8, 1.8, 3.8, 7.8, 15.8 s at 200 ms.
[[nodiscard]] Duration libnice_give_up(Duration initial_rto, unsigned transmissions) noexcept;
/// The most transmissions (at least 1, at most `max`) whose give-up time plus kGiveUpSlack
/// fits into `timeout`, so an agent whose server never answers is done within it.
[[nodiscard]] unsigned libnice_transmissions_for(Duration timeout, unsigned max) noexcept;
/// The libnice natdiag runs on sends its srflx discovery Binding in RFC 3489 form, without the
/// magic cookie (before 0.1.23: "Do STUN discovery in RFC5389 mode when doing modern ICE").
[[nodiscard]] bool libnice_discovers_in_rfc3489() noexcept;
/// The shortest gathering timeout libnice can keep: one request and its wait, plus the slack.
[[nodiscard]] Duration min_gather_timeout() noexcept;

/// What to gather, and how long to wait.
struct GatherOptions {
  std::vector<StunServerConfig> stun;
  std::vector<TurnServerConfig> turn;
  bool ice_udp = true;
  bool ice_tcp = false;     ///< RFC 6544 TCP host candidates
  bool relay_only = false;  ///< libnice force-relay: only relayed candidates
  AddressFamilies families = AddressFamilies::kAny;
  /// Gather on these local addresses only (libnice's own interface list when empty).
  std::vector<TransportAddress> local_addresses;
  Duration timeout = std::chrono::seconds(5);  ///< bounds gathering
  bool check = false;  ///< also run a connectivity check against an in-process peer
  Duration check_timeout = std::chrono::seconds(5);  ///< bounds the check after gathering
};

/// How one agent (one server, or none) fared.
struct AgentOutcome {
  std::string server;               ///< the URI this agent used; empty for the host-only agent
  bool done = false;                ///< signalled candidate-gathering-done before the timeout
  std::optional<Duration> elapsed;  ///< when it was done
};

/// The pair a connectivity check selected (RFC 8445 §8.1.1).
struct SelectedPair {
  Candidate local;
  Candidate remote;
};

/// The in-process connectivity check: a controlling and a controlled agent with the same
/// servers exchange credentials and candidates and run real ICE checks (RFC 8445 §7).
struct CheckOutcome {
  bool success = false;
  std::optional<SelectedPair> pair;
  std::string state;  ///< the controlling agent's last component state ("ready", "failed", ...)
  std::string error;  ///< why it failed, for people
  std::optional<Duration> elapsed;  ///< from the start of the checks to READY
  bool relays_only = false;         ///< each agent was given only the other's relay candidates
};

/// Everything the agents gathered.
struct GatherReport {
  std::vector<Candidate> candidates;  ///< merged over all agents (merge_candidates)
  std::vector<AgentOutcome> agents;
  Duration elapsed{};  ///< until the last agent was done, or the timeout
  bool timed_out = false;
  std::optional<CheckOutcome> check;  ///< set when options.check
};

/// Gathers. Throws std::runtime_error when libnice cannot start here (no agent, no stream,
/// no usable local address): the caller reports "could not run".
[[nodiscard]] GatherReport gather_candidates(const GatherOptions& options);

}  // namespace natdiag::ice
