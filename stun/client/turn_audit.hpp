// `natdiag turn --audit`: does the TURN server relay to places it must not? It asks for
// permissions only (CreatePermission, RFC 8656 §9): no data is ever sent to an audited address.
// Each permission granted for loopback, private, link-local (cloud metadata at
// 169.254.169.254), multicast or the server's own address is a finding, with the coturn lines
// that close it (the attack class of CVE-2020-26262 and the "TURN as an SSRF proxy" reports).
#pragma once

#include <string>
#include <vector>

#include "stun/client/turn_check.hpp"
#include "stun/client/turn_session.hpp"

namespace natdiag::client {

/// One address the audit asks a permission for.
struct AuditTarget {
  std::string ip;
  std::string category;
};

/// The fixed list (loopback, unspecified, private, CGNAT, link-local, metadata, multicast;
/// IPv4 and IPv6), plus `server` when it is not the relay's own address.
[[nodiscard]] std::vector<AuditTarget> audit_targets(const TransportAddress& relayed,
                                                     const TransportAddress& server);

/// The findings for the probes that were accepted, one per category, with coturn's fix lines.
[[nodiscard]] std::vector<TurnFinding> audit_findings(const std::vector<AuditProbe>& probes,
                                                      const std::optional<std::string>& software);

/// Asks for the permission of each target of the relay's address family on the session's
/// allocation; appends to report.audit and returns how many the server granted.
int audit_permissions(TurnSession& session, const TransportAddress& relayed,
                      const TransportAddress& server, stun::TimePoint deadline,
                      TurnCheckReport& report);

/// The targets of one family, recorded as not tested (`error_code`: the server's answer to the
/// Allocate of a relay of that family, if any).
void audit_not_applicable(bool ipv6, const TransportAddress& server, std::optional<int> error_code,
                          TurnCheckReport& report);

}  // namespace natdiag::client
