// The client transaction engine: sends STUN requests over UDP, retransmits them on the RFC
// 8489 schedule, and matches responses by transaction ID (and, unless told otherwise, by the
// address they came from). Anything else that arrives is counted, never believed.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "stun/net/socket.hpp"
#include "stun/proto/message.hpp"
#include "stun/proto/retransmit.hpp"
#include "stun/proto/types.hpp"

namespace natdiag::net {

using stun::Duration;
using stun::TimePoint;

/// Which source addresses a response may come from.
enum class SourceMatch : std::uint8_t {
  kDestination,  ///< only the address the request went to (the normal case)
  kAny,          ///< any (RFC 5780 CHANGE-REQUEST answers come from the other address)
};

/// One request to run.
struct UdpRequest {
  UdpSocket* socket = nullptr;
  TransportAddress destination;
  std::vector<std::uint8_t> bytes;  ///< the encoded request
  stun::RetransmitPolicy policy;
  TimePoint deadline;               ///< give up at this time at the latest
  SourceMatch source_match = SourceMatch::kDestination;
};

/// How a request ended.
struct UdpOutcome {
  enum class Status : std::uint8_t { kPending, kResponse, kTimeout, kSocketError };
  Status status = Status::kPending;
  std::vector<std::uint8_t> response;  ///< the matched response, verbatim
  TransportAddress source;             ///< where it came from
  Duration rtt{};                      ///< since the transmission just before the response
  int transmissions = 0;
  int socket_error = 0;                ///< errno for kSocketError (e.g. ECONNREFUSED)
};

/// Packets that arrived and were not believed.
struct PacketCounters {
  std::size_t malformed = 0;          ///< did not decode, or failed FINGERPRINT
  std::size_t unmatched = 0;          ///< no pending transaction has that ID
  std::size_t wrong_source = 0;       ///< right ID, but from an address not asked
  std::size_t duplicates = 0;         ///< a second answer to a finished transaction
  std::size_t not_a_response = 0;     ///< requests or indications sent to a client
  std::vector<std::string> notes;     ///< the first few, described for people

  [[nodiscard]] std::size_t total() const noexcept {
    return malformed + unmatched + wrong_source + duplicates + not_a_response;
  }
  /// Adds another run's counts (and notes, up to the first eight).
  void merge(const PacketCounters& other);
  /// Keeps a description of an ignored packet, the first eight only.
  void note(std::string text);
};

/// Decodes a packet that should answer one of our requests: a STUN success or error response
/// whose FINGERPRINT, if any, is right. Anything else is counted in `counters`, with a note,
/// and nullopt returned. The view points into `packet`.
[[nodiscard]] std::optional<stun::MessageView> screen_response(std::span<const std::uint8_t> packet,
                                                               const TransportAddress& source,
                                                               PacketCounters& counters);

/// Runs many UDP transactions at once over one or more sockets.
class UdpTransactions {
 public:
  using Handle = std::size_t;
  /// Called when a transaction finishes; it may start further transactions.
  using OnComplete = std::function<void(Handle, const UdpOutcome&)>;

  explicit UdpTransactions(OnComplete on_complete = {}) : on_complete_(std::move(on_complete)) {}

  /// Starts a request; its first transmission goes out on the next run() step.
  Handle start(UdpRequest request);
  /// Runs until every transaction has finished or `deadline` passes (those still pending then
  /// time out).
  void run(TimePoint deadline);

  [[nodiscard]] const UdpOutcome& outcome(Handle h) const { return entries_.at(h).outcome; }
  [[nodiscard]] const PacketCounters& counters() const noexcept { return counters_; }

 private:
  struct Entry {
    UdpRequest request;
    stun::RetransmitSchedule schedule;
    UdpOutcome outcome;
    TimePoint last_sent{};
    stun::TransactionId id{};
  };
  void finish(Handle h, UdpOutcome::Status status);
  void drain(UdpSocket* socket, TimePoint now);
  void handle_packet(UdpSocket* socket, std::span<const std::uint8_t> packet,
                     const TransportAddress& source, TimePoint now);

  std::vector<Entry> entries_;
  PacketCounters counters_;
  OnComplete on_complete_;
};

/// A new random transaction ID (RFC 8489 §5: "uniformly and randomly chosen").
[[nodiscard]] stun::TransactionId random_transaction_id();

}  // namespace natdiag::net
