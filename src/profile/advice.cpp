#include "src/profile/advice.hpp"

#include <algorithm>

#include "src/cli_common.hpp"
#include "src/profile/advice_rules.hpp"
#include "src/profile/media_ports.hpp"
#include "src/profile/port_findings.hpp"
#include "src/profile/servers/server_advice.hpp"

namespace natdiag::cli {
namespace {

bool wants(const std::vector<std::string>& targets, std::string_view name) {
  return std::find(targets.begin(), targets.end(), name) != targets.end();
}

bool symmetric(const ProfileFacts& f) {
  const auto not_eim = [](const std::string& m) { return m == "address-dependent" || m == "address-and-port-dependent"; };
  if (not_eim(f.mapping)) return true;
  // Undecided between two answers that are both not endpoint-independent: that much is measured.
  return f.mapping == "unknown" && !f.mapping_candidates.empty() &&
         std::all_of(f.mapping_candidates.begin(), f.mapping_candidates.end(), not_eim);
}

// "address-dependent", or "address-dependent or address-and-port-dependent" when undecided.
std::string mapping_text(const ProfileFacts& f) {
  if (f.mapping != "unknown" || f.mapping_candidates.empty()) return f.mapping;
  std::string out;
  for (const auto& c : f.mapping_candidates) out += (out.empty() ? "" : " or ") + c;
  return out + "; the servers could not tell which";
}

/// The UDP ranges for `targets`. Servers named with --for share this host, so their ranges must
/// not overlap; without --for (every server) the advice is a set of alternatives, each server
/// with its own default.
std::vector<RangeChoice> ranges_for(const std::vector<std::string>& targets) {
  const bool every_server = std::all_of(std::begin(kMediaServers), std::end(kMediaServers),
                                        [&](std::string_view name) { return wants(targets, name); });
  if (!every_server) return plan_media_ranges(targets);
  std::vector<RangeChoice> alone;
  for (const auto& name : targets) {
    for (const auto& c : plan_media_ranges({name})) alone.push_back(c);
  }
  return alone;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : std::string(sep)) + item;
  return out;
}

// The ports to open for the chosen servers: their fixed ports and their planned media ranges.
struct Ports {
  std::vector<PortRange> tcp;
  std::vector<PortRange> udp;
};

void add_unique(std::vector<PortRange>& list, PortRange r) {
  if (std::find(list.begin(), list.end(), r) == list.end()) list.push_back(r);
}

Ports ports_for(const std::vector<std::string>& targets, const std::vector<RangeChoice>& plan) {
  Ports p;
  for (const auto& m : media_server_ports()) {
    if (!wants(targets, m.name)) continue;
    for (auto port : m.tcp) add_unique(p.tcp, {port, port});
    for (auto port : m.udp) add_unique(p.udp, {port, port});
    if (auto r = range_of(plan, m.name)) add_unique(p.udp, *r);
  }
  const auto by_first = [](const PortRange& a, const PortRange& b) { return a.first != b.first ? a.first < b.first : a.last < b.last; };
  std::sort(p.tcp.begin(), p.tcp.end(), by_first);
  std::sort(p.udp.begin(), p.udp.end(), by_first);
  return p;
}

std::string join_ranges(const std::vector<PortRange>& ranges, std::string_view sep, char range_sep) {
  std::vector<std::string> parts;
  for (const auto& r : ranges) parts.push_back(r.text(range_sep));
  return join(parts, sep);
}

}  // namespace

std::string AdviceContext::why_moved(std::string_view name) const {
  for (const auto& c : plan) {
    if (c.name == name && c.moved) return " " + moved_text(c);
  }
  return {};
}

ServerPorts firewall_ports_of(std::string_view name, const std::vector<std::string>& targets) {
  const Ports p = ports_for({std::string(name)}, ranges_for(targets));
  ServerPorts out;
  for (const auto& r : p.tcp) out.tcp.push_back(r.text());
  for (const auto& r : p.udp) out.udp.push_back(r.text());
  return out;
}

std::vector<MediaPortRange> udp_media_ranges(const std::vector<std::string>& targets) {
  std::vector<MediaPortRange> out;
  const auto plan = ranges_for(targets);
  for (const auto& target : targets) {
    for (const auto& r : ports_for({target}, plan).udp) out.push_back({target, r.first, r.last});
  }
  return out;
}

