#include "hairpin/hairpin.hpp"

#include <algorithm>
#include <exception>
#include <functional>
#include <thread>

#include "hairpin/tcp_probe.hpp"
#include "stun/net/socket.hpp"

namespace natdiag::hairpin {
namespace {

/// Runs one check on its own thread; an exception becomes an inconclusive result instead of
/// reaching std::terminate.
CheckResult guarded(const std::function<CheckResult()>& check, Protocol protocol,
                    std::uint16_t port) {
  try {
    return check();
  } catch (const net::SocketError& e) {
    CheckResult r = check_for(protocol, port);
    r.setup_failed = true;
    r.setup_error = e.error_number();
    r.detail = std::string("could not set up the check here: ") + e.what();
    r.why = "A socket the check needs could not be opened, bound or connected on this host.";
    return r;
  } catch (const std::exception& e) {
    CheckResult r = check_for(protocol, port);
    r.detail = std::string("the check failed: ") + e.what();
    return r;
  }
}

/// A probe that came back from EXTERNAL_IP itself never left this host.
void note_local_path(CheckResult& c, const LocalAddressFacts& local,
                     const TransportAddress& external_ip) {
  if (!local.on_interface || c.result != Result::kSupported || c.method == Method::kStunMapping)
    return;
  c.detail +=
      "; locally, as " + external_ip.ip_string() + " is on " + local.on_interface->interface;
  c.why += " The connection never left this host: " + external_ip.ip_string() + " is on " +
           local.on_interface->interface + ", so the router's hairpin NAT was not involved.";
}

}  // namespace

HairpinReport run_hairpin(const HairpinOptions& options) {
  const auto start = stun::Clock::now();
  const auto deadline = start + options.timeout;
  HairpinReport report;
  report.external_ip = options.external_ip;
  report.external_ip.port = 0;
  report.local = find_external_ip(report.external_ip);
  report.stack = detect_network_stack(options.root);

  std::vector<std::uint16_t> udp_ports = options.udp_ports;
  if (udp_ports.empty()) {
    auto ranges = options.udp_sample_ranges;
    if (ranges.empty()) ranges.emplace_back(kMediaPortFirst, kMediaPortLast);
    // One port per range in turn, so every range the caller named is tried.
    for (int i = 0; i < kDefaultUdpSamples; ++i) {
      const auto& [first, last] = ranges[static_cast<std::size_t>(i) % ranges.size()];
      for (auto port : sample_free_udp_ports(report.external_ip.family, 1, first, last)) {
        if (std::find(udp_ports.begin(), udp_ports.end(), port) == udp_ports.end()) udp_ports.push_back(port);
      }
    }
    report.udp_ports_sampled = true;
  }
  PathRtt rtt(options.rtt_hint);
  const TcpProbeOptions tcp{report.external_ip, deadline, options.hostname.value_or(""), &rtt};
  const UdpProbeOptions udp{report.external_ip, deadline, &rtt};

  // One thread per check: each waits on its own sockets, and all share one deadline.
  std::vector<std::function<CheckResult()>> jobs;
  for (auto port : options.tcp_ports) {
    jobs.emplace_back(
        [=] { return guarded([&] { return tcp_check(port, tcp); }, Protocol::kTcp, port); });
  }
  const bool sampled = report.udp_ports_sampled;
  for (auto port : udp_ports) {
    jobs.emplace_back([=] {
      auto r = guarded([&] { return udp_check(port, udp); }, Protocol::kUdp, port);
      if (sampled) not_known_forwarded(r);
      return r;
    });
  }
  if (options.stun) {
    const StunTarget server = *options.stun;
    jobs.emplace_back([=] {
      auto r = guarded([&] { return stun_mapping_check(server, udp); }, Protocol::kUdp, 0);
      r.method = Method::kStunMapping;
      r.decides_verdict = false;
      return r;
    });
  }
  report.checks.resize(jobs.size());
  std::vector<std::thread> threads;
  threads.reserve(jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    threads.emplace_back([&, i] { report.checks[i] = jobs[i](); });
  }
  if (options.hostname)
    report.hostname = check_hostname(*options.hostname, report.external_ip, options.root, deadline);
  for (auto& t : threads) t.join();

  for (auto& c : report.checks) note_local_path(c, report.local, report.external_ip);
  report.measured_public = options.measured_public;
  for (const auto& c : report.checks) {
    if (!report.measured_public && c.mapped && c.mapped->family == report.external_ip.family)
      report.measured_public = c.mapped;
  }
  if (report.measured_public) report.measured_public->port = 0;
  if (report.local.dummy_nic())
    report.persisted = address_persisted(options.root, report.stack.stack, report.external_ip);
  report.verdict = overall_verdict(report.checks, report.local);
  report.dummy_nic_needed = dummy_nic_needed(report.verdict, report.local);
  // Never a dummy-NIC command for an address that is not this host's: that would hijack
  // someone else's address on this host (e.g. the STUN server's).
  if (report.not_this_host() || report.private_target()) {
    report.dummy_nic_needed = std::nullopt;
  } else {
    report.plan = dummy_nic_plan(report.external_ip, report.stack.stack);
  }
  report.advice = make_advice({report.external_ip, report.verdict, report.checks, report.local,
                               report.stack, report.persisted, report.hostname,
                               report.measured_public});
  report.headline = headline(report.verdict, report.external_ip, report.local);
  if (report.not_this_host()) {
    report.headline = not_this_host_headline(report.external_ip, *report.measured_public);
  } else if (report.private_target()) {
    report.headline = private_target_headline(report.external_ip);
  }
  report.health = assess(report.checks, report.verdict, report.local);
  report.elapsed = std::chrono::duration_cast<Duration>(stun::Clock::now() - start);
  return report;
}

}  // namespace natdiag::hairpin
