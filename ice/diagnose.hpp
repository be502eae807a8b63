// `natdiag ice` without the command line: resolve the servers, gather through libnice, and,
// at the same time, ask every server directly with natdiag's own STUN/TURN client, because
// libnice says nothing about why a server gave no candidate. Then the warnings, in plain words.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ice/gatherer.hpp"
#include "stun/client/shared_bindings.hpp"
#include "stun/client/turn.hpp"
#include "stun/net/resolver.hpp"

namespace natdiag::ice {

/// A STUN or TURN server as configured, before name resolution.
struct IceServer {
  std::string uri;  ///< as written ("stun:203.0.113.10", "turn:turn.example.org?transport=tcp")
  std::string host;
  std::uint16_t port = 3478;
  client::Transport transport = client::Transport::kUdp;
  client::TurnCredentials credentials;  ///< TURN only
};

/// What `natdiag ice` was asked to do.
struct IceOptions {
  std::vector<IceServer> stun;
  std::vector<IceServer> turn;
  bool ice_tcp = false;
  bool relay_only = false;
  bool check = false;
  net::FamilyPreference family = net::FamilyPreference::kAny;
  Duration timeout = std::chrono::seconds(5);
  /// Set: the diagnostic Binding probes share the tests the caller already runs.
  client::SharedBindings* shared = nullptr;
};

/// One STUN server: what libnice got from it, and what natdiag's own Binding requests saw.
struct StunServerReport {
  std::string uri;
  std::optional<TransportAddress> address;  ///< resolved
  std::string resolve_error;
  std::vector<TransportAddress> srflx;         ///< srflx candidates libnice gathered from it
  std::optional<Duration> gathered;            ///< when its agent said candidate-gathering-done
  bool probed = false;                         ///< natdiag's own Binding requests ran
  std::optional<TransportAddress> udp_mapped;  ///< Binding over UDP answered with this
  std::string udp_error;
  client::Failure udp_failure = client::Failure::kNone;  ///< how the UDP Binding failed
  std::optional<bool> tcp_answered;  ///< Binding over TCP (UDP blocked or server down?)
  /// A cookie-less RFC 3489 Binding over UDP, the form libnice before 0.1.23 sends for srflx
  /// discovery, was answered (coturn's no-stun-backward-compatibility drops it).
  std::optional<bool> rfc3489_answered;
};

/// The STUN server answers RFC 5389 Bindings but drops RFC 3489 (classic STUN) ones: libnice
/// before 0.1.23 gets no srflx from it.
[[nodiscard]] bool refuses_classic_stun(const StunServerReport& stun) noexcept;

/// One TURN server: what libnice got from it, and natdiag's own Allocate probe.
struct TurnServerReport {
  std::string uri;
  client::Transport transport = client::Transport::kUdp;
  std::optional<TransportAddress> address;
  std::vector<TransportAddress> relays;  ///< relay candidates libnice gathered from it
  std::optional<Duration> gathered;      ///< when its agent said candidate-gathering-done
  client::TurnProbeReport probe;

  /// "ok" when libnice got a relay, else what the probe found.
  [[nodiscard]] client::TurnVerdict verdict() const noexcept {
    return relays.empty() ? probe.verdict : client::TurnVerdict::kOk;
  }
};

/// Everything `natdiag ice` reports.
struct IceReport {
  GatherReport gather;
  std::vector<StunServerReport> stun;
  std::vector<TurnServerReport> turn;
  std::vector<std::string> warnings;
  bool healthy = false;  ///< every configured server produced its candidates (and the check passed)
};

/// Runs everything. Throws std::runtime_error when libnice cannot run here.
[[nodiscard]] IceReport run_ice(const IceOptions& options);

/// The warnings for a report whose facts are filled in (everything but `warnings`/`healthy`).
[[nodiscard]] std::vector<std::string> ice_warnings(const IceReport& report,
                                                    const IceOptions& options);
/// True when every configured server produced what it is for: srflx from STUN (or proof of
/// no NAT), relay from TURN, the check (if asked) selected a pair through the NAT, gathering
/// did not time out, and, with no server at all, some host candidate of each family is public.
[[nodiscard]] bool ice_healthy(const IceReport& report, const IceOptions& options);
/// What an in-process connectivity check showed about the NAT.
enum class CheckVerdict : std::uint8_t {
  kSuccess,       ///< a pair through a relay or the NAT's public side worked
  kInconclusive,  ///< a pair worked, but it does not go through the NAT (host to host)
  kFail,          ///< no pair worked
};
/// The selected pair uses a relay, a srflx, or a prflx that is none of this host's addresses.
[[nodiscard]] bool pair_crosses_nat(const SelectedPair& pair,
                                    const std::vector<Candidate>& candidates);
[[nodiscard]] CheckVerdict check_verdict(const CheckOutcome& check,
                                         const std::vector<Candidate>& candidates);
/// "success", "inconclusive", "fail".
[[nodiscard]] std::string_view check_verdict_name(CheckVerdict v) noexcept;

/// True when a STUN server sees this host at one of its own addresses (its Binding's mapped
/// address or a srflx equals a host candidate's IP): that path has no NAT.
[[nodiscard]] bool no_nat_towards(const StunServerReport& stun,
                                  const std::vector<Candidate>& candidates);

}  // namespace natdiag::ice
