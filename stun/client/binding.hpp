// The Binding test (RFC 8489 §3): ask a STUN server which address it sees us as.
// The stunclient equivalent behind `natdiag stun`.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "stun/net/resolver.hpp"
#include "stun/net/stream.hpp"
#include "stun/net/transaction.hpp"
#include "stun/proto/message.hpp"

namespace natdiag::client {

using net::TransportAddress;
using stun::Duration;

/// How requests reach the server.
enum class Transport : std::uint8_t { kUdp, kTcp, kTls };
[[nodiscard]] std::string_view transport_name(Transport t) noexcept;

/// Everything a binding test needs to know.
struct BindingOptions {
  std::string host;                  ///< name or IP literal
  std::uint16_t port = 3478;
  Transport transport = Transport::kUdp;
  net::FamilyPreference family = net::FamilyPreference::kAny;
  std::optional<TransportAddress> local;  ///< bind here (port 0: any)
  Duration timeout = std::chrono::seconds(3);  ///< per binding request
  int count = 1;                     ///< how many requests, one after the other
  Duration interval = std::chrono::milliseconds(200);  ///< pause between repeated requests
  stun::RetransmitPolicy policy;     ///< UDP retransmission (RFC 8489 §6.2.1)
  bool tls_verify = true;
  std::string ca_file;
  /// UDP only: send the RFC 3489 (classic STUN) form, no magic cookie and no attributes, as
  /// libnice before 0.1.23 does for its srflx discovery.
  bool rfc3489 = false;
  /// TCP/TLS: fails the test at once when cancelled from another thread (must outlive it).
  const net::Canceller* cancel = nullptr;
};

/// What a Binding response said, decoded.
struct BindingFacts {
  std::optional<TransportAddress> mapped;           ///< XOR-MAPPED-ADDRESS or MAPPED-ADDRESS
  std::optional<TransportAddress> other_address;    ///< RFC 5780 OTHER-ADDRESS
  std::optional<TransportAddress> response_origin;  ///< RFC 5780 RESPONSE-ORIGIN
  std::optional<TransportAddress> changed_address;  ///< RFC 3489 CHANGED-ADDRESS
  std::optional<TransportAddress> source_address;   ///< RFC 3489 SOURCE-ADDRESS
  std::optional<std::string> software;
  std::optional<int> error_code;                    ///< from an error response
  std::string error_reason;
  bool mapped_is_xor = false;
  std::string problem;  ///< set when the response is unusable (why)
  std::vector<std::pair<std::string, std::string>> attributes;  ///< every attribute, for -v
};

/// Decodes a Binding success or error response into facts (never throws on bad input).
[[nodiscard]] BindingFacts interpret_binding_response(const stun::MessageView& response);

/// How a failed attempt failed: only silence or a refusal from another host says the path
/// blocks it; a refusal from the server itself says nothing listens there.
enum class Failure : std::uint8_t {
  kNone,             ///< answered (or not run)
  kTimeout,          ///< no answer in the time given
  kRefusedByServer,  ///< ICMP port unreachable (or TCP RST) from the server's own address
  kRefusedOnPath,    ///< ICMP port unreachable from another host: a firewall on the way rejects it
  kOther,            ///< an unusable answer, an error response or a local socket error
};
/// "timeout", "refused-by-server", "refused-on-path", "other" ("" for kNone).
[[nodiscard]] std::string_view failure_name(Failure f) noexcept;

/// One request and what came of it.
struct BindingAttempt {
  bool success = false;
  Failure failure = Failure::kNone;
  std::optional<TransportAddress> refused_by;  ///< who sent the ICMP error, when one came
  std::optional<TransportAddress> local;
  BindingFacts facts;
  std::optional<Duration> rtt;
  int transmissions = 0;
  std::string error;  ///< why it failed, for people
};

/// The whole test.
struct BindingReport {
  std::string host;
  std::optional<TransportAddress> server;  ///< the address used
  Transport transport = Transport::kUdp;
  std::vector<BindingAttempt> attempts;
  net::PacketCounters ignored;  ///< packets that arrived and were not believed
  std::string error;            ///< set when the test could not start (resolution)

  [[nodiscard]] bool success() const noexcept;
  /// The last successful attempt, if any.
  [[nodiscard]] const BindingAttempt* last_success() const noexcept;
};

/// Runs the test. Throws net::SocketError when a socket cannot be opened or bound here.
[[nodiscard]] BindingReport run_binding_test(const BindingOptions& options);

/// Encodes a Binding request with SOFTWARE and FINGERPRINT into `buffer`, with optional
/// RFC 5780 CHANGE-REQUEST flags and PADDING.
[[nodiscard]] std::vector<std::uint8_t> make_binding_request(
    const stun::TransactionId& id, bool change_ip = false, bool change_port = false);

/// Encodes an RFC 3489 §11.1 Binding request: the 20-byte header only, `id` being the
/// 128-bit transaction ID (its first 4 bytes must not be the magic cookie).
[[nodiscard]] std::vector<std::uint8_t> make_rfc3489_binding_request(
    std::span<const std::uint8_t, 16> id);

/// natdiag's SOFTWARE value ("natdiag 0.1.0").
[[nodiscard]] std::string_view software_name() noexcept;

}  // namespace natdiag::client
