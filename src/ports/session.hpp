// The two halves of `ports listen` + `ports probe`, as functions from settings to results.
// The caller turns the results into a PortsReport.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <optional>

#include "src/ports/listener.hpp"
#include "src/ports/prober.hpp"
#include "src/ports/results.hpp"

namespace natdiag::ports {

/// Retransmission rounds at most, whatever the budget.
inline constexpr int kMaxRounds = 20;

/// Decides when retransmitting to the ports that stay silent stops proving anything. Open
/// ports behind a path that loses a fraction p of the probes answer in round k with
/// probability (1-p)p^(k-1), so new arrivals shrink by p per round; p is estimated from that
/// ratio (conservatively: the largest seen, at least kMinLoss). Once rounds bring nothing
/// new, each further silent round leaves a hidden open port with probability p; natdiag stops
/// when that is below kResidual. Pure: the caller reports each round's new arrivals.
class RoundPolicy {
 public:
  static constexpr double kMinLoss = 0.05;
  static constexpr double kResidual = 1e-4;

  /// Records one finished round: how many ports it probed and how many of them answered.
  void record(std::size_t probed, std::size_t answered);
  /// False once further rounds are not worth sending (or nothing is left to probe).
  [[nodiscard]] bool keep_going() const;
  /// The loss estimate so far.
  [[nodiscard]] double loss() const noexcept { return loss_; }

 private:
  std::vector<std::size_t> answered_;
  std::size_t last_probed_ = 1;
  double loss_ = kMinLoss;
  int silent_rounds_ = 0;
};

/// What `ports probe` measured against one address.
struct ProbeRun {
  TransportAddress target;  ///< the probed address (an ICMP error from it is the host's own)
  std::map<std::uint16_t, TcpResult> tcp;
  std::map<std::uint16_t, UdpReply> udp_echoed, udp_icmp, udp_other, udp_untested;
  int rounds = 0;
  std::uint64_t sent = 0;
};

/// Sends probes to every port of `target`'s IP: TCP in parallel, UDP in paced rounds to the
/// ports that have not answered yet, until all have or `deadline`.
[[nodiscard]] ProbeRun run_probe(const TransportAddress& target, const PortSet& tcp,
                                 const PortSet& udp, const Key& key, double rate,
                                 TimePoint deadline);

/// What an ICMP error for a probe to `target` shows about the port: closed only for port
/// unreachable from the target itself (RFC 1122 3.2.2.1: nothing listens); a firewall's
/// administratively prohibited, or any error from a router, is filtered with the ICMP error
/// as evidence: the probe did not reach the port.
[[nodiscard]] PortOutcome icmp_outcome(std::uint16_t port, const UdpReply& icmp,
                                       const TransportAddress& target);

/// True when `result` has ports and every one of them is untested: nothing was measured.
[[nodiscard]] bool none_tested(const std::vector<PortOutcome>& outcomes);

/// The per-port outcomes of a probe run, from the prober's side.
[[nodiscard]] std::vector<PortOutcome> tcp_outcomes(const PortSet& tested, const ProbeRun& run);
[[nodiscard]] std::vector<PortOutcome> udp_outcomes(const PortSet& tested, const ProbeRun& run);

/// Runs a listener until `until`, `stop`, or everything was seen and the prober has been quiet
/// for a while (a prober may still retransmit for lost echoes). `tally` is called about once
/// a second.
void run_listen(Listener& listener, TimePoint until, const std::atomic<bool>& stop,
                const std::function<void()>& tally);

/// The outcomes from the listener's side: open where a probe arrived, in-use where another
/// program holds the port, filtered (nothing arrived) elsewhere.
[[nodiscard]] std::vector<PortOutcome> listener_outcomes(
    const PortSet& tested, const std::map<std::uint16_t, Arrival>& seen,
    const std::map<std::uint16_t, std::string>& owners, const PortSet& held);

}  // namespace natdiag::ports
