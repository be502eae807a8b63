// The listening side: one UDP socket and one TCP listener per port to test (dual-stack where
// the host has IPv6), all on one epoll set. Each authenticated probe that arrives is recorded
// and answered with its echo; anything else is counted and ignored.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "src/ports/port_set.hpp"
#include "src/ports/wire.hpp"
#include "stun/net/socket.hpp"
#include "stun/proto/retransmit.hpp"

namespace natdiag::ports {

using net::TransportAddress;
using stun::TimePoint;

/// Not enough file descriptors for one socket per port, even after raising RLIMIT_NOFILE.
class DescriptorLimitError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Raises RLIMIT_NOFILE so that `needed` more descriptors fit (the hard limit too, when
/// allowed). Throws DescriptorLimitError naming both numbers when it cannot.
void ensure_descriptors(std::size_t needed);
/// The sockets one listener can hold here without raising the hard RLIMIT_NOFILE.
[[nodiscard]] std::size_t descriptor_budget();

/// The first authenticated probe seen on a port.
struct Arrival {
  TransportAddress from;
  TimePoint at;
};

/// Probes that arrived and were not believed.
struct ListenerCounters {
  std::uint64_t accepted = 0;         ///< authenticated probes (all, repeats included)
  std::uint64_t unauthenticated = 0;  ///< wrong size, magic or tag
  std::uint64_t misdirected = 0;      ///< authenticated, but aimed at another port
};

/// Listeners on every port of `tcp` and `udp`. Ports another program holds are left out and
/// reported in held_tcp()/held_udp().
class Listener {
 public:
  /// Binds everything. Throws SocketError for failures other than "port in use", and
  /// DescriptorLimitError when the sockets cannot fit.
  /// `echo_udp` false: UDP probes are recorded, not answered (--via: serve needs no echo, and
  /// a NAT then keeps no answered state for 10,000 ports).
  Listener(const PortSet& tcp, const PortSet& udp, const Key& key, bool echo_udp = true);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  /// Handles arrivals until `until` (returns early when `stop_when_all` and every port has
  /// been seen).
  void poll_until(TimePoint until, bool stop_when_all = false);

  [[nodiscard]] const PortSet& held_tcp() const noexcept { return held_tcp_; }
  [[nodiscard]] const PortSet& held_udp() const noexcept { return held_udp_; }
  [[nodiscard]] const PortSet& listening_tcp() const noexcept { return listening_tcp_; }
  [[nodiscard]] const PortSet& listening_udp() const noexcept { return listening_udp_; }
  [[nodiscard]] const std::map<std::uint16_t, Arrival>& tcp_arrivals() const noexcept {
    return tcp_seen_;
  }
  [[nodiscard]] const std::map<std::uint16_t, Arrival>& udp_arrivals() const noexcept {
    return udp_seen_;
  }
  /// UDP ports listened on where no probe arrived yet.
  [[nodiscard]] PortSet udp_missing() const;
  [[nodiscard]] PortSet tcp_missing() const;
  [[nodiscard]] const ListenerCounters& counters() const noexcept { return counters_; }
  /// True when the sockets are dual-stack (IPv6 and IPv4); false: IPv4 only.
  [[nodiscard]] bool dual_stack() const noexcept { return dual_stack_; }

 private:
  struct Connection;
  void on_udp(std::size_t index);
  void on_accept(std::size_t index);
  void on_connection(int fd);
  void record(std::map<std::uint16_t, Arrival>& seen, std::uint16_t port,
              const TransportAddress& from);
  void expire_connections(TimePoint now);

  Key key_;
  bool echo_udp_ = true;
  bool dual_stack_ = true;
  net::FileDescriptor epoll_;
  std::vector<std::pair<std::uint16_t, net::FileDescriptor>> udp_;
  std::vector<std::pair<std::uint16_t, net::FileDescriptor>> tcp_;
  std::map<int, std::unique_ptr<Connection>> connections_;
  PortSet held_tcp_, held_udp_, listening_tcp_, listening_udp_;
  std::map<std::uint16_t, Arrival> tcp_seen_, udp_seen_;
  ListenerCounters counters_;
};

}  // namespace natdiag::ports
