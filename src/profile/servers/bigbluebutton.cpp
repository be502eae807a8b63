// BigBlueButton: its advice (the guide's NAT steps).
#include "src/profile/advice_rules.hpp"

namespace natdiag::cli {

// The BigBlueButton guide's NAT steps (docs.bigbluebutton.org, bbb-install), with the measured
// addresses: FreeSWITCH's external IPs, sip.nginx, bbb-webrtc-sfu's announced IPs, /etc/hosts,
// the dummy NIC and the UDP media range.
Advice bigbluebutton_advice(const ProfileFacts& f, const std::vector<RangeChoice>& plan) {
  const std::string pub = *f.public_ipv4;
  Advice a{
      "/opt/freeswitch/conf (vars.xml, sip_profiles/external.xml), "
      "/usr/share/bigbluebutton/nginx/sip.nginx, "
      "/etc/bigbluebutton/bbb-webrtc-sfu/production.yml, /etc/hosts, the dummy NIC, the firewall",
      {},
      "The BigBlueButton guide's steps for a server behind NAT, with the addresses natdiag "
      "measured; "
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
      l.push_back("sed -i 's/" + *f.local_ipv4 + ":/" + pub +
                  ":/g' /usr/share/bigbluebutton/nginx/sip.nginx");
    }
    l.push_back(next() +
                "bbb-webrtc-sfu (mediasoup) announces the public address: "
                "/etc/bigbluebutton/bbb-webrtc-sfu/production.yml");
    for (const char* line : {"mediasoup:", "  webrtc:", "    listenIps:", "      - ip: 0.0.0.0"})
      l.push_back(line);
    l.push_back("        announcedIp: " + pub);
    for (const char* line : {"  plainRtp:", "    listenIp:", "      ip: 0.0.0.0"})
      l.push_back(line);
    l.push_back("      announcedIp: " + pub);
  }
  if (etc_hosts_needed(f)) {
    if (etc_hosts_maps_elsewhere(f)) {
      l.push_back(next() + "/etc/hosts line " + std::to_string(*f.etc_hosts_line) + " maps " +
                  *f.hostname + " to " + *f.etc_hosts_ip +
                  " and the first match wins: change that line to");
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
    l.push_back(next() + "UDP " + range.text() + " open here and forwarded by the router to " +
                f.local_ipv4.value_or("this host"));
    l.push_back("ufw allow " + range.text(':') + "/udp");
  }
  if (!l.empty()) l.push_back("bbb-conf --restart");
  return a;
}

}  // namespace natdiag::cli
