#include "src/ports/session.hpp"

#include <algorithm>
#include <cmath>
#include <thread>

namespace natdiag::ports {
namespace {

using namespace std::chrono_literals;

/// How long to wait for stragglers after a round, at least and at most.
constexpr auto kMinSettle = 60ms;
constexpr auto kMaxSettle = 1000ms;
/// A listener that has seen everything stops after the probers were quiet this long.
constexpr auto kQuietAfterAll = 2s;

/// What a TCP connection attempt's ICMP error adds to its evidence.
std::string tcp_icmp_note(const IcmpError& icmp) {
  return icmp_meaning(icmp) == IcmpMeaning::kProhibited ? ": a firewall rejects it"
                                                        : ": the probe did not reach the port";
}

}  // namespace

void RoundPolicy::record(std::size_t probed, std::size_t answered) {
  if (!answered_.empty() && answered_.back() >= 20) {
    const double ratio = static_cast<double>(answered) / static_cast<double>(answered_.back());
    loss_ = std::clamp(std::max(loss_, ratio), kMinLoss, 0.9);
  }
  answered_.push_back(answered);
  last_probed_ = probed - std::min(probed, answered);
  silent_rounds_ = answered == 0 ? silent_rounds_ + 1 : 0;
}

bool RoundPolicy::keep_going() const {
  if (last_probed_ == 0) return false;
  if (answered_.empty()) return true;
  return std::pow(loss_, silent_rounds_) >= kResidual;
}

ProbeRun run_probe(const TransportAddress& target, const PortSet& tcp, const PortSet& udp,
                   const Key& key, double rate, TimePoint deadline) {
  ProbeRun run;
  run.target = target;
  const std::uint64_t session = random_session();
  std::thread tcp_thread;
  if (!tcp.empty()) {
    tcp_thread =
        std::thread([&] { run.tcp = probe_tcp(target, tcp.ports(), key, session, deadline); });
  }
  if (!udp.empty()) {
    UdpProber prober(target, key, session, rate);
    auto missing = udp.ports();
    auto settle = kMinSettle;
    RoundPolicy policy;
    while (policy.keep_going() && stun::Clock::now() < deadline && run.rounds < kMaxRounds) {
      const auto start = stun::Clock::now();
      prober.send_round(missing, static_cast<std::uint32_t>(++run.rounds), deadline);
      const auto sent_at = stun::Clock::now();
      if (run.rounds == 1) {
        // The first echo after the round began bounds the round trip from above.
        prober.drain_until(std::min(deadline, sent_at + kMinSettle));
        if (!prober.echoed().empty()) {
          settle = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(
                                  (sent_at - start) / 8 + kMinSettle),
                              kMinSettle, kMaxSettle);
        }
      }
      prober.drain_until(std::min(deadline, stun::Clock::now() + settle));
      std::vector<std::uint16_t> still;
      for (auto p : missing) {
        if (!prober.echoed().contains(p) && !prober.icmp().contains(p) &&
            !prober.other().contains(p) && !prober.untested().contains(p)) {
          still.push_back(p);
        }
      }
      policy.record(missing.size(), missing.size() - still.size());
      missing = std::move(still);
    }
    prober.mark_unsent(udp.ports());
    run.udp_echoed = prober.echoed();
    run.udp_icmp = prober.icmp();
    run.udp_other = prober.other();
    run.udp_untested = prober.untested();
    run.sent = prober.sent();
  }
  if (tcp_thread.joinable()) tcp_thread.join();
  run.sent += run.tcp.size();
  return run;
}

PortOutcome icmp_outcome(std::uint16_t port, const UdpReply& icmp, const TransportAddress& target) {
  const auto meaning = icmp.icmp ? icmp_meaning(*icmp.icmp) : icmp_meaning_of_text(icmp.detail);
  const bool from_target = icmp.from.same_ip(target);
  PortOutcome o{port, State::kFiltered, icmp.detail + " from " + icmp.from.ip_string(), ""};
  if (meaning == IcmpMeaning::kPortUnreachable && from_target) {
    o.state = State::kClosed;
  } else if (meaning == IcmpMeaning::kProhibited) {
    o.evidence += ": a firewall rejects it";
  } else {
    o.evidence += ": the probe did not reach the port";
  }
  return o;
}

