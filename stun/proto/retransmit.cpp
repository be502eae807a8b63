#include "stun/proto/retransmit.hpp"

#include <algorithm>

namespace natdiag::stun {

RetransmitSchedule::RetransmitSchedule(const RetransmitPolicy& policy, TimePoint start,
                                       TimePoint deadline) noexcept
    : policy_(policy),
      deadline_(deadline),
      next_send_(start),
      give_up_(deadline),
      rto_(policy.initial_rto) {}

RetransmitSchedule::Action RetransmitSchedule::poll(TimePoint now) noexcept {
  // The first request always goes out: "no response" after sending nothing is no evidence.
  if (sent_ > 0 && (now >= give_up_ || now >= deadline_)) return Action::kGiveUp;
  if (sent_ >= (policy_.reliable ? 1 : policy_.max_transmissions) || now < next_send_) {
    return Action::kWait;
  }
  ++sent_;
  if (policy_.reliable) {
    // RFC 8489 §6.2.2: over TCP the request is sent once; the transaction fails after Ti.
    give_up_ = std::min(deadline_, now + std::chrono::milliseconds(39500));
  } else if (sent_ == policy_.max_transmissions) {
    // RFC 8489 §6.2.1: "If, after the last request, a duration equal to Rm times the RTO
    // has passed without a response ... the client SHOULD consider the transaction to have
    // failed."
    // (The RFC's 39.5 s total: 31.5 s of doubling, then Rm = 16 times the initial RTO.)
    give_up_ = std::min(deadline_, now + policy_.initial_rto * policy_.last_wait_factor);
  } else {
    next_send_ = now + rto_;
    rto_ = std::min(rto_ * 2, policy_.max_rto);
  }
  return Action::kSend;
}

TimePoint RetransmitSchedule::next_event() const noexcept {
  const int limit = policy_.reliable ? 1 : policy_.max_transmissions;
  if (sent_ < limit) return std::min(next_send_, give_up_);
  return give_up_;
}

Duration RetransmitSchedule::rto_from_rtt(Duration rtt, Duration floor) noexcept {
  return std::max(rtt * 2, floor);
}

}  // namespace natdiag::stun
