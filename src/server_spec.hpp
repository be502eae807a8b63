// Where a STUN server is, as the user wrote it: "host", "host:port", "[v6]:port", a lone port,
// or an RFC 7064 URI ("stun:host[:port]", "stuns:host[:port]").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "stun/client/binding.hpp"

namespace natdiag::cli {

/// The public STUN server used when none is named (as in the BigBlueButton guide).
inline constexpr std::string_view kDefaultStunHost = "stun.l.google.com";
inline constexpr std::uint16_t kDefaultStunHostPort = 19302;
/// The public servers `nat` and `profile` use when none is named: plain STUN on two IPs, so
/// the multi-server method can tell the mapping (never the filtering).
inline constexpr const char* kDefaultPublicServers[] = {"stun.l.google.com:19302",
                                                        "stun1.l.google.com:19302"};
inline constexpr std::uint16_t kStunPort = 3478;   ///< RFC 8489 §18.6
inline constexpr std::uint16_t kStunsPort = 5349;  ///< RFC 8489 §18.6

/// A server as written on the command line.
struct ServerSpec {
  std::string host;
  std::optional<std::uint16_t> port;
  std::optional<client::Transport> transport;  ///< from the URI scheme
};

/// Whether `text` starts with `prefix`, ignoring ASCII case (URI schemes, RFC 3986 §3.1).
[[nodiscard]] bool starts_with_ci(std::string_view text, std::string_view prefix) noexcept;
/// Parses one server argument. Throws UsageError naming the bad value.
[[nodiscard]] ServerSpec parse_server(std::string_view text, std::string_view what);

}  // namespace natdiag::cli
