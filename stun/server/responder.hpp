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

/// The largest request natdiag serve reads; larger ones are refused as kTooLarge.
inline constexpr std::size_t kMaxRequestSize = 2048;
/// RFC 8489 §14.14: SOFTWARE "MUST be fewer than 128 characters"; natdiag serve takes at most
/// this many bytes, so that every legitimate answer fits its reply cap.
inline constexpr std::size_t kMaxSoftwareBytes = 127;

/// Why a packet got no answer (or an error answer), for counters and logs.
enum class Refusal : std::uint8_t {
  kNone,
  kMalformed,        ///< did not decode, or a wrong FINGERPRINT: dropped
  kNotARequest,      ///< responses and indications are never answered: dropped
  kTooLarge,         ///< a request larger than natdiag serve reads (kMaxRequestSize, or
                     ///< more attributes than a view indexes): dropped
  kRateLimited,      ///< over the per-source rate: dropped (decided by the server loop)
  kBadRequest,       ///< answered 400
  kUnknownAttribute, ///< answered 420
  kIdle,             ///< TCP: closed, quiet past its deadline (decided by the server loop)
  kIncomplete,       ///< TCP: closed, a request begun and not finished in time (slowloris)
  kEvicted,          ///< TCP: closed to make room for a new connection
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
  /// A reply is never larger than max(request size, kMinReplyCap, the unpadded answer): no
  /// amplification beyond a bounded constant (kMaxReplyCap), whatever PADDING asks for, and a
  /// legitimate answer always fits.
  static constexpr std::size_t kMinReplyCap = 160;
  /// The largest unpadded answer: IPv6, four addresses, the longest SOFTWARE, FINGERPRINT.
  static constexpr std::size_t kMaxReplyCap = 20 + 4 * 24 + 4 + ((kMaxSoftwareBytes + 3) & ~std::size_t{3}) + 8;

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
