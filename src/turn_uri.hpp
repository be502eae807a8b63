// TURN server URIs as RFC 7065 writes them: "turn:host[:port][?transport=udp|tcp]" and
// "turns:host[:port][?transport=tcp]" (TLS), IPv6 literals in brackets.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "stun/client/binding.hpp"

namespace natdiag::cli {

inline constexpr std::uint16_t kTurnPort = 3478;   ///< RFC 7065 §3: default for turn:
inline constexpr std::uint16_t kTurnsPort = 5349;  ///< RFC 7065 §3: default for turns:

/// One parsed TURN URI.
struct TurnUri {
  std::string host;
  std::uint16_t port = kTurnPort;
  client::Transport transport = client::Transport::kUdp;  ///< kTls for turns:
};

/// Parses a turn:/turns: URI. Throws UsageError naming `what` and the bad value: another
/// scheme, an unknown transport, turns: over UDP (DTLS, which libnice does not do), a bad
/// host or port.
[[nodiscard]] TurnUri parse_turn_uri(std::string_view text, std::string_view what);

/// Throws UsageError naming --user when `username` (as sent: "expiry:user" for TURN REST) is
/// not fewer than 509 bytes (RFC 8489 §14.3).
void check_turn_username(std::string_view username, std::string_view user_given);

}  // namespace natdiag::cli
