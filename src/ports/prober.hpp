// The sending side: UDP probes to many ports from one socket, paced, with ICMP errors read
// from the socket's error queue; TCP connects carrying the probe, in parallel. Used by
// `ports probe` and by serve's probe-back service.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "src/ports/wire.hpp"
#include "stun/net/socket.hpp"
#include "stun/proto/retransmit.hpp"

namespace natdiag::ports {

using net::TransportAddress;
using stun::TimePoint;

/// Spaces sends to `rate` packets per second in bursts of at most `burst` (sans-I/O: the
/// caller passes the time).
class Pacer {
 public:
  Pacer(double rate, std::size_t burst) noexcept;
  /// How many packets may go now (0: wait until next_time()).
  [[nodiscard]] std::size_t allowance(TimePoint now) noexcept;
  /// Records that `count` packets went at `now`.
  void sent(std::size_t count, TimePoint now) noexcept;
  /// When the next packet may go.
  [[nodiscard]] TimePoint next_time() const noexcept { return next_; }

 private:
  double rate_;
  std::size_t burst_;
  TimePoint next_{};
};

/// An ICMP error as the kernel reported it (RFC 792 / RFC 4443 type and code).
struct IcmpError {
  std::uint8_t type = 0;
  std::uint8_t code = 0;
  bool v6 = false;
};

/// What an ICMP error says about the probed port.
enum class IcmpMeaning : std::uint8_t {
  kPortUnreachable,  ///< ICMPv4 3/3, ICMPv6 1/4: nothing listens (when the target sent it)
  kProhibited,       ///< ICMPv4 3/9, 3/10, 3/13, ICMPv6 1/1: a firewall rejected the probe
  kOther,            ///< host/net unreachable, time exceeded, ...: the path, not the port
};

/// The meaning of `icmp`.
[[nodiscard]] IcmpMeaning icmp_meaning(const IcmpError& icmp) noexcept;
/// "ICMP port unreachable", "ICMPv6 administratively prohibited", "ICMP type 11 code 0".
[[nodiscard]] std::string icmp_text(const IcmpError& icmp);
/// The inverse of icmp_text for the port-unreachable and prohibited texts (a peer that sent
/// no type and code); kOther for anything else.
[[nodiscard]] IcmpMeaning icmp_meaning_of_text(std::string_view text) noexcept;

/// What came back from the target for one UDP port.
struct UdpReply {
  TransportAddress from;
  std::string detail;               ///< for ICMP: "ICMP port unreachable"
  std::optional<IcmpError> icmp{};  ///< set for ICMP errors
};

/// Sends authenticated UDP probes to one IP and collects what comes back.
class UdpProber {
 public:
  /// A socket of `target`'s family (bound to `local` when given). Throws SocketError.
  UdpProber(const TransportAddress& target, const Key& key, std::uint64_t session, double rate,
            const std::optional<TransportAddress>& local = std::nullopt);

  /// Sends one probe to each port (sequence = `round`), paced; handles replies meanwhile.
  /// Stops early at `deadline`. Returns the number sent.
  std::size_t send_round(const std::vector<std::uint16_t>& ports, std::uint32_t round,
                         TimePoint deadline);
  /// Handles replies until `until`.
  void drain_until(TimePoint until);

  /// Authenticated echoes (ports where natdiag's listener answered).
  [[nodiscard]] const std::map<std::uint16_t, UdpReply>& echoed() const noexcept { return echoed_; }
  /// ICMP port unreachable (or another ICMP error) for a port, and who sent it (never this
  /// host itself: that is in untested()).
  [[nodiscard]] const std::map<std::uint16_t, UdpReply>& icmp() const noexcept { return icmp_; }
  /// Ports whose probe never left this host, and why: every send failed here (no route,
  /// EPERM from this host's firewall, ENOBUFS after retries), or this host itself answered
  /// with an ICMP error. Such ports were not tested.
  [[nodiscard]] const std::map<std::uint16_t, UdpReply>& untested() const noexcept {
    return untested_;
  }
  /// Datagrams from the target's port that are not an authenticated echo.
  [[nodiscard]] const std::map<std::uint16_t, UdpReply>& other() const noexcept { return other_; }
  [[nodiscard]] std::uint64_t sent() const noexcept { return sent_; }
  /// Records every port of `ports` no probe went to (the time ran out first) as untested.
  void mark_unsent(const std::vector<std::uint16_t>& ports);
  [[nodiscard]] TransportAddress local_address() const { return socket_.local_address(); }

 private:
  void receive_pending();
  void receive_errors();

  TransportAddress target_;
  Key key_;
  std::uint64_t session_;
  Pacer pacer_;
  net::UdpSocket socket_;
  std::optional<TransportAddress> source_;  ///< this host's address towards the target
  std::uint64_t sent_ = 0;
  std::vector<bool> sent_ports_ = std::vector<bool>(65536);
  std::map<std::uint16_t, UdpReply> echoed_, icmp_, other_, untested_;
};

/// What one TCP connection carrying a probe showed.
struct TcpResult {
  enum class Kind : std::uint8_t {
    kEcho,         ///< natdiag's listener answered with the authenticated echo
    kConnected,    ///< a connection opened, but no authenticated echo came back
    kRefused,      ///< TCP RST, or ICMP port unreachable from the target itself
    kUnreachable,  ///< another ICMP error (prohibited, host/net unreachable): the path
    kTimeout,      ///< no answer to the SYNs
    kNotSent,      ///< the attempt failed on this host (no route, EPERM): not tested
  };
  Kind kind = Kind::kTimeout;
  std::string detail;
  std::optional<IcmpError> icmp{};  ///< the ICMP error behind kRefused / kUnreachable, if any
};

/// "echo", "connected", "refused", "unreachable", "timeout", "not-sent".
[[nodiscard]] std::string_view tcp_kind_name(TcpResult::Kind kind) noexcept;
/// The inverse of tcp_kind_name; kTimeout for anything else.
[[nodiscard]] TcpResult::Kind tcp_kind_from_name(std::string_view name) noexcept;

/// Connects to every port of `target`'s IP at once, sends the probe and waits for the echo,
/// all before `deadline`.
[[nodiscard]] std::map<std::uint16_t, TcpResult> probe_tcp(
    const TransportAddress& target, const std::vector<std::uint16_t>& ports, const Key& key,
    std::uint64_t session, TimePoint deadline,
    const std::optional<TransportAddress>& local = std::nullopt);

}  // namespace natdiag::ports
