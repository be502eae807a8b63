// A TURN client session for diagnostics (RFC 8656): one allocation over UDP, TCP or TLS, its
// requests with the long-term credential mechanism (401 challenge, 438 new nonce handled), and
// the data path: Send/Data indications and ChannelData. Blocking, every call bounded by a
// deadline; it never sends to anything but the TURN server it was opened with.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "stun/client/turn.hpp"
#include "stun/net/stream.hpp"
#include "stun/proto/retransmit.hpp"

namespace natdiag::client {

/// What carries TURN frames (STUN messages and ChannelData) to and from the server.
class TurnLink {
 public:
  virtual ~TurnLink() = default;
  /// Sends one frame; false with `error` set when it could not be written.
  virtual bool send(std::span<const std::uint8_t> frame, stun::TimePoint deadline,
                    std::string& error) = 0;
  /// The next frame from the server; nullopt with `error` ("timed out", ...) otherwise.
  virtual std::optional<std::vector<std::uint8_t>> receive(stun::TimePoint deadline,
                                                           std::string& error) = 0;
  /// TCP/TLS: no retransmissions, ChannelData padded (RFC 8656 §12.5).
  [[nodiscard]] virtual bool reliable() const noexcept = 0;
  [[nodiscard]] virtual TransportAddress local_address() const = 0;
};

/// A connected UDP socket to `server`. Throws net::SocketError.
[[nodiscard]] std::unique_ptr<TurnLink> make_udp_link(const TransportAddress& server);
/// An open TCP or TLS connection.
[[nodiscard]] std::unique_ptr<TurnLink> make_stream_link(net::StreamConnection connection);

/// Data that came through the relay: a Data indication or a ChannelData message.
struct RelayedData {
  std::optional<TransportAddress> peer;  ///< XOR-PEER-ADDRESS (Data indications only)
  std::optional<std::uint16_t> channel;  ///< ChannelData only
  std::vector<std::uint8_t> data;
};

/// The answer to one TURN request.
struct TurnAnswer {
  bool success = false;
  int error_code = 0;        ///< 0 on success or when nothing usable came back
  std::string reason;        ///< the error's reason phrase
  std::string failure;       ///< no answer at all: why ("no answer within ...", "connection closed")
  std::string malformed;     ///< the answer breaks RFC 8489's limits (an over-long REALM): why
  std::vector<std::uint8_t> message;  ///< the response, verbatim
  Duration rtt{};            ///< from the last transmission to the response
  [[nodiscard]] bool answered() const noexcept { return failure.empty(); }
};

/// One allocation's requests and data, over a link.
class TurnSession {
 public:
  TurnSession(TurnLink& link, TurnCredentials credentials, bool have_credentials)
      : link_(link), credentials_(std::move(credentials)), have_credentials_(have_credentials) {}

  /// Sends a request of `method`, adding `attributes` and, once the server has challenged,
  /// USERNAME/REALM/NONCE/MESSAGE-INTEGRITY. A 401 challenge is answered once and a 438 new
  /// nonce once (RFC 8489 §9.2.4-§9.2.5); UDP requests are retransmitted (RFC 8489 §6.2.1).
  /// A challenge with a REALM or NONCE over RFC 8489's limits is not answered: `malformed`.
  /// A request that cannot be built (credentials over the limits) is a `failure`; never throws.
  TurnAnswer request(stun::Method method,
                     const std::function<void(stun::MessageBuilder&)>& attributes,
                     stun::TimePoint deadline);
  /// A Send indication to `peer` (RFC 8656 §10.1): no answer.
  bool send_indication(const TransportAddress& peer, std::span<const std::uint8_t> data,
                       stun::TimePoint deadline, std::string& error);
  /// A ChannelData message on `channel` (RFC 8656 §12.4).
  bool send_channel_data(std::uint16_t channel, std::span<const std::uint8_t> data,
                         stun::TimePoint deadline, std::string& error);
  /// The next relayed data to arrive (kept from earlier reads first), or nullopt at the deadline.
  std::optional<RelayedData> receive_data(stun::TimePoint deadline);

  /// True once the server challenged with 401 and the credentials were added.
  [[nodiscard]] bool challenged() const noexcept { return auth_.has_value(); }
  [[nodiscard]] const std::optional<LongTermAuth>& auth() const noexcept { return auth_; }
  [[nodiscard]] const std::optional<std::string>& software() const noexcept { return software_; }
  /// Frames that were neither our responses nor relayed data (counted, never believed).
  [[nodiscard]] int ignored_frames() const noexcept { return ignored_; }
  /// The round-trip time of the last answered request over this link, if any.
  [[nodiscard]] std::optional<Duration> last_rtt() const noexcept { return last_rtt_; }

 private:
  /// The request's bytes; empty when it does not fit (credentials over RFC 8489's limits).
  std::vector<std::uint8_t> build(stun::Method method, const stun::TransactionId& id,
                                  const std::function<void(stun::MessageBuilder&)>& attributes);
  TurnAnswer exchange(const std::vector<std::uint8_t>& bytes, const stun::TransactionId& id,
                      stun::TimePoint deadline);
  /// Files a frame that is not the awaited response: relayed data into the inbox.
  void file(std::span<const std::uint8_t> frame);

  TurnLink& link_;
  TurnCredentials credentials_;
  bool have_credentials_;
  std::optional<LongTermAuth> auth_;
  std::optional<std::string> software_;
  std::deque<RelayedData> inbox_;
  int ignored_ = 0;
  std::optional<Duration> last_rtt_;
  /// RFC 8489 §6.2.1: the RTO starts at 500 ms and follows the measured RTT once there is one
  /// (2 x RTT, never below kMinRto), so a lost request on a fast path is sent again soon.
  Duration rto_ = std::chrono::milliseconds(500);
  static constexpr Duration kMinRto = std::chrono::milliseconds(100);
};

}  // namespace natdiag::client