bool ProfileFacts::hairpin_target_not_public() const {
  if (!hairpin_target) return false;
  // Within one family: an IPv6 --external-ip is compared with the public IPv6.
  if (hairpin_target->find(':') != std::string::npos) {
    return public_ipv6 && *hairpin_target != *public_ipv6;
  }
  return public_ipv4 && *hairpin_target != *public_ipv4;
}

namespace {

// Why the mapping stayed unknown and what would decide it, per facts.mapping_unknown.
std::pair<std::string, std::string> nat_unknown_text(const std::optional<std::string>& kind) {
  const std::string serve = "Run natdiag serve with two addresses on a VPS and pass it with --server.";
  if (is(kind, "no-other-address"))
    return {"the STUN server sent no usable RFC 5780 OTHER-ADDRESS, so only one of its addresses could be asked", serve};
  if (is(kind, "alternate-silent"))
    return {"the server's alternate address (its RFC 5780 OTHER-ADDRESS) did not answer: a firewall on the way or "
            "at the server drops it, or the server does not listen there",
            "Check that the server's second address is reachable over UDP, or use another RFC 5780 server (natdiag serve "
            "with two addresses) with --server."};
  if (is(kind, "recheck-disagrees"))
    return {"one socket got a new public port per destination, but a second, fresh socket kept one: an older flow "
            "held the port (Linux NAT does, for 30 s and more) or the NAT's behaviour changes",
            "Run natdiag profile again in a minute."};
  if (is(kind, "recheck-failed"))
    return {"the mapping changed per destination, but the recheck from a second socket, which tells a mapping "
            "policy from a one-off port clash, got no answer",
            "Run natdiag profile again, with a longer --timeout."};
  if (is(kind, "servers-share-ip"))
    return {"the STUN servers given share one IP, so endpoint-independent and address-dependent mapping look the same",
            "Give STUN servers on different IPs with --server (or one RFC 5780 server: natdiag serve with two addresses)."};
  if (is(kind, "one-server"))
    return {"only one of the STUN servers given answered; comparing mappings needs two",
            "Check the other --server addresses, or use one RFC 5780 server (natdiag serve with two addresses)."};
  if (is(kind, "time-ran-out"))
    return {"the time given ended the tests before their answers came", "Run natdiag profile again with a longer --timeout."};
  return {"the NAT tests got no usable answer", "Run natdiag nat against the same server to see each test."};
}

}  // namespace