bool none_tested(const std::vector<PortOutcome>& outcomes) {
  return !outcomes.empty() && std::all_of(outcomes.begin(), outcomes.end(), [](const auto& o) {
    return o.state == State::kUntested;
  });
}

std::vector<PortOutcome> tcp_outcomes(const PortSet& tested, const ProbeRun& run) {
  std::vector<PortOutcome> out;
  for (auto port : tested.ports()) {
    PortOutcome o{port, State::kFiltered, "no answer to the connection attempt", ""};
    if (const auto it = run.tcp.find(port); it != run.tcp.end()) {
      switch (it->second.kind) {
        case TcpResult::Kind::kEcho:
          o.state = State::kOpen;
          o.evidence = "natdiag's listener answered with the echo";
          break;
        case TcpResult::Kind::kConnected:
          o.state = State::kAnsweredByOther;
          o.evidence =
              "a connection opened, but not to natdiag's listener (" + it->second.detail + ")";
          break;
        case TcpResult::Kind::kRefused:
          o.state = State::kClosed;
          o.evidence = it->second.detail;
          break;
        case TcpResult::Kind::kUnreachable:
          o.state = State::kFiltered;
          o.evidence = it->second.detail;
          if (it->second.icmp) o.evidence += tcp_icmp_note(*it->second.icmp);
          break;
        case TcpResult::Kind::kNotSent:
          o.state = State::kUntested;
          o.evidence = it->second.detail;
          break;
        case TcpResult::Kind::kTimeout: break;
      }
    }
    out.push_back(std::move(o));
  }
  return out;
}

std::vector<PortOutcome> udp_outcomes(const PortSet& tested, const ProbeRun& run) {
  std::vector<PortOutcome> out;
  const std::string silence =
      "no echo after " + std::to_string(run.rounds) + " round" + (run.rounds == 1 ? "" : "s");
  for (auto port : tested.ports()) {
    PortOutcome o{port, State::kFiltered, silence, ""};
    if (const auto e = run.udp_echoed.find(port); e != run.udp_echoed.end()) {
      o.state = State::kOpen;
      o.evidence = "natdiag's listener answered with the echo";
    } else if (const auto u = run.udp_untested.find(port); u != run.udp_untested.end()) {
      o.state = State::kUntested;
      o.evidence = u->second.detail;
    } else if (const auto i = run.udp_icmp.find(port); i != run.udp_icmp.end()) {
      o = icmp_outcome(port, i->second, run.target);
    } else if (const auto x = run.udp_other.find(port); x != run.udp_other.end()) {
      o.state = State::kAnsweredByOther;
      o.evidence = x->second.detail + " came back";
    }
    out.push_back(std::move(o));
  }
  return out;
}

void run_listen(Listener& listener, TimePoint until, const std::atomic<bool>& stop,
                const std::function<void()>& tally) {
  auto next_tally = stun::Clock::now() + 1s;
  std::uint64_t last_count = listener.counters().accepted;
  auto last_change = stun::Clock::now();
  while (!stop.load()) {
    const auto now = stun::Clock::now();
    if (now >= until) break;
    listener.poll_until(std::min({until, now + 100ms, next_tally}));
    const auto after = stun::Clock::now();
    if (listener.counters().accepted != last_count) {
      last_count = listener.counters().accepted;
      last_change = after;
    }
    if (after >= next_tally) {
      if (tally) tally();
      next_tally = after + 1s;
    }
    const bool all = listener.udp_missing().empty() && listener.tcp_missing().empty() &&
                     listener.counters().accepted > 0;
    if (all && after - last_change >= kQuietAfterAll) break;
  }
}

std::vector<PortOutcome> listener_outcomes(const PortSet& tested,
                                           const std::map<std::uint16_t, Arrival>& seen,
                                           const std::map<std::uint16_t, std::string>& owners,
                                           const PortSet& held) {
  std::vector<PortOutcome> out;
  for (auto port : tested.ports()) {
    PortOutcome o{port, State::kFiltered, "no probe arrived", ""};
    if (held.contains(port)) {
      o.state = State::kInUse;
      o.evidence = "another program holds the port: not tested";
      const auto it = owners.find(port);
      o.owner = it == owners.end() ? "unknown process" : it->second;
    } else if (const auto it = seen.find(port); it != seen.end()) {
      o.state = State::kOpen;
      o.evidence = "natdiag's probe arrived from " + it->second.from.ip_string();
    }
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace natdiag::ports
