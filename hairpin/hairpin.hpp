// `natdiag hairpin EXTERNAL_IP` as a library call: run every check concurrently within one
// timeout, gather the local facts, and hand back one report for the text or JSON formatter.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "hairpin/advice.hpp"
#include "hairpin/checks.hpp"
#include "hairpin/local_facts.hpp"
#include "hairpin/udp_probe.hpp"
#include "stun/net/endpoint.hpp"

namespace natdiag::hairpin {

/// How many free media ports the UDP check samples when --udp is not given.
inline constexpr int kDefaultUdpSamples = 3;

/// Everything one run needs.
struct HairpinOptions {
  TransportAddress external_ip;  ///< port ignored
  std::vector<std::uint16_t> tcp_ports{443, 80};
  std::vector<std::uint16_t> udp_ports;        ///< empty: sample free ports in the media range
  /// Where to sample when udp_ports is empty: the UDP ranges the router forwards to this host
  /// (profile: its --for servers' media ranges); empty: kMediaPortFirst-kMediaPortLast.
  std::vector<std::pair<std::uint16_t, std::uint16_t>> udp_sample_ranges;
  std::optional<StunTarget> stun;              ///< the RFC 5780 §4.5 mapping check
  std::optional<std::string> hostname;         ///< checked against /etc/hosts and the resolver
  Duration timeout = std::chrono::seconds(2);  ///< for everything, checks run concurrently
  /// This host's public address as measured before (profile: its STUN binding); the mapping
  /// check measures it too. When EXTERNAL_IP differs, no dummy-NIC command is given for it.
  std::optional<TransportAddress> measured_public;
  /// A round trip measured before through the same router (profile: its STUN RTT): the UDP
  /// checks may derive their silence window from it before a TCP check measures the path.
  std::optional<Duration> rtt_hint;
  std::filesystem::path root = "/";  ///< where /etc and /run are read (tests: a fake tree)
};

/// What one run found and what to do about it.
struct HairpinReport {
  TransportAddress external_ip;
  std::vector<CheckResult> checks;  ///< TCP ports, UDP ports, then the mapping check
  bool udp_ports_sampled = false;
  LocalAddressFacts local;
  StackFacts stack;
  std::optional<bool> persisted;  ///< EXTERNAL_IP in the stack's configuration (when local)
  std::optional<HostnameFacts> hostname;
  /// This host's public address of EXTERNAL_IP's family as measured (given, or by the mapping
  /// check); nullopt when nothing measured it.
  std::optional<TransportAddress> measured_public;
  Verdict verdict = Verdict::kInconclusive;
  std::optional<bool> dummy_nic_needed;
  DummyNicPlan plan;
  std::vector<Advice> advice;
  std::string headline;
  Health health = Health::kProblem;
  Duration elapsed{};
  /// EXTERNAL_IP is not the public address measured for this host.
  [[nodiscard]] bool not_this_host() const noexcept {
    return measured_public && !measured_public->same_ip(external_ip);
  }
  /// EXTERNAL_IP is private (or CGNAT, link-local) and not on this host: it cannot be the
  /// router's public address, and it may be a LAN neighbour's.
  [[nodiscard]] bool private_target() const noexcept {
    return net::is_private_or_local(external_ip) && !local.on_interface;
  }
};

/// Runs the checks and builds the report. Throws net::SocketError only when nothing at all can
/// be set up (no socket); per-check failures are in the report.
[[nodiscard]] HairpinReport run_hairpin(const HairpinOptions& options);

}  // namespace natdiag::hairpin