std::vector<Finding> evaluate(const ProfileFacts& f, const std::vector<std::string>& targets) {
  std::vector<Finding> out;
  if (f.hairpin_target_not_public()) {
    const std::string measured =
        *(f.hairpin_target->find(':') != std::string::npos ? f.public_ipv6 : f.public_ipv4);
    out.push_back(
        {"external-ip-not-public", "warning",
         "--external-ip " + *f.hairpin_target +
             " is not this host's public address: STUN measured " + measured +
             ". The hairpin result is about " + *f.hairpin_target +
             ", and natdiag gives no dummy-NIC command for it (adding it here would cut this host "
             "off from "
             "the machine that owns it).",
         "Run natdiag profile without --external-ip, or with --external-ip " + measured + "."});
  }
  if (!f.measured()) {
    out.push_back({"stun-unreachable", "critical",
                   "Nothing could be measured: no STUN server answered, over UDP or TCP" +
                       (f.stun_error ? " (" + *f.stun_error + ")" : std::string()) +
                       ". natdiag gives no configuration advice without a measured public address.",
                   f.default_servers
                       ? "No --server was given and the default public STUN servers cannot be reached from here: run "
                         "natdiag serve on a host outside this network (two addresses for RFC 5780) and pass --server."
                       : "Check the --server address and that outbound UDP/TCP 3478 is allowed."});
    return out;
  }
  if (f.mapped_private) {
    out.push_back({"stun-server-inside", "warning",
                   "The STUN server " + f.stun_server_ip.value_or("asked") + " saw this host as " +
                       *f.mapped_private +
                       ", a private address: it is on this side of the NAT (or on this host), so "
                       "nothing here says what peers on the Internet see. natdiag gives no address "
                       "advice from it.",
                   "Give a STUN server on the Internet with --server (natdiag serve on a VPS, two "
                   "addresses for RFC 5780)."});
  }
  const std::string pub = f.public_ipv4.value_or("(not measured)");
  // Only silence or a refusal from another host is a blocked path; the server's own ICMP port
  // unreachable says it does not listen on UDP (design.md: a closed port is not a blocked path).
  const bool udp_blocked = f.udp == false && (!f.udp_error || is(f.udp_error, "timeout") ||
                                              is(f.udp_error, "refused-on-path"));
  if (udp_blocked) {
    out.push_back({"udp-blocked", "critical",
                   std::string(is(f.udp_error, "refused-on-path")
                                   ? "UDP to the STUN server is rejected on the way (an ICMP port unreachable came from "
                                     "another host than the server) while TCP works"
                                   : "UDP to the STUN server is blocked while TCP works") +
                       ": WebRTC media is UDP first, so every call falls back to TURN over TCP/TLS" +
                       (f.turn_relay == true ? " (a relay was gathered, so calls can connect, with more delay)." : ", or fails."),
                   "Allow UDP out and in for the media ports (see the firewall advice) and 3478."});
  } else if (f.udp == false && is(f.udp_error, "refused-by-server")) {
    out.push_back({"stun-no-udp", "warning",
                   "The STUN server " + f.stun_server_ip.value_or("asked") +
                       " does not listen on UDP: its own address answered ICMP port unreachable, while it answered over "
                       "TCP. A STUN server without UDP is useless for WebRTC media (browsers and media servers ask it over "
                       "UDP); whether UDP gets through this network was not tested.",
                   "Check the STUN server's configuration (coturn: remove no-udp, check listening-port) and its firewall, "
                   "or give another --server."});
  } else if (f.udp == false) {
    out.push_back({"udp-failed", "warning",
                   "The UDP binding to the STUN server failed without a verdict on the path (an unusable or error answer, "
                   "or a local socket error) while TCP works.",
                   "Run natdiag stun against the same server to see the error."});
  }
  if (f.turn_configured && f.turn_relay == false) {
    const std::string why = is(f.turn_problem, "auth-failed")   ? "the credentials were refused"
                            : is(f.turn_problem, "unreachable") ? "the TURN server did not answer"
                            : is(f.turn_problem, "refused")     ? "the allocation was refused"
                                                                : "no relay candidate was gathered";
    out.push_back({"turn-no-relay", "warning", "The TURN server gave no relay: " + why + ".",
                   "Check the TURN URI, user and password (or static-auth-secret) and that the server listens."});
  }
  if (f.relay_address && net::is_private_or_local(*stun::TransportAddress::parse(*f.relay_address))) {
    out.push_back({"relay-private", "warning",
                   "The TURN relay address " + *f.relay_address + " is private: peers on the Internet cannot use it.",
                   "Set external-ip=<public>/<private> in /etc/turnserver.conf (see the coturn advice)."});
  }
  if (symmetric(f)) {
    out.push_back({"symmetric-nat", "warning",
                   "This host is behind a symmetric NAT (" + mapping_text(f) +
                       " mapping): its public port changes per destination, so peers behind NAT will need TURN to reach it.",
                   "Forward the media ports 1:1 to this host (port-preserving), or run a TURN server (coturn) and give it to the clients."});
  }
  if (is(f.hairpin, "not-supported") && dummy_nic_wanted(f)) {
    const auto lines = dummy_nic_lines(f);
    std::string fix = "Add the public IP to this host (a dummy NIC)";
    if (!lines.empty()) fix += ": " + lines.front();
    fix += ", and make it permanent (see the dummy_nic advice).";
    out.push_back({"hairpin-missing", "warning",
                   "This host cannot reach its own public address " + pub +
                       " (no hairpin NAT on the router): components that connect to the public hostname fail "
                       "(BigBlueButton: WebRTC error 1002).",
                   fix});
  }
  if (is(f.hairpin, "partial") && dummy_nic_wanted(f)) {
    out.push_back({"hairpin-partial", "warning",
                   "Only some ports of the public address " + pub + " come back to this host (see the hairpin checks).",
                   "Add the hairpin rules for the other ports on the router, or a dummy NIC (see the dummy_nic advice)."});
  }
  if (!f.hairpin_untested.empty()) {
    out.push_back({"hairpin-untested", "info",
                   "Hairpin of " + join(f.hairpin_untested, ", ") +
                       " could not be tested: natdiag cannot listen on ports below 1024 without root, and no local "
                       "service answers there to compare with" +
                       (f.hairpin ? " (the hairpin verdict comes from the other ports)." : "."),
                   "Run natdiag profile as root, or test ports above 1023: natdiag hairpin " + pub + " --tcp PORT."});
  }
  if (f.behind_nat == true) {
    std::string fix = "Set the public address in the media server's configuration (see the advice for " +
                      (targets.empty() ? std::string("your server") : targets.front()) + " and the others).";
    if (wants(targets, "bigbluebutton")) {
      fix = "For BigBlueButton follow the bigbluebutton advice: FreeSWITCH external_rtp_ip/external_sip_ip, sip.nginx, "
            "bbb-webrtc-sfu's announced IPs, /etc/hosts, the dummy NIC and the UDP range; for the others, their advice.";
    }
    out.push_back({"behind-nat", "warning",
                   "This host is behind NAT (local " + f.local_ipv4.value_or("?") + ", public " + pub +
                       "): a media server must announce the public address, or peers are told the private one.",
                   fix});
    // Only a measured filtering behaviour says anything about what the NAT lets in.
    const bool ports_measured_v4 = std::any_of(f.ports_measured.begin(), f.ports_measured.end(),
                                               [](const MeasuredPortRange& r) { return r.family == "ipv4"; });
    if ((f.filtering == "address-dependent" || f.filtering == "address-and-port-dependent") && !ports_measured_v4) {
      out.push_back({"filtering", "info",
                     "The NAT lets in only answers (" + f.filtering +
                         " filtering): peers reach the media ports only if the router forwards them to this host.",
                     "Forward the UDP media ports to this host (see the firewall advice for the ranges)."});
    }
  }
  if (f.hostname && hostname_is_ip(f) && f.public_ipv4 && *f.hostname != *f.public_ipv4) {
    out.push_back({"hostname-is-ip", "info",
                   "--hostname " + *f.hostname + " is an IP address, not a name, and not the public address " + pub + ".",
                   "Give the media server's public host name with --hostname."});
  } else if (etc_hosts_needed(f)) {
    const std::string where =
        etc_hosts_maps_elsewhere(f)
            ? "Line " + std::to_string(*f.etc_hosts_line) + " of /etc/hosts maps " + *f.hostname + " to " + *f.etc_hosts_ip +
                  " (the first matching line wins)."
            : *f.hostname + " does not resolve to " + pub + " on this host.";
    out.push_back({"hostname-not-public", is(f.hairpin, "not-supported") ? "warning" : "info", where,
                   etc_hosts_maps_elsewhere(f)
                       ? "Change line " + std::to_string(*f.etc_hosts_line) + " of /etc/hosts to '" + pub + " " + *f.hostname +
                             "' (see the etc_hosts advice)."
                       : "Add '" + pub + " " + *f.hostname + "' to /etc/hosts (see the etc_hosts advice)."});
  }
  if (f.udp == true && f.stun_rfc3489 == false) {
    const bool libnice_target = wants(targets, "kurento") || wants(targets, "janus");
    out.push_back({"stun-no-classic", libnice_target ? "warning" : "info",
                   "The STUN server " + f.stun_server_ip.value_or("asked") +
                       " refuses classic STUN: it answers RFC 5389 Binding requests but not the RFC 3489 form without "
                       "the magic cookie (coturn: no-stun-backward-compatibility, which Debian's stock "
                       "/etc/turnserver.conf sets). libnice before 0.1.23 sends its srflx discovery in that form "
                       "(Kurento and Janus on Debian 12 use libnice 0.1.21), so they get no srflx candidate from it.",
                   "Remove the line no-stun-backward-compatibility from that server's turnserver.conf; or give the media "
                   "server a TURN server (libnice then takes the srflx from the Allocate answer); or use libnice 0.1.23 "
                   "or newer."});
  }
  if (f.udp == true && f.mapping == "unknown" && !symmetric(f)) {
    const auto [why, fix] = nat_unknown_text(f.mapping_unknown);
    out.push_back({"nat-unknown", "info", "The NAT's mapping behaviour could not be measured: " + why + ".", fix});
  }
  for (const auto& c : ranges_for(targets)) {
    if (!c.moved) continue;
    out.push_back({"port-ranges", "info", moved_text(c), "Use the ranges in the advice below."});
  }
  if (f.ipv6_udp == false) {
    out.push_back({"ipv6-unreachable", "warning",
                   "The IPv6 STUN server did not answer over UDP" +
                       (f.host_ipv6 ? " although this host has the global IPv6 address " + *f.host_ipv6 : std::string()) +
                       ": IPv6 is blocked on the way (or the server does not listen on IPv6).",
                   "Allow UDP over IPv6 in the firewalls on the way, or check the server's IPv6 address."});
  } else if (f.ipv6_udp == true && f.ipv6_behind_nat == true) {
    out.push_back({"ipv6-nat", "info",
                   "IPv6 goes through a NAT too: the server saw " + f.public_ipv6.value_or("?") +
                       ", which is not on this host.",
                   "Announce that address for IPv6, as for IPv4."});
  } else if (!f.ipv6_udp && f.host_ipv6) {
    out.push_back({"ipv6-untested", "info",
                   "This host has the global IPv6 address " + *f.host_ipv6 +
                       ": public and routed, unless a firewall on the way blocks it (not tested).",
                   "Give an IPv6 --server (e.g. natdiag serve's IPv6 address) to test that it is reachable."});
  } else if (!f.public_ipv6 && !f.host_ipv6) {
    out.push_back({"no-ipv6", "info", "This host has no global IPv6 address: peers on IPv6-only networks need TURN.", ""});
  }
  for (auto& p : port_findings(f, targets)) out.push_back(std::move(p));
  auto rank = [](const Finding& x) { return x.severity == "critical" ? 0 : x.severity == "warning" ? 1 : 2; };
  std::stable_sort(out.begin(), out.end(), [&](const Finding& a, const Finding& b) { return rank(a) < rank(b); });
  return out;
}

