// What one hairpin check found: the per-port verdicts of `natdiag hairpin` (design.md: result
// is supported / not-supported / inconclusive / skipped, with a detail for people).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "stun/proto/retransmit.hpp"
#include "stun/proto/types.hpp"

namespace natdiag::hairpin {

using stun::Duration;
using stun::TimePoint;
using stun::TransportAddress;

/// The transport a check used.
enum class Protocol : std::uint8_t { kTcp, kUdp };

/// The verdict of one check.
enum class Result : std::uint8_t {
  kSupported,     ///< proven: the probe sent to EXTERNAL_IP came back to this host
  kNotSupported,  ///< proven: it did not (refused, silent, or another machine answered)
  kInconclusive,  ///< the check ran and could not decide; `detail` says why
  kSkipped,       ///< the check did not run (busy port, no NAT in the way)
};

/// How a check decided.
enum class Method : std::uint8_t {
  kNone,
  kNonce,           ///< natdiag listened itself and recognised its own random nonce
  kTlsCertificate,  ///< a local service owns the port: same certificate via both paths?
  kResponseBytes,   ///< a local service owns the port: same response via both paths?
  kStunMapping,     ///< RFC 5780 §4.5 style: a nonce sent to the STUN-mapped address
};

[[nodiscard]] std::string_view protocol_name(Protocol protocol) noexcept;  ///< "tcp", "udp"
[[nodiscard]] std::string_view result_name(Result result) noexcept;        ///< "not-supported", ...
[[nodiscard]] std::string_view method_name(Method method) noexcept;  ///< "tls-certificate", ...

/// One check on one protocol and port.
struct CheckResult {
  Protocol protocol = Protocol::kTcp;
  std::uint16_t port = 0;
  Result result = Result::kInconclusive;
  Method method = Method::kNone;
  std::string detail;                             ///< one line: what was seen
  std::string why;                                ///< for --explain: why that means this verdict
  std::optional<TransportAddress> returned_from;  ///< source of the probe that came back
  /// Nothing could be set up here (bind or listen refused for a reason other than a busy
  /// port): when every check ends like this the command could not run (exit 3).
  bool setup_failed = false;
  int setup_error = 0;  ///< the errno behind setup_failed (EACCES: a port below 1024 without root)
  /// The STUN-mapping check: the address the STUN server saw for the mapped socket (this
  /// host's measured public address).
  std::optional<TransportAddress> mapped;
  /// False for the STUN-mapping check: it describes how the NAT treats mappings, not whether
  /// this host reaches its forwarded ports, so it does not decide the dummy NIC.
  bool decides_verdict = true;
};

/// The shortest round trip seen on the path to EXTERNAL_IP (a TCP connect or refusal, an ICMP
/// error, a hairpinned datagram), shared by the checks that run at once. Thread-safe.
class PathRtt {
 public:
  PathRtt() = default;
  /// Starts from an RTT measured before (e.g. profile's STUN RTT through the same router).
  explicit PathRtt(std::optional<Duration> hint) {
    if (hint) record(*hint);
  }
  /// Keeps `rtt` if it is the shortest so far.
  void record(Duration rtt) noexcept;
  /// The shortest round trip seen, if any.
  [[nodiscard]] std::optional<Duration> shortest() const noexcept;

 private:
  std::atomic<std::int64_t> micros_{-1};
};

/// Shortest silence a check waits before calling a datagram lost (as nat's RFC 5780 tests).
inline constexpr Duration kSilenceFloor = std::chrono::milliseconds(250);
/// Silence window in round trips.
inline constexpr int kSilenceRttFactor = 6;

/// How long a check that expects an echo waits once the path RTT is known:
/// max(kSilenceFloor, kSilenceRttFactor x RTT); nullopt (wait for the deadline) when no RTT.
[[nodiscard]] std::optional<Duration> silence_window(std::optional<Duration> rtt) noexcept;

/// A fresh, still inconclusive result for one protocol and port.
[[nodiscard]] CheckResult check_for(Protocol protocol, std::uint16_t port);

/// 16 random bytes as 32 hex digits (OpenSSL RAND_bytes): what only this process can know.
[[nodiscard]] std::string random_nonce();

/// "0.42 s" for people.
[[nodiscard]] std::string format_seconds(Duration d);

}  // namespace natdiag::hairpin
