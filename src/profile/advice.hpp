// The profile verdict and the media-server advice, as pure functions of the facts measured:
// the same code serves `natdiag profile` (live facts) and `natdiag advise --from FILE` (facts
// read back from a saved profile). No I/O here.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace natdiag::cli {

/// Ports measured from outside (natdiag ports): "ipv4"/"ipv6", "tcp"/"udp", a range and its
/// state ("open", "closed", "filtered", "in-use", "answered-by-other").
struct MeasuredPortRange {
  std::string family;
  std::string protocol;
  std::uint16_t first = 0;
  std::uint16_t last = 0;
  std::string state;
  friend bool operator==(const MeasuredPortRange&, const MeasuredPortRange&) = default;
};

/// What the profile measured. Strings use design.md's JSON values; absent facts are nullopt.
struct ProfileFacts {
  std::optional<std::string> public_ipv4;  ///< IP only; never a private one (see mapped_private)
  /// The STUN server saw this host at a private, loopback or shared (CGNAT) address: it is on
  /// this side of the NAT, public_ipv4 and behind_nat are then unknown (null).
  std::optional<std::string> mapped_private;
  std::optional<std::string> public_ipv6;
  std::optional<std::string> local_ipv4;   ///< this host's address on the way out
  std::optional<bool> behind_nat;
  std::string mapping = "unknown";         ///< RFC 4787 name, "direct" or "unknown"
  /// What the mapping may be: [mapping] when decided; two names when the servers could not
  /// tell them apart (e.g. two servers on one port: address- or address-and-port-dependent).
  std::vector<std::string> mapping_candidates;
  /// Why mapping is "unknown" (rfc5780::unknown_why_name: "no-other-address",
  /// "alternate-silent", "recheck-disagrees", ...); null when the mapping was decided.
  std::optional<std::string> mapping_unknown;
  std::string filtering = "unknown";
  std::optional<bool> udp;                 ///< a UDP binding worked
  /// How it failed when it did not: "timeout", "refused-by-server" (ICMP port unreachable from
  /// the server itself: it does not listen on UDP), "refused-on-path" (from another host) or
  /// "other" (client::failure_name). Only silence and a refusal on the way are a blocked path.
  std::optional<std::string> udp_error;
  std::optional<bool> tcp;                 ///< a TCP binding worked
  std::optional<std::string> hairpin;      ///< "supported", "not-supported", "inconclusive"
  std::optional<bool> dummy_nic_present;
  std::vector<std::string> dummy_nic_commands;  ///< add now and persist, for this host's stack
                                                ///< (derived from external_ip and network_stack)
  std::optional<std::string> external_ip;       ///< the IP hairpin was checked against
  std::optional<std::string> network_stack;     ///< hairpin's detection: "ifupdown", ..., "unknown"
  std::optional<std::string> stun_error;        ///< why no STUN server answered, if none did
  bool default_servers = false;                 ///< no --server: the built-in public list
  std::optional<std::string> stun_server_ip;    ///< an IP (Kurento wants an IP, not a name)
  std::uint16_t stun_server_port = 3478;
  /// The STUN server answered the RFC 3489 (cookie-less) Binding that libnice before 0.1.23
  /// sends for srflx discovery; false: it answers only RFC 5389 ones. Null when not asked.
  std::optional<bool> stun_rfc3489;
  std::optional<std::string> hostname;
  std::optional<bool> hostname_resolves_to_public;
  bool turn_configured = false;
  std::optional<bool> turn_relay;          ///< a relay candidate was gathered
  std::optional<std::string> turn_problem; ///< "auth-failed", "refused", "unreachable"
  std::optional<std::string> relay_address;
  std::optional<std::string> host_ipv6;      ///< a global IPv6 address on this host's interfaces
  std::optional<bool> ipv6_udp;              ///< a UDP binding to an IPv6 server worked (null: none given)
  std::optional<bool> ipv6_behind_nat;       ///< the IPv6 mapped address is not on this host
  std::optional<std::string> hairpin_target; ///< --external-ip: the address hairpin was checked against
  std::vector<std::string> hairpin_untested; ///< "TCP 443": hairpin checks that could not run here
  std::optional<int> etc_hosts_line;         ///< the first /etc/hosts line naming hostname (same family)
  std::optional<std::string> etc_hosts_ip;   ///< the address on that line
  /// `profile --via`: what the port check measured from outside, as state ranges per family
  /// and protocol (empty: not run, or it failed with ports_error).
  std::vector<MeasuredPortRange> ports_measured;
  /// Why the --via port check could not run: "unreachable" (no natdiag serve --probe-back
  /// answered there), "refused" (it refused the request), "unresolved", "cannot-listen" (this
  /// host could not hold the sockets) or "failed". A kind, never free text: a saved profile
  /// is input, and findings print it.
  std::optional<std::string> ports_error;

