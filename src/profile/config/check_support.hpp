// What the per-server checkers share: one way to add a finding, to judge an address a server
// announces, and to compare a port range with the measured ports. Pure.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/profile/config/config_check.hpp"
#include "src/profile/config/line_edits.hpp"
#include "stun/proto/types.hpp"

namespace natdiag::profile::config {

/// An IP address written alone (no port, no brackets), or nullopt.
[[nodiscard]] std::optional<stun::TransportAddress> plain_ip(std::string_view text);
/// Loopback, RFC 1918/4193, link-local, CGNAT: not reachable from the Internet.
[[nodiscard]] bool is_private(const stun::TransportAddress& ip);
/// A port number 1-65535 written in decimal, or nullopt.
[[nodiscard]] std::optional<std::uint16_t> port_number(std::string_view text);

/// Collects one file's findings.
class FindingSink {
 public:
  FindingSink(const ParsedFile& file, std::string_view server, std::vector<ConfigFinding>& out)
      : file_(file), server_(server), out_(out) {}
  /// Adds a finding about `key` on `line` (0: the setting is missing and has no place yet).
  ConfigFinding& add(std::string id, std::string severity, int line, std::string key,
                     std::optional<std::string> current, std::optional<std::string> expected,
                     std::string why);
  /// A finding about a setting that is there.
  ConfigFinding& add(std::string id, std::string severity, const Setting& s,
                     std::optional<std::string> expected, std::string why) {
    return add(std::move(id), std::move(severity), s.line, s.key, s.value, std::move(expected),
               std::move(why));
  }
  /// The finding that `key` is missing, placed where the edit adds it (the file's first line
  /// without an edit); with `value_text`, the edit that adds it.
  ConfigFinding& missing(std::string id, std::string severity, std::string key,
                         std::optional<std::string> expected, std::optional<std::string> value_text,
                         std::string why);
  [[nodiscard]] const ParsedFile& file() const { return file_; }

 private:
  const ParsedFile& file_;
  std::string server_;
  std::vector<ConfigFinding>& out_;
};

/// Checks `s`, an IPv4 address the server tells peers is its own public one: not an IP,
/// private, or not the measured public address. The fix (when the public IPv4 was measured)
/// writes the measured address into the value. `prefix` starts the ids ("-not-ip",
/// "-private", "-stale"). Returns whether it found something.
bool check_public_ipv4(FindingSink& sink, const Setting& s, const ConfigFacts& facts,
                       const std::string& prefix, std::string_view what);
/// The same for one part of a value ("PUBLIC" of coturn's "PUBLIC/PRIVATE"): `rewrite` turns
/// the measured address into the whole new value.
bool check_public_ipv4_part(FindingSink& sink, const Setting& s, std::string_view part,
                            const ConfigFacts& facts, const std::string& prefix,
                            std::string_view what,
                            const std::function<std::string(const std::string&)>& rewrite);

/// The ports of `range` that were measured and are not open ("50000-50999 filtered"), or
/// nullopt when none is known to be closed (all open, or not measured).
[[nodiscard]] std::optional<std::string> ports_not_open(const ConfigFacts& facts,
                                                        const cli::PortRange& range, bool udp);
/// The same over one list of measured ranges.
[[nodiscard]] std::optional<std::string> ports_not_open(const std::vector<MeasuredPorts>& measured,
                                                        const cli::PortRange& range);

/// Checks a configured range (start, end settings): numbers, start <= end, and the measured
/// ports. `prefix` starts the ids.
void check_port_range(FindingSink& sink, const Setting* start, const Setting* end,
                      const ConfigFacts& facts, const std::string& prefix, std::string_view what);
/// Checks one configured port against the measured ports.
void check_port(FindingSink& sink, const Setting& s, const ConfigFacts& facts, bool udp,
                const std::string& prefix, std::string_view what);

/// The facts say the STUN server at host:port did not answer natdiag (nullopt: not asked).
[[nodiscard]] std::optional<bool> stun_answered(const ConfigFacts& facts, std::string_view host,
                                                std::uint16_t port);

}  // namespace natdiag::profile::config