std::string verdict_of(const std::vector<Finding>& findings) {
  bool warning = false;
  for (const auto& f : findings) {
    if (f.severity == "critical") return "broken";
    warning = warning || f.severity == "warning";
  }
  return warning ? "needs-config" : "ok";
}

std::map<std::string, Advice> advise(const ProfileFacts& f, const std::vector<std::string>& targets) {
  std::map<std::string, Advice> out;
  // Every line below carries a measured address: without one there is no advice at all.
  if (!f.measured() || !f.public_ipv4) return out;
  const std::string pub = *f.public_ipv4;
  // libnice before 0.1.23 (Kurento, Janus on Debian 12) asks in RFC 3489 form only.
  const std::string no_classic =
      f.udp == true && f.stun_rfc3489 == false && f.stun_server_ip
          ? " The STUN server " + *f.stun_server_ip +
                " refuses classic STUN (RFC 3489), which libnice before 0.1.23 needs: "
                "it gives no srflx candidate (finding stun-no-classic)."
          : "";
  const auto plan = ranges_for(targets);

  const AdviceContext context{pub, no_classic, plan};
  if (wants(targets, "kurento")) out["kurento"] = kurento_advice(f, context);
  for (const char* name : {"livekit", "plugnmeet"}) {
    if (wants(targets, name)) out[name] = livekit_advice(name, context);
  }
  if (wants(targets, "freeswitch")) {
    out["freeswitch"] = {"/etc/freeswitch/vars.xml and /etc/freeswitch/sip_profiles/external.xml",
                         {"<!-- vars.xml -->", "<X-PRE-PROCESS cmd=\"set\" data=\"external_rtp_ip=" + pub + "\"/>",
                          "<X-PRE-PROCESS cmd=\"set\" data=\"external_sip_ip=" + pub + "\"/>",
                          "<!-- sip_profiles/external.xml -->", "<param name=\"ext-rtp-ip\" value=\"$${external_rtp_ip}\"/>",
                          "<param name=\"ext-sip-ip\" value=\"$${external_sip_ip}\"/>"},
                         "Then: fs_cli -x 'reloadxml' and restart the external profile."};
  }
  if (wants(targets, "bigbluebutton")) {
    auto a = bigbluebutton_advice(f, plan);
    if (!a.lines.empty()) out["bigbluebutton"] = a;
  }
  if (wants(targets, "jitsi") && f.local_ipv4) {
    out["jitsi"] = {"/etc/jitsi/videobridge/sip-communicator.properties",
                    {"org.ice4j.ice.harvest.NAT_HARVESTER_LOCAL_ADDRESS=" + *f.local_ipv4,
                     "org.ice4j.ice.harvest.NAT_HARVESTER_PUBLIC_ADDRESS=" + pub},
                    "Then: systemctl restart jitsi-videobridge2."};
  }
  if (wants(targets, "janus")) out["janus"] = janus_advice(f, context);
  if (wants(targets, "coturn")) out["coturn"] = coturn_advice(f, context);
  const Ports ports = ports_for(targets, plan);
  if (!ports.tcp.empty() || !ports.udp.empty()) {
    Advice fw{"ufw, or /etc/nftables.conf (table inet filter, chain input)", {}, "Open these in any firewall in front of the host too."};
    if (!ports.tcp.empty()) fw.lines.push_back("ufw allow " + join_ranges(ports.tcp, ",", ':') + "/tcp");
    for (const auto& u : ports.udp) fw.lines.push_back("ufw allow " + u.text(':') + "/udp");
    if (!ports.tcp.empty()) {
      fw.lines.push_back("nft add rule inet filter input tcp dport { " + join_ranges(ports.tcp, ", ", '-') + " } accept");
    }
    if (!ports.udp.empty()) {
      fw.lines.push_back("nft add rule inet filter input udp dport { " + join_ranges(ports.udp, ", ", '-') + " } accept");
    }
    out["firewall"] = fw;
  }
  // Measured from outside (profile --via): the ranges that did not get through, not the table.
  if (auto measured = measured_firewall_advice(f)) {
    if (measured->lines.empty()) {
      out.erase("firewall");
    } else {
      out["firewall"] = std::move(*measured);
    }
  }
  if (dummy_nic_wanted(f)) {
    out["dummy_nic"] = {"this host's network configuration", dummy_nic_lines(f),
                        "A dummy NIC makes this host reach itself; other LAN hosts still need hairpin NAT on the router."};
  }
  if (etc_hosts_needed(f)) {
    if (etc_hosts_maps_elsewhere(f)) {
      out["etc_hosts"] = {"/etc/hosts, line " + std::to_string(*f.etc_hosts_line), {pub + " " + *f.hostname},
                          "That line maps " + *f.hostname + " to " + *f.etc_hosts_ip +
                              " and the first matching line wins: change it (a line added below changes nothing)."};
    } else {
      out["etc_hosts"] = {"/etc/hosts", {pub + " " + *f.hostname}, "So this host resolves its own public name locally."};
    }
  }
  return out;
}

