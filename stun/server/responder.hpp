// The answering logic of the RFC 5780 STUN server, without I/O: given one request and where
// it came from and arrived, decide the reply (bytes, from which of the four sockets, to where)
// or why it is refused. The server loop owns sockets; this owns the rules.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "stun/proto/types.hpp"

namespace natdiag::server {

using stun::TransportAddress;

/// One of the server's sockets: primary or alternate IP, primary or alternate port
/// (RFC 5780 §4.1 calls them A1:P1, A1:P2, A2:P1, A2:P2).
struct SocketId {
  std::uint8_t ip = 0;    ///< 0 primary, 1 alternate
  std::uint8_t port = 0;  ///< 0 primary, 1 alternate
  friend bool operator==(SocketId, SocketId) = default;
};

/// The server's addresses. Without `alternate_ip` it is a plain STUN server (one IP); the
/// alternate port alone does not make an RFC 5780 server.
struct ServerAddresses {
  TransportAddress primary_ip;                  ///< port ignored
  std::optional<TransportAddress> alternate_ip; ///< port ignored
  std::uint16_t port = 3478;
  std::uint16_t alt_port = 3479;
  /// The IPs were bound as wildcards: RESPONSE-ORIGIN and OTHER-ADDRESS would be meaningless.
  bool wildcard = false;

  [[nodiscard]] bool full_rfc5780() const noexcept { return alternate_ip.has_value() && !wildcard; }
  [[nodiscard]] TransportAddress address_of(SocketId id) const noexcept;
};

/// Why a packet got no answer (or an error answer), for counters and logs.
enum class Refusal : std::uint8_t {
  kNone,
  kMalformed,        ///< did not decode, or a wrong FINGERPRINT: dropped
  kNotARequest,      ///< responses and indications are never answered: dropped
  kTooLarge,         ///< the reply would not fit the cap: dropped
  kRateLimited,      ///< over the per-source rate: dropped (decided by the server loop)
  kBadRequest,       ///< answered 400
  kUnknownAttribute, ///< answered 420
  kCount,
};
[[nodiscard]] std::string_view refusal_name(Refusal r) noexcept;

/// What to do with one request.
struct Reply {
  Refusal refusal = Refusal::kNone;  ///< kNone, or the reason for an error reply or a drop
  bool send = false;                 ///< false: drop silently
  SocketId from;                     ///< the socket to send from
  TransportAddress to;               ///< where to send
  std::size_t size = 0;              ///< bytes written to the output buffer
};

/// Static settings of the responder.
struct ResponderConfig {
  ServerAddresses addresses;
  std::string software = "natdiag";  ///< SOFTWARE attribute; empty: none
  bool stream = false;               ///< TCP/TLS: CHANGE-REQUEST and RESPONSE-PORT cannot apply
};

/// Answers Binding requests per RFC 8489, RFC 5780 and (for requests without the magic
/// cookie) RFC 3489. Thread-compatible: one per thread, no shared state, no allocation.
class Responder {
 public:
  /// A reply is never larger than max(request size, kMinReplyCap): no amplification beyond
  /// a bounded constant, whatever PADDING asks for.
  static constexpr std::size_t kMinReplyCap = 160;

  explicit Responder(ResponderConfig config) : config_(std::move(config)) {}

  /// Decides the reply to `request`, received from `source` on socket `arrived_on`, writing
  /// its bytes into `out` (at least 1500 bytes).
  Reply respond(std::span<const std::uint8_t> request, const TransportAddress& source,
                SocketId arrived_on, std::span<std::uint8_t> out) const noexcept;

  [[nodiscard]] const ResponderConfig& config() const noexcept { return config_; }

 private:
  ResponderConfig config_;
};

}  // namespace natdiag::server
