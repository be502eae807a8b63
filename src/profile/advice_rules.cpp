#include "src/profile/advice_rules.hpp"

#include "stun/proto/types.hpp"

namespace natdiag::cli {

bool is(const std::optional<std::string>& value, std::string_view wanted) {
  return value && *value == wanted;
}

bool hostname_is_ip(const ProfileFacts& f) {
  return f.hostname && stun::TransportAddress::parse(*f.hostname).has_value();
}

// /etc/hosts maps the host name to another address on its first matching line.
bool etc_hosts_maps_elsewhere(const ProfileFacts& f) {
  return f.etc_hosts_line && f.etc_hosts_ip && f.public_ipv4 && *f.etc_hosts_ip != *f.public_ipv4;
}

// The host name needs an /etc/hosts change (never for an IP literal).
bool etc_hosts_needed(const ProfileFacts& f) {
  return f.public_ipv4 && f.hostname && !hostname_is_ip(f) &&
         (f.hostname_resolves_to_public == false || etc_hosts_maps_elsewhere(f));
}

// The dummy NIC is needed: hairpin to the measured public address is missing and the address
// is not on this host. Never for an address natdiag did not measure as this host's.
bool dummy_nic_wanted(const ProfileFacts& f) {
  return f.public_ipv4 && !f.hairpin_target_not_public() && f.dummy_nic_present != true &&
         (is(f.hairpin, "not-supported") || is(f.hairpin, "partial"));
}

// The commands that add the public IPv4 as a dummy NIC now (and persist it).
std::vector<std::string> dummy_nic_lines(const ProfileFacts& f) {
  if (!f.public_ipv4) return {};
  // The hairpin plan was for --external-ip, not this address: only the command for the address.
  if (!f.dummy_nic_commands.empty() && !f.hairpin_target_not_public()) return f.dummy_nic_commands;
  return {"ip addr add " + *f.public_ipv4 + "/32 dev lo"};
}

// Why a server's range moved, for the finding and the advice note.
std::string moved_text(const RangeChoice& c) {
  const auto* m = find_media_server_ports(c.name);
  const std::string name = m ? std::string(m->display) : std::string(c.name);
  return name + "'s default UDP range " + c.default_range.text() + " overlaps " + std::string(c.clashes_with) +
         "'s " + c.clash_range.text() + " on this host, so natdiag gives " + name + " " + c.range.text() +
         ": two programs cannot share a port range (whichever binds a port first gets it, the other's "
         "calls or relays fail at random) and a router forwards each port to one place only.";
}

// The BigBlueButton guide's NAT steps (docs.bigbluebutton.org, bbb-install), with the measured
// addresses: FreeSWITCH's external IPs, sip.nginx, bbb-webrtc-sfu's announced IPs, /etc/hosts,
// the dummy NIC and the UDP media range.
Advice bigbluebutton_advice(const ProfileFacts& f, const std::vector<RangeChoice>& plan) {
  const std::string pub = *f.public_ipv4;
  Advice a{"/opt/freeswitch/conf (vars.xml, sip_profiles/external.xml), /usr/share/bigbluebutton/nginx/sip.nginx, "
           "/etc/bigbluebutton/bbb-webrtc-sfu/production.yml, /etc/hosts, the dummy NIC, the firewall",
           {},
           "The BigBlueButton guide's steps for a server behind NAT, with the addresses natdiag measured; "
           "bbb-conf --restart applies them."};
  auto& l = a.lines;
  int step = 0;
  const auto next = [&step] { return "# " + std::to_string(++step) + ". "; };
  if (f.behind_nat == true) {
    l.push_back(next() + "FreeSWITCH announces the public address: /opt/freeswitch/conf/vars.xml");
    l.push_back("<X-PRE-PROCESS cmd=\"set\" data=\"external_rtp_ip=" + pub + "\"/>");
    l.push_back("<X-PRE-PROCESS cmd=\"set\" data=\"external_sip_ip=" + pub + "\"/>");
    l.push_back("#    and in /opt/freeswitch/conf/sip_profiles/external.xml");
    l.push_back("<param name=\"ext-rtp-ip\" value=\"$${external_rtp_ip}\"/>");
    l.push_back("<param name=\"ext-sip-ip\" value=\"$${external_sip_ip}\"/>");
    if (f.local_ipv4) {
      l.push_back(next() + "nginx proxies SIP to the public address, not the private one");
      l.push_back("sed -i 's/" + *f.local_ipv4 + ":/" + pub + ":/g' /usr/share/bigbluebutton/nginx/sip.nginx");
    }
    l.push_back(next() + "bbb-webrtc-sfu (mediasoup) announces the public address: /etc/bigbluebutton/bbb-webrtc-sfu/production.yml");
    for (const char* line : {"mediasoup:", "  webrtc:", "    listenIps:", "      - ip: 0.0.0.0"}) l.push_back(line);
    l.push_back("        announcedIp: " + pub);
    for (const char* line : {"  plainRtp:", "    listenIp:", "      ip: 0.0.0.0"}) l.push_back(line);
    l.push_back("      announcedIp: " + pub);
  }
  if (etc_hosts_needed(f)) {
    if (etc_hosts_maps_elsewhere(f)) {
      l.push_back(next() + "/etc/hosts line " + std::to_string(*f.etc_hosts_line) + " maps " + *f.hostname + " to " +
                  *f.etc_hosts_ip + " and the first match wins: change that line to");
      l.push_back(pub + " " + *f.hostname);
    } else {
      l.push_back(next() + *f.hostname + " resolves to the public address on this host");
      l.push_back("echo '" + pub + " " + *f.hostname + "' >> /etc/hosts");
    }
  }
  // The guide adds the dummy NIC behind NAT in any case: FreeSWITCH and sip.nginx now use the
  // public address, which must be reachable from this host.
  if (f.behind_nat == true && f.dummy_nic_present != true) {
    l.push_back(next() + "the dummy NIC: the public address on this host");
    for (const auto& c : dummy_nic_lines(f)) l.push_back(c);
  }
  if (f.behind_nat == true) {
    const auto range = range_of(plan, "bigbluebutton").value_or(PortRange{16384, 32768});
    l.push_back(next() + "UDP " + range.text() + " open here and forwarded by the router to " + f.local_ipv4.value_or("this host"));
    l.push_back("ufw allow " + range.text(':') + "/udp");
  }
  if (!l.empty()) l.push_back("bbb-conf --restart");
  return a;
}

}  // namespace natdiag::cli