void print_findings_and_advice(std::ostream& out, const std::vector<Finding>& findings,
                               const std::map<std::string, Advice>& advice) {
  if (!findings.empty()) {
    out << "\nFindings, most important first:\n";
    for (const auto& f : findings) {
      out << "  [" << f.severity << "] " << f.message << "\n";
      if (!f.fix.empty()) out << "      fix: " << f.fix << "\n";
    }
  }
  if (!advice.empty()) {
    out << "\nWhat to configure:\n";
    for (const auto& [name, a] : advice) {
      out << "  " << name << " -- " << a.file << "\n";
      for (const auto& line : a.lines) out << "      " << line << "\n";
      if (!a.note.empty()) out << "    (" << a.note << ")\n";
    }
  }
}

std::vector<std::string> parse_targets(std::string_view text) {
  std::vector<std::string> out;
  if (text.empty() || text == "all") return {std::begin(kMediaServers), std::end(kMediaServers)};
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const std::string name(text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (std::find(std::begin(kMediaServers), std::end(kMediaServers), name) == std::end(kMediaServers)) {
      throw UsageError(ErrorKind::kBadValue,
                       "--for: unknown media server '" + name +
                           "' (kurento, livekit, plugnmeet, freeswitch, bigbluebutton, jitsi, janus, coturn, all)",
                       name);
    }
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

nlohmann::json findings_json(const std::vector<Finding>& findings) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& f : findings) {
    out.push_back({{"id", f.id}, {"severity", f.severity}, {"message", f.message},
                   {"fix", f.fix.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.fix)}});
  }
  return out;
}

nlohmann::json advice_json(const std::map<std::string, Advice>& advice) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, a] : advice) {
    out[name] = {{"file", a.file}, {"lines", a.lines}, {"note", a.note.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.note)}};
  }
  return out;
}

}  // namespace natdiag::cli
