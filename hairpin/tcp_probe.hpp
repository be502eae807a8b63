// The TCP hairpin check: connect from this host to EXTERNAL_IP:PORT and prove where the
// connection ends up. When the port is free here, natdiag listens on it and recognises its own
// random nonce; when a local service owns it, natdiag compares what that service answers on a
// local address with what answers via EXTERNAL_IP (the TLS certificate, or the first bytes of
// the response to the same request). "Something answered" never decides a verdict: a router
// without NAT loopback often answers on its public address itself (its admin page).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hairpin/checks.hpp"

namespace natdiag::hairpin {

/// Settings shared by the TCP checks.
struct TcpProbeOptions {
  TransportAddress external_ip;  ///< port ignored
  TimePoint deadline;            ///< every connection gives up by then
  std::string server_name;       ///< TLS SNI for the certificate comparison (--hostname)
  PathRtt* rtt = nullptr;        ///< records how long a connect (or its refusal) took
};

/// Runs the TCP check on one port. Never throws for network conditions: failures to set up
/// come back as inconclusive with `setup_failed`.
[[nodiscard]] CheckResult tcp_check(std::uint16_t port, const TcpProbeOptions& options);

/// What one connection to one address showed, for the path comparison.
struct PathSample {
  std::optional<TransportAddress> address;  ///< the address (and port) connected to
  bool connected = false;
  int connect_error = 0;  ///< errno when the TCP connection failed (ECONNREFUSED, ETIMEDOUT)
  std::string error;      ///< why the connection or the handshake failed, for people
  bool tls = false;       ///< a TLS handshake completed
  std::string certificate_sha256;  ///< the peer certificate's fingerprint when tls
  std::string response;  ///< plain: the first bytes answered to kPlainRequest (or a banner)
};

/// The local side of the comparison.
struct LocalPath {
  PathSample sample;
  /// The service answered on loopback only (the non-loopback addresses refused): a connection
  /// forwarded to this host's LAN address could not reach it either.
  bool loopback_only = false;
};

/// The request sent on both paths when the service does not speak TLS.
inline constexpr std::string_view kPlainRequest = "HEAD / HTTP/1.0\r\n\r\n";

/// The check for a port that a local service owns: sample a local address (a LAN address
/// first, loopback last) and EXTERNAL_IP the same way, then decide_by_comparison.
[[nodiscard]] CheckResult compare_paths_check(std::uint16_t port, const TcpProbeOptions& options);

/// Decides a busy port from the two paths (pure: unit-tested with made-up samples).
[[nodiscard]] CheckResult decide_by_comparison(std::uint16_t port,
                                               const TransportAddress& external_ip,
                                               const LocalPath& local,
                                               const PathSample& via_public);

/// How two answers to the same request compare.
enum class Sameness : std::uint8_t {
  kSame,       ///< identical once per-request headers (Date, Set-Cookie, ...) are ignored
  kDifferent,  ///< different status line, banner or Server header: another service answered
  kSimilar,    ///< same status line and Server, other differences: cannot tell
  kNothing,    ///< neither side sent anything
};

/// Compares the local answer with the one that came via EXTERNAL_IP.
[[nodiscard]] Sameness compare_responses(std::string_view local, std::string_view via_public);
/// The response without the headers that change from one request to the next.
[[nodiscard]] std::string normalise_response(std::string_view response);
/// The first line of a response for people: printable ASCII only, at most `max` characters.
[[nodiscard]] std::string first_line(std::string_view response, std::size_t max = 60);
/// "AB:CD:EF:01…89:AB" for a long SHA-256 fingerprint.
[[nodiscard]] std::string short_fingerprint(std::string_view fingerprint);
/// HTTPS (443, 8443) and STUN/TURN over TLS (5349): ports where a TLS handshake is tried first.
[[nodiscard]] bool is_tls_port(std::uint16_t port) noexcept;

/// Connects to `address` and records what a TLS handshake shows (no certificate check: the
/// fingerprint is what is compared).
[[nodiscard]] PathSample sample_tls(const TransportAddress& address, const std::string& server_name,
                                    TimePoint deadline);
/// Connects to `address`, sends kPlainRequest and records the first bytes of the answer.
[[nodiscard]] PathSample sample_plain(const TransportAddress& address, TimePoint deadline);

}  // namespace natdiag::hairpin
