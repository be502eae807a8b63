#include "stun/client/turn_audit.hpp"

#include <algorithm>
#include <map>

namespace natdiag::client {

std::vector<AuditTarget> audit_targets(const TransportAddress& relayed,
                                       const TransportAddress& server) {
  std::vector<AuditTarget> t = {
      {"127.0.0.1", "loopback"},       {"::1", "loopback"},
      {"0.0.0.0", "unspecified"},      {"10.0.0.1", "private"},
      {"172.16.0.1", "private"},       {"192.168.0.1", "private"},
      {"fd00::1", "private"},          {"100.64.0.1", "cgnat"},
      {"169.254.0.1", "link-local"},   {"fe80::1", "link-local"},
      {"169.254.169.254", "metadata"}, {"224.0.0.1", "multicast"},
      {"239.255.255.250", "multicast"}, {"ff02::1", "multicast"},
  };
  // The relay's own address is where other allocations live: relay-to-relay traffic (both
  // WebRTC peers on TURN) needs it, so only a different server address is audited.
  if (!server.same_ip(relayed)) t.push_back({server.ip_string(), "server-address"});
  return t;
}

std::vector<TurnFinding> audit_findings(const std::vector<AuditProbe>& probes,
                                        const std::optional<std::string>& software) {
  std::map<std::string, std::vector<std::string>> accepted;
  for (const auto& p : probes) {
    if (p.outcome == "accepted") accepted[p.category].push_back(p.address);
  }
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& a : v) s += (s.empty() ? "" : ", ") + a;
    return s;
  };
  std::vector<TurnFinding> out;
  auto add = [&](const char* category, const char* severity, const std::string& what,
                 std::vector<std::string> fix) {
    const auto it = accepted.find(category);
    if (it == accepted.end()) return;
    out.push_back({std::string("audit-") + category, severity,
                   "the server relays to " + what + " (permission granted for " + list(it->second) +
                       ")",
                   std::move(fix)});
  };
  add("loopback", "critical", "its own loopback: services bound to 127.0.0.1 on the TURN host",
      {"# remove allow-loopback-peers (coturn 4.5.2+ refuses loopback peers without it;",
       "# older coturn: no-loopback-peers)", "denied-peer-ip=127.0.0.0-127.255.255.255",
       "denied-peer-ip=::1"});
  add("unspecified", "critical", "0.0.0.0, which reaches the TURN host itself",
      {"denied-peer-ip=0.0.0.0-0.255.255.255", "denied-peer-ip=::"});
  add("metadata", "critical", "the cloud metadata service (credentials of the host)",
      {"denied-peer-ip=169.254.0.0-169.254.255.255"});
  add("private", "critical", "private networks behind the TURN server",
      {"denied-peer-ip=10.0.0.0-10.255.255.255", "denied-peer-ip=172.16.0.0-172.31.255.255",
       "denied-peer-ip=192.168.0.0-192.168.255.255",
       "denied-peer-ip=fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
       "# a media server on the same LAN that must be reached: allowed-peer-ip=ITS_IP"});
  add("cgnat", "warning", "the shared address space 100.64.0.0/10",
      {"denied-peer-ip=100.64.0.0-100.127.255.255"});
  add("link-local", "warning", "link-local addresses",
      {"denied-peer-ip=169.254.0.0-169.254.255.255",
       "denied-peer-ip=fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff"});
  add("multicast", "warning", "multicast addresses",
      {"no-multicast-peers", "denied-peer-ip=224.0.0.0-239.255.255.255",
       "denied-peer-ip=ff00::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"});
  if (accepted.count("server-address") != 0) {
    out.push_back({"audit-server-address", "warning",
                   "the server relays to its own address " + list(accepted["server-address"]) +
                       ": services listening there are reachable through the relay",
                   {"denied-peer-ip=" + accepted["server-address"].front()}});
  }
  if (software && !software->empty()) {
    out.push_back({"software-announced", "info",
                   "the server announces its software: \"" + *software + "\"",
                   {"no-software-attribute"}});
  }
  return out;
}

int audit_permissions(TurnSession& session, const TransportAddress& relayed,
                      const TransportAddress& server, stun::TimePoint deadline,
                      TurnCheckReport& report) {
  int accepted = 0;
  for (const auto& target : audit_targets(relayed, server)) {
    auto address = TransportAddress::parse(target.ip);
    if (!address || address->family != relayed.family) continue;
    AuditProbe probe{target.ip, target.category, "", std::nullopt};
    const auto answer = session.request(
        stun::Method::kCreatePermission,
        [&](stun::MessageBuilder& b) {
          b.add_xor_address(stun::AttributeType::kXorPeerAddress, *address);
        },
        deadline);
    if (answer.success) {
      probe.outcome = "accepted";
      ++accepted;
    } else if (!answer.answered()) {
      probe.outcome = "no-answer";
    } else {
      probe.error_code = answer.error_code;
      // RFC 8656 §9.1: 443 Peer Address Family Mismatch.
      probe.outcome = answer.error_code == 443 ? "not-applicable" : "refused";
    }
    report.audit.push_back(std::move(probe));
  }
  return accepted;
}

void audit_not_applicable(bool ipv6, const TransportAddress& server, std::optional<int> error_code,
                          TurnCheckReport& report) {
  TransportAddress relay_of_family;
  relay_of_family.family = ipv6 ? stun::Family::kIPv6 : stun::Family::kIPv4;
  for (const auto& target : audit_targets(relay_of_family, server)) {
    const auto address = TransportAddress::parse(target.ip);
    if (!address || address->family != relay_of_family.family) continue;
    report.audit.push_back(AuditProbe{target.ip, target.category, "not-applicable", error_code});
  }
}

}  // namespace natdiag::client
