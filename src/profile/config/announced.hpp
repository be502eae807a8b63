// The rules the FreeSWITCH, BigBlueButton and Jitsi checkers share: is an address a media
// server announces the one natdiag measured, does a STUN server named in a file answer, is a
// media port range open. Pure: facts in, verdicts out.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/profile/advice.hpp"
#include "src/profile/config/check_support.hpp"
#include "src/profile/config/config_model.hpp"
#include "src/profile/media_ports.hpp"

namespace natdiag::profile::config {

/// What `config check` measured beyond the profile's facts (the fields of the same names in
/// ConfigFacts): the STUN servers the files name, asked by config check, and the UDP port
/// ranges `natdiag ports` measured.
struct Measurements {
  std::map<std::string, bool> stun_answers;  ///< "host:port" -> it answered; absent: not asked
  std::vector<MeasuredPorts> udp_ports;      ///< empty: not measured
};
/// The Measurements part of `facts`.
[[nodiscard]] Measurements measurements_of(const ConfigFacts& facts);

/// What is wrong with an address a server announces to its peers.
struct AddressProblem {
  std::string kind;      ///< "private" (behind NAT), "stale" (not the measured public address)
  std::string severity;  ///< "critical"
  std::string why;       ///< one sentence, naming only the file's value and measured facts
};
/// Compares `value` (an IPv4 literal; other values give nullopt) with the measured public
/// IPv4. nullopt: right, or nothing measured to compare with.
[[nodiscard]] std::optional<AddressProblem> check_announced_ipv4(std::string_view value,
                                                                 const cli::ProfileFacts& facts);

/// What natdiag knows of a STUN server a file names.
struct StunProblem {
  std::string kind;      ///< "unanswered", "none-answered", "not-asked"
  std::string severity;  ///< "warning" or "info"
  std::string why;
};
/// `host` (a name or an IP literal) at `port` (nullopt: 3478) against what was measured: the
/// server that answered the profile, the answers config check got. nullopt: it answered.
[[nodiscard]] std::optional<StunProblem> check_stun_server(std::string_view host,
                                                           std::optional<std::uint16_t> port,
                                                           const cli::ProfileFacts& facts,
                                                           const Measurements& measured);
/// "IP:port" of the STUN server that answered the profile, when one did.
[[nodiscard]] std::optional<std::string> answered_stun_server(const cli::ProfileFacts& facts);

/// Splits "host", "host:port", "[v6]:port", "v6" into host and port.
struct HostPort {
  std::string host;
  std::optional<std::uint16_t> port;  ///< nullopt when absent or not 1-65535
  bool bad_port = false;              ///< a port was written but is not 1-65535
};
[[nodiscard]] HostPort split_host_port(std::string_view text);

/// The documented UDP media range of `server` (the firewall table: media_ports.cpp).
[[nodiscard]] std::optional<cli::PortRange> firewall_media_range(std::string_view server);

}  // namespace natdiag::profile::config
