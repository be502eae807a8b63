// TURN from the client side, as far as diagnostics need it: TURN REST credentials (coturn's
// use-auth-secret) and a one-shot Allocate probe (RFC 8656 §7) that says in plain words why a
// TURN server gives no relay: authentication, refusal, or no answer.
//
// The Allocate exchange with long-term credentials (RFC 8656 §7.1, RFC 8489 §9.2):
//
//   client                                   server
//     | Allocate (REQUESTED-TRANSPORT=UDP)     |
//     |--------------------------------------->|
//     |      401 Unauthenticated, REALM, NONCE |
//     |<---------------------------------------|
//     | Allocate + USERNAME, REALM, NONCE,     |
//     |   MESSAGE-INTEGRITY (MD5 long-term key)|
//     |--------------------------------------->|
//     |  success: XOR-RELAYED-ADDRESS,         |
//     |  XOR-MAPPED-ADDRESS, LIFETIME          |  (401 again: wrong credentials)
//     |<---------------------------------------|
//     | Refresh LIFETIME=0 (give it back)      |
//     |--------------------------------------->|
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stun/client/binding.hpp"
#include "stun/proto/message.hpp"

namespace natdiag::client {

/// A TURN username and password.
struct TurnCredentials {
  std::string username;
  std::string password;
};

/// RFC 8489 §14.3: a USERNAME is fewer than 509 bytes.
inline constexpr std::size_t kMaxUsernameBytes = 508;
/// RFC 8489 §14.9, §14.10: a REALM or NONCE is at most 763 bytes (fewer than 128 characters).
inline constexpr std::size_t kMaxRealmNonceBytes = 763;

/// How long derived TURN REST credentials stay valid (coturn compares the expiry with its clock).
inline constexpr std::chrono::seconds kRestCredentialLifetime{24 * 3600};

/// TURN REST credentials as coturn's use-auth-secret expects (draft-uberti-behave-turn-rest):
/// username "<expiry unix time>:<user>", password base64(HMAC-SHA1(secret, username)).
[[nodiscard]] TurnCredentials rest_credentials(std::string_view secret, std::string_view user,
                                               std::int64_t expiry_unix_time);
/// The same, valid for kRestCredentialLifetime from now.
[[nodiscard]] TurnCredentials rest_credentials(std::string_view secret, std::string_view user);
/// Standard base64 (RFC 4648 §4) with padding.
[[nodiscard]] std::string base64_encode(std::span<const std::uint8_t> data);

/// What the long-term mechanism needs after the server's challenge (RFC 8489 §9.2.3).
struct LongTermAuth {
  std::string username;
  std::string realm;
  std::string nonce;
  std::array<std::uint8_t, 16> key{};  ///< MD5(username:realm:password)
};

/// An Allocate request for a UDP relay (RFC 8656 §7.1: REQUESTED-TRANSPORT 17), with SOFTWARE,
/// then USERNAME/REALM/NONCE/MESSAGE-INTEGRITY when `auth` is given, then FINGERPRINT.
[[nodiscard]] std::vector<std::uint8_t> make_allocate_request(const stun::TransactionId& id,
                                                              const LongTermAuth* auth);
/// A Refresh request with LIFETIME 0 (RFC 8656 §7.2): deletes the allocation at once.
[[nodiscard]] std::vector<std::uint8_t> make_refresh_request(const stun::TransactionId& id,
                                                             const LongTermAuth& auth,
                                                             std::uint32_t lifetime);

/// One Allocate response, decoded.
struct AllocateAnswer {
  enum class Kind : std::uint8_t {
    kSuccess,     ///< allocation made
    kChallenge,   ///< 401 with REALM and NONCE: send credentials
    kStaleNonce,  ///< 438 with a new NONCE: send again with it (RFC 8489 §9.2.5)
    kError,       ///< any other error response
    kMalformed,   ///< not a usable Allocate response
  };
  Kind kind = Kind::kMalformed;
  int error_code = 0;
  std::string reason;  ///< the error's reason phrase
  std::string realm;
  std::string nonce;
  std::optional<net::TransportAddress> relayed;  ///< XOR-RELAYED-ADDRESS
  std::optional<net::TransportAddress> mapped;   ///< XOR-MAPPED-ADDRESS
  std::optional<std::uint32_t> lifetime;
  std::optional<std::string> software;
  std::string problem;  ///< why a response is kMalformed
};

/// Classifies an Allocate response (success or error) for the probe's next step.
[[nodiscard]] AllocateAnswer interpret_allocate_response(const stun::MessageView& response);

/// The probe's verdict, in the words of design.md's `turn` diagnostics.
enum class TurnVerdict : std::uint8_t {
  kOk,           ///< a relay was allocated (and released again)
  kAuthFailed,   ///< the server rejected the credentials (401 after credentials, 441)
  kRefused,      ///< the server answered but would not allocate (403, 437, 442, 486, 508, ...)
  kUnreachable,  ///< no answer, connection refused, TLS failure, name not resolved
};
/// "ok", "auth-failed", "refused", "unreachable".
[[nodiscard]] std::string_view turn_verdict_name(TurnVerdict v) noexcept;
/// The verdict an error response to an authenticated Allocate means (RFC 8656 §7.2, §19).
[[nodiscard]] TurnVerdict verdict_for_error(int code, bool credentials_sent) noexcept;

/// Where and how to probe.
struct TurnProbeOptions {
  std::string host;
  std::uint16_t port = 3478;
  Transport transport = Transport::kUdp;  ///< how the client reaches the server
  net::FamilyPreference family = net::FamilyPreference::kAny;
  std::optional<TransportAddress> server;  ///< already resolved: skips resolution
  TurnCredentials credentials;
  Duration timeout = std::chrono::seconds(3);  ///< for the whole probe
  bool tls_verify = true;
};

/// What the probe found.
struct TurnProbeReport {
  TurnVerdict verdict = TurnVerdict::kUnreachable;
  std::string detail;  ///< one sentence for people
  std::optional<TransportAddress> server;
  std::optional<TransportAddress> relayed;
  std::optional<TransportAddress> mapped;
  std::optional<int> error_code;
  std::string realm;
  std::optional<std::string> software;
  std::optional<Duration> elapsed;
  std::string tls_problem;  ///< set when the certificate did not verify (the probe went on)
};

/// Allocates a UDP relay with the long-term credentials, then releases it. Never throws for
/// network trouble (that is a verdict); throws net::SocketError when no socket can be opened.
[[nodiscard]] TurnProbeReport probe_turn_allocate(const TurnProbeOptions& options);

/// "2.5 s": a duration for people, in the TURN reports.
[[nodiscard]] std::string seconds_text(Duration d);

}  // namespace natdiag::client
