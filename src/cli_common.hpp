// What every subcommand shares: exit codes, the errors that end a command and how they are
// reported (text or the --json error document), argument parsing helpers, JSON helpers.
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

/// What went wrong when a command could not produce its report: the "kind" of the --json error
/// document {"schema", "command", "error": {kind, message, value}}, and the exit code it gives.
enum class ErrorKind : std::uint8_t {
  kUsage,      ///< unknown option, missing or extra argument, options that exclude each other (2)
  kBadValue,   ///< a value that does not parse, is out of range, or a file that is not valid input (2)
  kCannotRun,  ///< cannot bind, permission denied, no usable interface (3)
  kNetwork,    ///< the network failed before any check could run: no route to the server (3)
};

/// "usage", "bad-value", "cannot-run", "network".
[[nodiscard]] std::string_view error_kind_name(ErrorKind kind) noexcept;
/// The exit code of design.md for an error of this kind.
[[nodiscard]] int exit_code_of(ErrorKind kind) noexcept;

/// An error that ends a command before it has a report; main turns it into one line on stderr,
/// or the --json error document, and the kind's exit code.
class CliError : public std::runtime_error {
 public:
  CliError(ErrorKind kind, const std::string& message, std::optional<std::string> value = {})
      : std::runtime_error(message), kind_(kind), value_(std::move(value)) {}
  [[nodiscard]] ErrorKind kind() const noexcept { return kind_; }
  /// The bad value as the user gave it, when there is one.
  [[nodiscard]] const std::optional<std::string>& value() const noexcept { return value_; }

 private:
  ErrorKind kind_;
  std::optional<std::string> value_;
};

/// Bad input (exit 2). With only a message it is a usage error; say kBadValue and the value
/// when one value is wrong.
class UsageError : public CliError {
 public:
  explicit UsageError(const std::string& message) : CliError(ErrorKind::kUsage, message) {}
  UsageError(ErrorKind kind, const std::string& message, std::optional<std::string> value = {})
      : CliError(kind, message, std::move(value)) {}
};

/// A bad value (exit 2): "<what> <problem>, got '<value>'" naming the value.
[[nodiscard]] UsageError bad_value(std::string_view what, std::string_view problem,
                                   std::string_view value);
/// Options or arguments that exclude each other (exit 2), naming the value that conflicts.
[[nodiscard]] UsageError conflict(const std::string& message, std::string_view value);

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
/// A host name that is an IP literal of the family -4/-6 excludes: a usage error naming it.
void check_family(std::string_view host, net::FamilyPreference family, std::string_view what);
/// A file of PEM certificates that can be read; throws a bad-value UsageError naming the path.
void check_pem_file(const std::string& path, std::string_view what);
/// A positive integer within [min, max]; throws UsageError.
[[nodiscard]] int parse_int(std::string_view text, std::string_view what, int min, int max);

/// -4 / -6 into a family preference; throws UsageError when both are given.
[[nodiscard]] net::FamilyPreference family_from_flags(const cxxopts::ParseResult& args);

/// Whether argv asks for --json (looked at before parsing, so that a usage error is JSON too).
[[nodiscard]] bool wants_json(int argc, char** argv);
/// Prints an error as main does: the --json error document on stdout (one line), or
/// "natdiag COMMAND: message" on stderr. Returns the exit code. An empty command (no such
/// command) is null in the document.
int report_error(std::string_view command, ErrorKind kind, const std::string& message,
                 const std::optional<std::string>& value, bool json);
/// Runs one subcommand (argv starts at its name) and turns every exception into report_error:
/// CliError by its kind, net::SocketError as cannot-run or network, anything else cannot-run.
/// New commands get the error contract by being called through this (main does).
int run_command(std::string_view command, int (*run)(int, char**), int argc, char** argv);
/// Prints a --json report: indented, invalid UTF-8 from the network replaced, never throwing.
void print_json(const OutputJson& report);

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
