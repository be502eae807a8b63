#include "ice/diagnose.hpp"

#include <future>

#include "stun/client/binding.hpp"

namespace natdiag::ice {
namespace {

using stun::Clock;

/// Name resolution gets a share of the budget, not all of it: gathering still needs time.
constexpr auto kResolveBound = std::chrono::seconds(2);

AddressFamilies families_of(net::FamilyPreference f) noexcept {
  switch (f) {
    case net::FamilyPreference::kIPv4Only: return AddressFamilies::kIPv4Only;
    case net::FamilyPreference::kIPv6Only: return AddressFamilies::kIPv6Only;
    case net::FamilyPreference::kAny: break;
  }
  return AddressFamilies::kAny;
}

client::BindingReport binding_probe(const TransportAddress& server, client::Transport transport,
                                    Duration timeout, bool rfc3489, client::SharedBindings* shared) {
  client::BindingOptions b;
  b.host = server.ip_string();
  b.port = server.port;
  b.transport = transport;
  b.timeout = timeout;
  b.rfc3489 = rfc3489;
  // Asked as libnice asks in that form: its first RTO, so as many tries in the same time.
  if (rfc3489) b.policy.initial_rto = kStunInitialTimeout;
  try {
    if (shared != nullptr && !rfc3489) return shared->get(b).get();
    return client::run_binding_test(b);
  } catch (const std::exception& e) {
    client::BindingReport failed;
    failed.error = e.what();
    return failed;
  }
}

client::TurnProbeReport turn_probe(const IceServer& server, const TransportAddress& address,
                                   Duration timeout) {
  client::TurnProbeOptions p;
  p.host = server.host;
  p.port = server.port;
  p.transport = server.transport;
  p.server = address;
  p.credentials = server.credentials;
  p.timeout = timeout;
  try {
    return client::probe_turn_allocate(p);
  } catch (const std::exception& e) {
    client::TurnProbeReport failed;
    failed.server = address;
    failed.detail = std::string("the probe could not run: ") + e.what();
    return failed;
  }
}

std::string first_error(const client::BindingReport& r) {
  if (!r.error.empty()) return r.error;
  for (const auto& a : r.attempts) {
    if (!a.error.empty()) return a.error;
  }
  return "no answer";
}

}  // namespace

IceReport run_ice(const IceOptions& options) {
  IceReport report;
  GatherOptions gather;
  gather.ice_tcp = options.ice_tcp;
  gather.relay_only = options.relay_only;
  gather.families = families_of(options.family);
  gather.timeout = options.timeout;
  gather.check = options.check;
  gather.check_timeout = options.timeout;

  const auto resolve_by = Clock::now() + std::min<Duration>(options.timeout, kResolveBound);
  auto resolve = [&](const IceServer& s, std::optional<TransportAddress>& out, std::string& error) {
    const auto r = net::resolve(s.host, s.port, options.family, resolve_by);
    if (r.addresses.empty()) {
      error = r.error;
    } else {
      out = r.addresses.front();
    }
  };
  for (const auto& s : options.stun) {
    StunServerReport sr;
    sr.uri = s.uri;
    resolve(s, sr.address, sr.resolve_error);
    if (sr.address && !options.relay_only) gather.stun.push_back({s.uri, *sr.address});
    report.stun.push_back(std::move(sr));
  }
  for (const auto& t : options.turn) {
    TurnServerReport tr;
    tr.uri = t.uri;
    tr.transport = t.transport;
    std::string error;
    resolve(t, tr.address, error);
    if (tr.address) {
      gather.turn.push_back({t.uri, *tr.address, t.transport, t.credentials});
    } else {
      tr.probe.verdict = client::TurnVerdict::kUnreachable;
      tr.probe.detail = error;
    }
    report.turn.push_back(std::move(tr));
  }

  // natdiag's own probes run beside libnice, on their own sockets, within the same timeout.
  struct StunProbes {
    std::future<client::BindingReport> udp;
    std::future<client::BindingReport> tcp;
    std::future<client::BindingReport> rfc3489;
  };
  std::vector<StunProbes> stun_probes(report.stun.size());
  for (std::size_t i = 0; i < report.stun.size(); ++i) {
    const auto& address = report.stun[i].address;
    if (!address || options.relay_only) continue;
    stun_probes[i].udp = std::async(std::launch::async, binding_probe, *address,
                                    client::Transport::kUdp, options.timeout, false, options.shared);
    stun_probes[i].tcp = std::async(std::launch::async, binding_probe, *address,
                                    client::Transport::kTcp, options.timeout, false, options.shared);
    // Silence is waited for as long as libnice itself waits: would libnice get an answer?
    const Duration libnice_wait = std::min<Duration>(
        options.timeout,
        libnice_give_up(kStunInitialTimeout, libnice_transmissions_for(options.timeout, 99)) +
            kGiveUpSlack);
    // Never shared: no other part of a run asks in RFC 3489 form.
    stun_probes[i].rfc3489 = std::async(std::launch::async, binding_probe, *address,
                                        client::Transport::kUdp, libnice_wait, true, nullptr);
  }
  std::vector<std::future<client::TurnProbeReport>> turn_probes(report.turn.size());
  for (std::size_t i = 0; i < report.turn.size(); ++i) {
    if (!report.turn[i].address) continue;
    turn_probes[i] = std::async(std::launch::async, turn_probe, options.turn[i],
                                *report.turn[i].address, options.timeout);
  }

  report.gather = gather_candidates(gather);
  auto gathered_at = [&](const std::string& uri) -> std::optional<Duration> {
    for (const auto& a : report.gather.agents) {
      if (a.server == uri && a.done) return a.elapsed;
    }
    return std::nullopt;
  };

  for (std::size_t i = 0; i < report.stun.size(); ++i) {
    auto& sr = report.stun[i];
    sr.gathered = gathered_at(sr.uri);
    for (const auto& c : report.gather.candidates) {
      if (c.type == CandidateType::kServerReflexive && c.server == sr.uri)
        sr.srflx.push_back(c.address);
    }
    if (!stun_probes[i].udp.valid()) continue;
    sr.probed = true;
    const auto udp = stun_probes[i].udp.get();
    if (const auto* ok = udp.last_success()) {
      sr.udp_mapped = ok->facts.mapped;
    } else {
      sr.udp_error = first_error(udp);
      if (!udp.attempts.empty()) sr.udp_failure = udp.attempts.back().failure;
    }
    sr.tcp_answered = stun_probes[i].tcp.get().success();
    sr.rfc3489_answered = stun_probes[i].rfc3489.get().success();
  }
  for (std::size_t i = 0; i < report.turn.size(); ++i) {
    auto& tr = report.turn[i];
    tr.gathered = gathered_at(tr.uri);
    for (const auto& c : report.gather.candidates) {
      if (c.type == CandidateType::kRelayed && c.server == tr.uri) tr.relays.push_back(c.address);
    }
    if (turn_probes[i].valid()) tr.probe = turn_probes[i].get();
  }
  report.warnings = ice_warnings(report, options);
  report.healthy = ice_healthy(report, options);
  return report;
}

}  // namespace natdiag::ice
