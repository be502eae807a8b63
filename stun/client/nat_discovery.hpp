// NAT behaviour discovery over real sockets (`natdiag nat`): RFC 5780 against one server that
// has OTHER-ADDRESS, or the multi-server method (one socket, several plain STUN servers,
// compare the mapped addresses) when there are two or more servers.
#pragma once

#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "stun/client/binding.hpp"
#include "stun/client/shared_bindings.hpp"
#include "stun/proto/rfc5780.hpp"

namespace natdiag::client {

using stun::rfc5780::Behaviour;

/// A server as given on the command line.
struct ServerTarget {
  std::string host;
  std::uint16_t port = 3478;
};

/// Settings of one discovery.
struct NatOptions {
  std::vector<ServerTarget> servers;  ///< one: RFC 5780; two or more: multi-server
  net::FamilyPreference family = net::FamilyPreference::kAny;
  Transport transport = Transport::kUdp;  ///< kTcp: the TCP mapping test
  Duration timeout = std::chrono::seconds(3);
  /// Test sockets bind in this range, away from the media ranges a router may forward to
  /// this host (a forwarded port sees endpoint-independent filtering whatever the NAT does).
  /// The range is split: mapping (and recheck) sockets take its lower part, the filtering
  /// socket its upper part (see mapping_ports()). At least three ports.
  std::uint16_t local_port_first = 40000;
  std::uint16_t local_port_last = 49151;

  /// The lower part of the range, for sockets whose flows go to several server addresses.
  /// A filtering socket never gets a port an earlier run mapped: a NAT keeps that run's flow
  /// to A2:P2 for 30 s and more, and would let filtering test II's answer in through it.
  [[nodiscard]] std::pair<std::uint16_t, std::uint16_t> mapping_ports() const noexcept {
    const std::uint32_t span = std::uint32_t{local_port_last} - local_port_first + 1U;
    return {local_port_first, static_cast<std::uint16_t>(local_port_first + (span + 1U) / 2U - 1U)};
  }
  /// The upper part, for the filtering socket (its flows go to A1:P1 only).
  [[nodiscard]] std::pair<std::uint16_t, std::uint16_t> filtering_ports() const noexcept {
    return {static_cast<std::uint16_t>(mapping_ports().second + 1U), local_port_last};
  }
  std::optional<TransportAddress> local_ip;
  stun::rfc5780::Timing timing;
  /// Set: the TCP check (UDP blocked or server down?) asks this instead of a binding of its own.
  SharedBindings* shared = nullptr;
};

/// One server as used.
struct ServerUsed {
  std::string host;
  std::optional<TransportAddress> address;
  std::optional<TransportAddress> mapped;  ///< multi-server and TCP methods
  std::optional<Duration> rtt;
  int transmissions = 0;  ///< multi-server method: requests sent to this server
  bool port_unreachable = false;  ///< multi-server method: ICMP port unreachable came back
  std::string error;
};

/// One RFC 5780 test as run, for the report.
struct TestObservation {
  std::string name;
  std::string socket;  ///< "mapping" or "filtering"
  std::optional<TransportAddress> destination;  ///< nullopt when the test did not run
  bool change_ip = false;
  bool change_port = false;
  std::optional<std::uint16_t> response_port;  ///< RESPONSE-PORT sent (server checks)
  int transmissions = 0;
  /// "answered", "silent", "cut-short" (the time given ended the window), "port-unreachable",
  /// "not-run"
  std::string result;
  std::optional<TransportAddress> mapped;
  std::optional<TransportAddress> source;
  std::optional<Duration> rtt;
  std::string note;
};

/// The whole report.
struct NatReport {
  /// "rfc5780", "binding" (one server without OTHER-ADDRESS), "multi-server" or "tcp"
  std::string method;
  Behaviour mapping = Behaviour::kUnknown;
  Behaviour filtering = Behaviour::kUnknown;
  /// The behaviours the evidence leaves open (one when decided, e.g. two when the servers
  /// could not tell address-dependent from address-and-port-dependent; empty: nothing known).
  std::vector<Behaviour> mapping_candidates;
  std::vector<Behaviour> filtering_candidates;
  Behaviour firewall_filtering = Behaviour::kUnknown;  ///< with no NAT
  std::optional<bool> port_preservation;
  std::optional<TransportAddress> public_address;
  std::optional<TransportAddress> local_mapping;
  std::optional<TransportAddress> local_filtering;
  std::optional<TransportAddress> local_recheck;  ///< bound only when a changed mapping was rechecked
  bool udp_blocked = false;
  /// ICMP port unreachable came back and no answer: nothing listens on UDP at the server.
  bool port_unreachable = false;
  std::optional<TransportAddress> icmp_from;  ///< who sent the ICMP error
  /// The server proved it answers CHANGE-REQUEST from its other address (RFC 5780 method,
  /// endpoint-independent mapping only); nullopt when that could not be checked.
  std::optional<bool> server_change_request_verified;
  std::optional<bool> tcp_works;  ///< set when UDP got no answer: TCP to the same server
  stun::rfc5780::UnknownWhy mapping_unknown = stun::rfc5780::UnknownWhy::kNone;  ///< why unknown
  std::string mapping_reason;
  std::string filtering_reason;
  std::vector<ServerUsed> servers;
  std::vector<TestObservation> tests;
  net::PacketCounters ignored;
  Duration elapsed{};
  std::string error;  ///< the discovery could not start (resolution, no server)
};

/// The shortest --timeout a verdict can come from: two round trips, a silence window of at
/// least 250 ms and the server check's 500 ms (a longer path or loss needs more).
inline constexpr Duration kMinNatTimeout = std::chrono::seconds(1);

/// Runs the discovery. Throws net::SocketError when no test socket can be bound.
[[nodiscard]] NatReport run_nat_discovery(const NatOptions& options);

/// The local IP the routing table picks to reach `destination` (no packet is sent).
[[nodiscard]] std::optional<TransportAddress> route_source(const TransportAddress& destination);

}  // namespace natdiag::client
