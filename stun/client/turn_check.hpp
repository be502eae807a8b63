// `natdiag turn`'s check of one TURN server URI (RFC 8656): connect, Allocate with the
// long-term credentials, Refresh, CreatePermission, a real round trip through the relay (Send/
// Data indications, then ChannelBind/ChannelData) to a UDP socket of this host, the optional
// permission audit, and Refresh with LIFETIME 0 so nothing stays allocated.
//
// The relay round trip:
//   this host                           TURN server                     this host
//   client --Send(peer P, data)-------> relay R --------data-----------> peer socket
//   client <--Data(peer P, data)------- relay R <-------echo------------ peer socket
// The peer socket first sends to R itself, so a NAT in front of this host lets R's packets in,
// and its address as R sees it (P) comes back in the first Data indication's XOR-PEER-ADDRESS.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "stun/client/binding.hpp"
#include "stun/client/turn.hpp"
#include "stun/net/resolver.hpp"
#include "stun/net/stream.hpp"

namespace natdiag::client {

/// What to check and how.
struct TurnCheckOptions {
  std::string host;
  std::uint16_t port = 3478;
  Transport transport = Transport::kUdp;
  net::FamilyPreference family = net::FamilyPreference::kAny;
  std::optional<TurnCredentials> credentials;  ///< none: see whether the server asks
  std::optional<std::int64_t> rest_ttl;        ///< credentials are TURN REST ones, with this TTL
  bool tls_verify = true;
  std::string ca_file;
  int count = 10;                              ///< relay packets per data path
  Duration timeout = std::chrono::seconds(5);  ///< for the whole check of this URI
  bool audit = false;
};

/// One timed step.
struct TurnStep {
  std::string name;  ///< "resolve", "connect", "allocate", "refresh", "permission", ...
  bool ok = false;
  Duration elapsed{};
  std::string detail;
};

/// Round trips through the relay over one data path.
struct RelayStats {
  int sent = 0;
  int received = 0;
  std::optional<Duration> rtt_min, rtt_avg, rtt_max;
};

/// One CreatePermission of the audit.
struct AuditProbe {
  std::string address;      ///< the IP asked for
  std::string category;     ///< "loopback", "unspecified", "private", "cgnat", "link-local",
                            ///< "metadata", "multicast", "server-address"
  std::string outcome;      ///< "accepted", "refused", "not-applicable", "no-answer"
  std::optional<int> error_code;
};

/// A finding: something wrong (or worth knowing), in words, with what fixes it.
struct TurnFinding {
  std::string id;        ///< "wrong-credentials", "relay-private", "audit-loopback", ...
  std::string severity;  ///< "critical", "warning", "info"
  std::string message;
  std::vector<std::string> fix;  ///< coturn configuration lines, when there are any
};

/// What the check of one URI found.
struct TurnCheckReport {
  std::string host;
  std::uint16_t port = 0;
  Transport transport = Transport::kUdp;
  bool working = false;
  std::string problem;  ///< "wrong-credentials", "no-answer", ...; empty when working
  /// Why the relay path could not be tested although nothing failed ("private-peers-refused",
  /// "hairpin-or-blocked"); empty when it was tested. `working` is then false but not a verdict.
  std::string relay_unknown;
  std::string verdict;  ///< one sentence for people
  std::vector<TurnStep> steps;
  std::optional<TransportAddress> server, local, relayed, mapped;
  std::optional<std::uint32_t> lifetime;
  std::optional<std::string> software;
  std::string realm;
  std::optional<int> error_code;
  std::string error_reason;
  std::string error_meaning;
  std::optional<bool> tls_verified;
  std::string tls_problem;
  std::optional<net::CertificateInfo> certificate;
  std::optional<bool> authenticated;  ///< did the server ask for credentials (401)?
  std::optional<RelayStats> send_data, channel_data;
  std::optional<bool> released;       ///< Refresh LIFETIME 0 answered with success
  std::vector<AuditProbe> audit;
  std::vector<TurnFinding> findings;
  Duration elapsed{};
};

/// Appends the step that began at `began` and ends now.
TurnStep& add_step(TurnCheckReport& report, std::string name, stun::TimePoint began, bool ok,
                   std::string detail);

/// Runs the whole check for one URI. Never throws for network trouble (that is a finding);
/// throws net::SocketError when no socket can be opened here.
[[nodiscard]] TurnCheckReport check_turn(const TurnCheckOptions& options);

/// Records the first problem of a check (later ones keep the first).
void set_problem(TurnCheckReport& report, std::string problem, std::string verdict);

/// Records that the relay could not be tested from here (`reason`: "private-peers-refused",
/// "hairpin-or-blocked"); the verdict only when no problem was found before.
void set_relay_unknown(TurnCheckReport& report, std::string reason, std::string verdict);

/// The relay-private finding for a private relayed address: external-ip advice made of the
/// server address natdiag reached only when that address is public and of the relay's family.
/// Second: the problem's verdict, empty when it is no problem (an info finding).
[[nodiscard]] std::pair<TurnFinding, std::string> private_relay_finding(
    const TransportAddress& server, const TransportAddress& relayed);

/// What an error response to Allocate means, in words (RFC 8656 §7.2, §19; RFC 8489 §9.2).
[[nodiscard]] std::string explain_turn_error(int code, bool credentials_sent);

/// Findings across URIs: "UDP blocked, TCP works" when UDP got no answer from a host whose
/// TCP/TLS allocated.
[[nodiscard]] std::vector<TurnFinding> cross_findings(const std::vector<TurnCheckReport>& reports);

}  // namespace natdiag::client
