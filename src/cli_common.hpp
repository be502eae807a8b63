// What every subcommand shares: exit codes, usage errors, argument parsing helpers, JSON
// helpers.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include "stun/net/resolver.hpp"
#include "stun/net/transaction.hpp"
#include "stun/proto/types.hpp"

namespace natdiag::cli {

/// The exit codes of design.md, the same for every command.
enum ExitCode : int {
  kHealthy = 0,      ///< the checks ran and everything is healthy
  kProblem = 1,      ///< the checks ran and found a problem
  kUsage = 2,        ///< usage error or bad input
  kCannotRun = 3,    ///< permission denied, cannot bind, no usable interface
};

/// Bad input: main prints "natdiag: <message>" and exits 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The type of every --json output object: keys stay in the order they were added, so
/// "schema" and "command" come first and related fields stay together.
using OutputJson = nlohmann::ordered_json;

/// The JSON schema name every --json object carries.
inline constexpr std::string_view kSchema = "natdiag/1";

/// A port 1-65535 from text; throws UsageError naming `what` and the value.
[[nodiscard]] std::uint16_t parse_port(std::string_view text, std::string_view what);
/// A port range "A-B" or a single port; throws UsageError.
[[nodiscard]] std::pair<std::uint16_t, std::uint16_t> parse_port_range(std::string_view text,
                                                                       std::string_view what);
/// A comma-separated list of ports and ranges ("443,80,50000-50010"); throws UsageError.
[[nodiscard]] std::vector<std::uint16_t> parse_port_list(std::string_view text,
                                                         std::string_view what);
/// Seconds (> 0, ≤ 3600, fractions allowed) from text; throws UsageError.
[[nodiscard]] std::chrono::microseconds parse_seconds(std::string_view text, std::string_view what);
/// An IP address with an optional port ("10.0.0.1", "10.0.0.1:5000", "[::1]:5000").
[[nodiscard]] stun::TransportAddress parse_ip_port(std::string_view text, std::string_view what);
/// An IP address without a port; throws UsageError.
[[nodiscard]] stun::TransportAddress parse_ip(std::string_view text, std::string_view what);
/// A host name or IP literal; throws UsageError for '' or characters no host name has.
void validate_host(std::string_view host, std::string_view what);
/// A positive integer within [min, max]; throws UsageError.
[[nodiscard]] int parse_int(std::string_view text, std::string_view what, int min, int max);

/// -4 / -6 into a family preference; throws UsageError when both are given.
[[nodiscard]] net::FamilyPreference family_from_flags(const cxxopts::ParseResult& args);

/// Parses argv for one subcommand; unknown flags become UsageError.
[[nodiscard]] cxxopts::ParseResult parse_args(cxxopts::Options& options, int argc, char** argv);

/// "ip:port" / "[v6]:port", or null (design.md: absent facts are null, never omitted).
[[nodiscard]] nlohmann::json json_address(const std::optional<stun::TransportAddress>& a);
/// Milliseconds with microsecond precision, or null.
[[nodiscard]] nlohmann::json json_ms(const std::optional<std::chrono::microseconds>& d);
/// The object every --json output starts from: schema and command.
[[nodiscard]] OutputJson json_header(std::string_view command);
/// Packets that arrived and were not believed: {total, malformed, unmatched, wrong_source,
/// duplicates, not_a_response, notes}.
[[nodiscard]] nlohmann::json json_ignored_packets(const net::PacketCounters& counters);
/// "0.42 ms" for people.
[[nodiscard]] std::string format_ms(std::chrono::microseconds d);

}  // namespace natdiag::cli
