// The probe-back control protocol between `natdiag ports --via` and `natdiag serve
// --probe-back`: JSON objects, one a line, on one TCP connection. Pure: no sockets.
//
//   serve -> client  {"type":"hello","version":1,"challenge":HEX16,"your_address":IP,
//                     "limits":{"udp_ports":20000,"tcp_ports":64,"seconds":10}}
//   client -> serve
//   {"type":"request","key":HEX32,"session":HEX8,"tcp":"80,443","udp":"50000-60000",
//                     "compare_tcp":"443","seconds":5,"mac":HEX32|null}
//   serve -> client  {"type":"refused","reason":...}  (and closes)   or   {"type":"accepted"}
//   serve -> client
//   {"type":"tcp","results":[{"port","result","detail","tls_sha256","first_bytes"}]} serve ->
//   client  {"type":"round","number":N,"sent":M}          after each UDP round client -> serve
//   {"type":"missing","udp":"55000-60000"}       "" when nothing is missing serve -> client
//   {"type":"done","udp_icmp":[...],"udp_other":[...],"rounds":N,"sent":M}
//
// There is no field for an address to probe: serve probes the source address of this
// connection, and only ports the request named (missing lists are cut to them).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "src/ports/port_set.hpp"
#include "src/ports/wire.hpp"

namespace natdiag::ports {

/// The default TCP port of serve's probe-back control service.
inline constexpr std::uint16_t kDefaultControlPort = 3480;
/// What one request may cover.
inline constexpr std::uint32_t kMaxRequestUdpPorts = 20000;
inline constexpr std::uint32_t kMaxRequestTcpPorts = 64;
/// Seconds one request may run at most.
inline constexpr int kMaxRequestSeconds = 10;
/// The longest control line accepted (a missing list of 20,000 scattered ports fits).
inline constexpr std::size_t kMaxLine = 256 * 1024;

/// A request as serve accepted it.
struct ProbeRequest {
  Key key{};
  std::uint64_t session = 0;
  PortSet tcp;
  PortSet udp;
  PortSet compare_tcp;  ///< held ports: connect and report what answers (TLS certificate, bytes)
  int seconds = 5;
};

/// Checks a request line against the limits and the secret (empty: none needed). Returns the
/// request, or sets `refusal` to one of the reasons serve logs ("malformed", "too-many-ports",
/// "bad-mac").
[[nodiscard]] std::optional<ProbeRequest> parse_request(const nlohmann::json& message,
                                                        std::string_view challenge,
                                                        std::string_view secret,
                                                        std::string& refusal);

/// The request line a client sends (mac filled when `secret` is not empty).
[[nodiscard]] nlohmann::json make_request(const ProbeRequest& request, std::string_view challenge,
                                          std::string_view secret);

/// HMAC-SHA256(secret, challenge "\n" request-without-mac), hex.
[[nodiscard]] std::string request_mac(const nlohmann::json& request_without_mac,
                                      std::string_view challenge, std::string_view secret);

/// Splits a byte stream into lines; refuses lines longer than kMaxLine.
class LineReader {
 public:
  /// Adds bytes; false when a line grew beyond kMaxLine (the connection should be dropped).
  bool feed(std::string_view bytes);
  /// The next complete line, if any.
  std::optional<std::string> next();

 private:
  std::string buffer_;
};

/// Parses a line as a JSON object with a string "type"; nullopt otherwise (never throws).
[[nodiscard]] std::optional<nlohmann::json> parse_message(std::string_view line);

}  // namespace natdiag::ports