  /// Something was measured: a STUN server answered over UDP or TCP.
  [[nodiscard]] bool measured() const noexcept { return udp == true || tcp == true; }
  /// --external-ip names an address that is not the measured public address of its family.
  [[nodiscard]] bool hairpin_target_not_public() const;
};

/// One finding: a stable id, a severity ("critical", "warning", "info"), what it means and
/// the fix.
struct Finding {
  std::string id;
  std::string severity;
  std::string message;
  std::string fix;
};

/// The media servers natdiag advises on.
inline constexpr std::string_view kMediaServers[] = {
    "kurento", "livekit", "plugnmeet", "freeswitch", "bigbluebutton", "jitsi", "janus", "coturn"};

/// The ports one media server needs open from the Internet ("443", "50000-60000"): the
/// table the firewall advice uses (natdiag ports --for reads it too).
struct ServerPorts {
  std::vector<std::string> tcp;
  std::vector<std::string> udp;
};
/// `targets` are all the servers on this host: their UDP ranges are planned not to overlap,
/// as profile's advice plans them.
[[nodiscard]] ServerPorts firewall_ports_of(std::string_view name,
                                            const std::vector<std::string>& targets);

/// Findings ordered by importance (critical first), for the servers in `targets`.
[[nodiscard]] std::vector<Finding> evaluate(const ProfileFacts& facts,
                                            const std::vector<std::string>& targets);
/// "ok", "needs-config" or "broken" from the findings.
[[nodiscard]] std::string verdict_of(const std::vector<Finding>& findings);

/// Advice for one target: the file the lines go in and the lines themselves.
struct Advice {
  std::string file;
  std::vector<std::string> lines;
  std::string note;  ///< why, or what to run after
};

/// design.md's `advice` object: kurento, livekit, freeswitch, bigbluebutton, jitsi, janus,
/// coturn, firewall, dummy_nic, etc_hosts (and plugnmeet) — only those that apply to
/// `targets` and to the facts.
[[nodiscard]] std::map<std::string, Advice> advise(const ProfileFacts& facts,
                                                   const std::vector<std::string>& targets);

/// The findings and the advice for people: findings most important first, each with its fix,
/// then per target the file and the exact lines.
void print_findings_and_advice(std::ostream& out, const std::vector<Finding>& findings,
                               const std::map<std::string, Advice>& advice);
/// A UDP port range a media server's guide has the router forward to it (its documented
/// default, the same table the firewall advice uses).
struct MediaPortRange {
  std::string target;  ///< a kMediaServers name
  std::uint16_t first = 0;
  std::uint16_t last = 0;
};
/// The UDP media port ranges of `targets`.
[[nodiscard]] std::vector<MediaPortRange> udp_media_ranges(const std::vector<std::string>& targets);

/// Parses --for: a comma-separated list of kMediaServers names ("all" or empty: every one).
/// Throws UsageError naming an unknown name.
[[nodiscard]] std::vector<std::string> parse_targets(std::string_view text);

/// JSON for findings and advice (design.md shapes).
[[nodiscard]] nlohmann::json findings_json(const std::vector<Finding>& findings);
[[nodiscard]] nlohmann::json advice_json(const std::map<std::string, Advice>& advice);
/// Reads the facts back from a saved `natdiag profile --json` object. Throws UsageError
/// naming the field when the object is not a natdiag/1 profile.
[[nodiscard]] ProfileFacts facts_from_json(const nlohmann::json& profile);
/// Writes the facts as the profile JSON fields (public_ipv4, ..., facts).
void facts_to_json(const ProfileFacts& facts, nlohmann::ordered_json& out);

}  // namespace natdiag::cli
