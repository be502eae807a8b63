// The rules the FreeSWITCH, BigBlueButton and Jitsi checkers share: is an address a media
// server announces the one natdiag measured, does a STUN server named in a file answer, is a
// media port range the one the firewall advice opens. Pure: facts in, verdicts out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/advice.hpp"
#include "src/media_ports.hpp"
#include "src/profile/config/config_model.hpp"

namespace natdiag::profile::config {

/// The file's text split on '\n' (a final '\n' ends the last line, it starts no new one);
/// a '\r' before the '\n' stays in the line, so a diff keeps the file's line endings.
[[nodiscard]] std::vector<std::string> split_lines(std::string_view text);

/// What is wrong with an address a server announces to its peers.
struct AddressProblem {
  std::string kind;      ///< "private" (behind NAT), "not-public" (another address)
  std::string severity;  ///< "critical" or "warning"
  std::string why;       ///< one sentence, naming only the file's value and measured facts
};
/// Compares `value` (an IPv4 literal; other values give nullopt) with the measured public
/// IPv4. nullopt: right, or nothing measured to compare with.
[[nodiscard]] std::optional<AddressProblem> check_announced_ipv4(std::string_view value,
                                                                 const cli::ProfileFacts& facts);

/// What natdiag knows of a STUN server a file names.
struct StunProblem {
  std::string kind;      ///< "none-answered", "not-asked"
  std::string severity;  ///< "warning" or "info"
  std::string why;
};
/// `host` (a name or an IP literal) and `port` (nullopt: the server's default) compared with
/// the STUN server that answered the profile. nullopt: it is that server, or nothing measured.
[[nodiscard]] std::optional<StunProblem> check_stun_server(std::string_view host,
                                                           std::optional<std::uint16_t> port,
                                                           const cli::ProfileFacts& facts);
/// "IP:port" of the STUN server that answered, when measured.
[[nodiscard]] std::optional<std::string> answered_stun_server(const cli::ProfileFacts& facts);

/// Splits "host", "host:port", "[v6]:port", "v6" into host and port; nullopt port when absent
/// or not a number 1-65535.
struct HostPort {
  std::string host;
  std::optional<std::uint16_t> port;
  bool bad_port = false;  ///< a port was written but is not 1-65535
};
[[nodiscard]] HostPort split_host_port(std::string_view text);

/// The value is an IP literal (v4 or v6, no port).
[[nodiscard]] bool is_ip_literal(std::string_view text);

/// A decimal port 1-65535.
[[nodiscard]] std::optional<std::uint16_t> parse_port(std::string_view text);

/// The documented UDP media range of `server` (the firewall table: media_ports.cpp).
[[nodiscard]] std::optional<cli::PortRange> firewall_media_range(std::string_view server);

}  // namespace natdiag::profile::config
