// The client retransmission schedule of RFC 8489 §6.2.1, without I/O: the caller passes the
// time in and is told when to send and when to give up.
#pragma once

#include <chrono>
#include <cstdint>

namespace natdiag::stun {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::microseconds;

/// RFC 8489 §6.2.1 parameters. The defaults are the RFC's: RTO 500 ms doubled on each
/// retransmission, Rc = 7 transmissions, and a final wait of Rm = 16 RTOs.
struct RetransmitPolicy {
  Duration initial_rto = std::chrono::milliseconds(500);
  int max_transmissions = 7;  ///< Rc
  int last_wait_factor = 16;  ///< Rm
  Duration max_rto = std::chrono::seconds(60);  ///< cap on the doubled RTO
  bool reliable = false;  ///< TCP/TLS: send once, then wait Ti (39.5 s) or the deadline
};

/// When to transmit a request and when to give up on it, bounded by an overall deadline.
class RetransmitSchedule {
 public:
  enum class Action : std::uint8_t {
    kSend,    ///< transmit (or retransmit) now
    kWait,    ///< nothing to do until next_event()
    kGiveUp,  ///< no response will be waited for any longer
  };

  RetransmitSchedule(const RetransmitPolicy& policy, TimePoint start, TimePoint deadline) noexcept;

  /// What to do at `now`. Call again after a kSend: more than one step may be due at once.
  /// The first call always says kSend, even past the deadline: a request is never given up
  /// before it was sent once.
  Action poll(TimePoint now) noexcept;
  /// The next time poll() may return something other than kWait.
  [[nodiscard]] TimePoint next_event() const noexcept;
  /// Transmissions made so far.
  [[nodiscard]] int transmissions() const noexcept { return sent_; }
  /// RFC 8489 §6.2.1 (and RFC 6298 via it): the RTO to start the next transaction to the
  /// same server with, from one measured round-trip time: 2*RTT (no variance known yet),
  /// never below `floor`.
  [[nodiscard]] static Duration rto_from_rtt(Duration rtt, Duration floor) noexcept;

 private:
  RetransmitPolicy policy_;
  TimePoint deadline_;
  TimePoint next_send_;
  TimePoint give_up_;
  Duration rto_;
  int sent_ = 0;
};

}  // namespace natdiag::stun
