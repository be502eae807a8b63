#include "src/advice.hpp"

#include <algorithm>
#include <set>

#include "src/cli_common.hpp"

namespace natdiag::cli {
namespace {

bool wants(const std::vector<std::string>& targets, std::string_view name) {
  return std::find(targets.begin(), targets.end(), name) != targets.end();
}

bool symmetric(const ProfileFacts& f) {
  return f.mapping == "address-dependent" || f.mapping == "address-and-port-dependent";
}

std::string public_or_placeholder(const ProfileFacts& f) {
  return f.public_ipv4.value_or("<public IPv4 address>");
}

// Orders "80" before "443" and "5060" before "16384-32768": by the first port, numerically.
struct PortOrder {
  bool operator()(const std::string& a, const std::string& b) const {
    const long pa = std::stol(a);
    const long pb = std::stol(b);
    return pa != pb ? pa < pb : a < b;
  }
};
using PortSet = std::set<std::string, PortOrder>;

// The ports each media server needs open from the Internet (their documented defaults).
struct Ports {
  PortSet tcp;  // "443", "5060"
  PortSet udp;  // "10000", "50000-60000"
};

Ports ports_for(const std::vector<std::string>& targets) {
  Ports p;
  auto add = [&](std::string_view name, std::initializer_list<const char*> tcp,
                 std::initializer_list<const char*> udp) {
    if (!wants(targets, name)) return;
    p.tcp.insert(tcp.begin(), tcp.end());
    p.udp.insert(udp.begin(), udp.end());
  };
  add("livekit", {"80", "443", "7881"}, {"50000-60000"});
  add("plugnmeet", {"80", "443", "7881"}, {"50000-60000"});
  add("bigbluebutton", {"80", "443"}, {"16384-32768"});
  add("freeswitch", {"5060", "5080"}, {"5060", "5080", "16384-32768"});
  add("jitsi", {"443"}, {"10000"});
  add("janus", {"443"}, {"20000-40000"});
  add("coturn", {"3478", "5349"}, {"3478", "5349", "49152-65535"});
  return p;
}

std::string join(const PortSet& items, std::string_view sep, char range_sep) {
  std::string out;
  for (const auto& item : items) {
    std::string i = item;
    std::replace(i.begin(), i.end(), '-', range_sep);
    out += (out.empty() ? "" : std::string(sep)) + i;
  }
  return out;
}

}  // namespace

std::vector<MediaPortRange> udp_media_ranges(const std::vector<std::string>& targets) {
  std::vector<MediaPortRange> out;
  for (const auto& target : targets) {
    for (const auto& item : ports_for({target}).udp) {
      const auto dash = item.find('-');
      const long first = std::stol(item);
      const long last = dash == std::string::npos ? first : std::stol(item.substr(dash + 1));
      out.push_back({target, static_cast<std::uint16_t>(first), static_cast<std::uint16_t>(last)});
    }
  }
  return out;
}

std::vector<Finding> evaluate(const ProfileFacts& f, const std::vector<std::string>& targets) {
  std::vector<Finding> out;
  const std::string pub = public_or_placeholder(f);
  if (f.udp == false && f.tcp != true) {
    out.push_back({"stun-unreachable", "critical",
                   "No STUN server answered, over UDP or TCP: nothing about this network could be measured." +
                       (f.stun_error ? " (" + *f.stun_error + ")" : std::string()),
                   f.default_servers
                       ? "No --server was given and the default public STUN servers cannot be reached from here: run "
                         "natdiag serve on a host outside this network (two addresses for RFC 5780) and pass --server."
                       : "Check the --server address and that outbound UDP/TCP 3478 is allowed."});
  } else if (f.udp == false) {
    out.push_back({"udp-blocked", "critical",
                   std::string("UDP to the STUN server is blocked while TCP works: WebRTC media is UDP first, so every call "
                               "falls back to TURN over TCP/TLS") +
                       (f.turn_relay == true ? " (a relay was gathered, so calls can connect, with more delay)." : ", or fails."),
                   "Allow UDP out and in for the media ports (see the firewall advice) and 3478."});
  }
  if (f.turn_configured && f.turn_relay == false) {
    const std::string why = f.turn_problem == std::optional<std::string>("auth-failed") ? "the credentials were refused"
                            : f.turn_problem == std::optional<std::string>("unreachable") ? "the TURN server did not answer"
                            : f.turn_problem == std::optional<std::string>("refused") ? "the allocation was refused"
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
                   "This host is behind a symmetric NAT (" + f.mapping +
                       " mapping): its public port changes per destination, so peers behind NAT will need TURN to reach it.",
                   "Forward the media ports 1:1 to this host (port-preserving), or run a TURN server (coturn) and give it to the clients."});
  }
  if (f.hairpin == std::optional<std::string>("not-supported") && f.dummy_nic_present != true) {
    std::string fix = "Add the public IP to this host (a dummy NIC)";
    if (!f.dummy_nic_commands.empty()) fix += ": " + f.dummy_nic_commands.front();
    fix += ", and make it permanent (see the dummy_nic advice).";
    out.push_back({"hairpin-missing", "warning",
                   "This host cannot reach its own public address " + pub +
                       " (no hairpin NAT on the router): components that connect to the public hostname fail "
                       "(BigBlueButton: WebRTC error 1002).",
                   fix});
  }
  if (f.hairpin == std::optional<std::string>("partial") && f.dummy_nic_present != true) {
    out.push_back({"hairpin-partial", "warning",
                   "Only some ports of the public address " + pub + " come back to this host (see the hairpin checks).",
                   "Add the hairpin rules for the other ports on the router, or a dummy NIC (see the dummy_nic advice)."});
  }
  if (f.behind_nat == true) {
    out.push_back({"behind-nat", "warning",
                   "This host is behind NAT (local " + f.local_ipv4.value_or("?") + ", public " + pub +
                       "): a media server must announce the public address, or peers are told the private one.",
                   "Set the public address in the media server's configuration (see the advice for " +
                       (targets.empty() ? std::string("your server") : targets.front()) + " and the others)."});
    if (f.filtering != "endpoint-independent" && f.filtering != "direct") {
      out.push_back({"filtering", "info",
                     "The NAT lets in only answers (" + f.filtering +
                         " filtering): peers reach the media ports only if the router forwards them to this host.",
                     "Forward the UDP media ports to this host (see the firewall advice for the ranges)."});
    }
  }
  if (f.hostname && f.hostname_resolves_to_public == false) {
    out.push_back({"hostname-not-public", f.hairpin == std::optional<std::string>("not-supported") ? "warning" : "info",
                   *f.hostname + " does not resolve to " + pub + " on this host.",
                   "Add '" + pub + " " + *f.hostname + "' to /etc/hosts (see the etc_hosts advice)."});
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
  if (f.udp == true && f.mapping == "unknown") {
    out.push_back({"nat-unknown", "info",
                   "The NAT's mapping behaviour could not be measured (the server lacks RFC 5780 OTHER-ADDRESS).",
                   "Run natdiag serve with two addresses on a VPS and pass it with --server."});
  }
  if (!f.public_ipv6 && f.udp == true) {
    out.push_back({"no-ipv6", "info", "No public IPv6 address was seen: peers on IPv6-only networks need TURN.", ""});
  }
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
  const std::string pub = public_or_placeholder(f);
  const std::string local = f.local_ipv4.value_or("<this host's private IPv4 address>");
  const std::string stun_ip = f.stun_server_ip.value_or("<STUN server IP>");
  const std::string stun_port = std::to_string(f.stun_server_port);
  // libnice before 0.1.23 (Kurento, Janus on Debian 12) asks in RFC 3489 form only.
  const std::string no_classic =
      f.udp == true && f.stun_rfc3489 == false
          ? " The STUN server " + stun_ip + " refuses classic STUN (RFC 3489), which libnice before 0.1.23 needs: "
                "it gives no srflx candidate (finding stun-no-classic)."
          : "";

  if (wants(targets, "kurento")) {
    out["kurento"] = {"/etc/kurento/modules/kurento/WebRtcEndpoint.conf.ini",
                      {"stunServerAddress=" + stun_ip, "stunServerPort=" + stun_port, "externalIPv4=" + pub},
                      "stunServerAddress must be an IP address, not a name (the file says so). Restart kurento-media-server." +
                          no_classic + (no_classic.empty() ? "" : " Give Kurento a TURN server (turnURL) or a STUN server that answers RFC 3489.")};
  }
  for (const char* name : {"livekit", "plugnmeet"}) {
    if (!wants(targets, name)) continue;
    out[name] = {name == std::string("plugnmeet") ? "/opt/plugNmeet/etc/livekit.yaml" : "/etc/livekit.yaml",
                 {"rtc:", "  port_range_start: 50000", "  port_range_end: 60000", "  tcp_port: 7881",
                  "  use_external_ip: false", "  node_ip: " + pub},
                 "node_ip pins the public address natdiag measured; use_external_ip: true would make LiveKit ask "
                 "a public STUN server itself at start-up."};
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
    Advice a{"/etc/hosts, the dummy NIC, then bbb-conf", {}, "bbb-conf --restart applies it."};
    if (f.hairpin == std::optional<std::string>("not-supported") && f.dummy_nic_present != true) {
      for (const auto& c : f.dummy_nic_commands) a.lines.push_back(c);
    }
    if (f.hostname) a.lines.push_back("echo '" + pub + " " + *f.hostname + "' >> /etc/hosts");
    a.lines.push_back("bbb-conf --restart");
    out["bigbluebutton"] = a;
  }
  if (wants(targets, "jitsi")) {
    out["jitsi"] = {"/etc/jitsi/videobridge/sip-communicator.properties",
                    {"org.ice4j.ice.harvest.NAT_HARVESTER_LOCAL_ADDRESS=" + local,
                     "org.ice4j.ice.harvest.NAT_HARVESTER_PUBLIC_ADDRESS=" + pub},
                    "Then: systemctl restart jitsi-videobridge2."};
  }
  if (wants(targets, "janus")) {
    out["janus"] = {"/etc/janus/janus.jcfg",
                    {"media: {", "  rtp_port_range = \"20000-40000\"", "}", "nat: {", "  stun_server = \"" + stun_ip + "\"",
                     "  stun_port = " + stun_port, "  nat_1_1_mapping = \"" + pub + "\"", "}"},
                    "Then restart janus." + no_classic +
                        (no_classic.empty() ? "" : " Give Janus a TURN server (turn_server in nat: {}) or a STUN server that answers RFC 3489.")};
  }
  if (wants(targets, "coturn")) {
    out["coturn"] = {"/etc/turnserver.conf",
                     {"external-ip=" + pub + "/" + local, "min-port=49152", "max-port=65535"},
                     "Then: systemctl restart coturn." +
                         (no_classic.empty() ? std::string()
                                             : " If the STUN server " + stun_ip + " is this coturn: delete the line "
                                               "no-stun-backward-compatibility (Debian's stock file has it), or Kurento and "
                                               "Janus (libnice before 0.1.23) get no srflx candidate from it.")};
  }
  const Ports ports = ports_for(targets);
  if (!ports.tcp.empty() || !ports.udp.empty()) {
    Advice fw{"ufw, or /etc/nftables.conf (table inet filter, chain input)", {}, "Open these in any firewall in front of the host too."};
    if (!ports.tcp.empty()) fw.lines.push_back("ufw allow " + join(ports.tcp, ",", ':') + "/tcp");
    for (const auto& u : ports.udp) {
      std::string r = u;
      std::replace(r.begin(), r.end(), '-', ':');
      fw.lines.push_back("ufw allow " + r + "/udp");
    }
    if (!ports.tcp.empty()) {
      fw.lines.push_back("nft add rule inet filter input tcp dport { " + join(ports.tcp, ", ", '-') + " } accept");
    }
    if (!ports.udp.empty()) {
      fw.lines.push_back("nft add rule inet filter input udp dport { " + join(ports.udp, ", ", '-') + " } accept");
    }
    out["firewall"] = fw;
  }
  if ((f.hairpin == std::optional<std::string>("not-supported") || f.hairpin == std::optional<std::string>("partial")) &&
      f.dummy_nic_present != true) {
    out["dummy_nic"] = {"this host's network configuration", f.dummy_nic_commands,
                        "A dummy NIC makes this host reach itself; other LAN hosts still need hairpin NAT on the router."};
  }
  if (f.hostname && f.hostname_resolves_to_public != true) {
    out["etc_hosts"] = {"/etc/hosts", {pub + " " + *f.hostname}, "So this host resolves its own public name locally."};
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
      throw UsageError("--for: unknown media server '" + name +
                       "' (kurento, livekit, plugnmeet, freeswitch, bigbluebutton, jitsi, janus, coturn, all)");
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

namespace {

template <typename T>
nlohmann::json opt(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

template <typename T>
std::optional<T> get_opt(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  try {
    return j[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    throw UsageError(std::string("saved profile: field '") + key + "' has the wrong type");
  }
}

}  // namespace

void facts_to_json(const ProfileFacts& f, nlohmann::ordered_json& out) {
  out["facts"] = {{"public_ipv4", opt(f.public_ipv4)},
                  {"public_ipv6", opt(f.public_ipv6)},
                  {"local_ipv4", opt(f.local_ipv4)},
                  {"behind_nat", opt(f.behind_nat)},
                  {"mapping", f.mapping},
                  {"filtering", f.filtering},
                  {"udp", opt(f.udp)},
                  {"tcp", opt(f.tcp)},
                  {"hairpin", opt(f.hairpin)},
                  {"dummy_nic_present", opt(f.dummy_nic_present)},
                  {"dummy_nic_commands", f.dummy_nic_commands},
                  {"stun_error", opt(f.stun_error)},
                  {"default_servers", f.default_servers},
                  {"stun_server_ip", opt(f.stun_server_ip)},
                  {"stun_server_port", f.stun_server_port},
                  {"stun_rfc3489", opt(f.stun_rfc3489)},
                  {"hostname", opt(f.hostname)},
                  {"hostname_resolves_to_public", opt(f.hostname_resolves_to_public)},
                  {"turn_configured", f.turn_configured},
                  {"turn_relay", opt(f.turn_relay)},
                  {"turn_problem", opt(f.turn_problem)},
                  {"relay_address", opt(f.relay_address)}};
}

ProfileFacts facts_from_json(const nlohmann::json& profile) {
  if (!profile.is_object() || profile.value("schema", "") != kSchema || profile.value("command", "") != "profile") {
    throw UsageError("not a saved natdiag profile (expected \"schema\": \"natdiag/1\" and \"command\": \"profile\")");
  }
  if (!profile.contains("facts") || !profile["facts"].is_object()) {
    throw UsageError("saved profile has no 'facts' object");
  }
  const auto& j = profile["facts"];
  ProfileFacts f;
  f.public_ipv4 = get_opt<std::string>(j, "public_ipv4");
  f.public_ipv6 = get_opt<std::string>(j, "public_ipv6");
  f.local_ipv4 = get_opt<std::string>(j, "local_ipv4");
  f.behind_nat = get_opt<bool>(j, "behind_nat");
  f.mapping = get_opt<std::string>(j, "mapping").value_or("unknown");
  f.filtering = get_opt<std::string>(j, "filtering").value_or("unknown");
  f.udp = get_opt<bool>(j, "udp");
  f.tcp = get_opt<bool>(j, "tcp");
  f.hairpin = get_opt<std::string>(j, "hairpin");
  f.dummy_nic_present = get_opt<bool>(j, "dummy_nic_present");
  f.dummy_nic_commands = get_opt<std::vector<std::string>>(j, "dummy_nic_commands").value_or(std::vector<std::string>{});
  f.stun_error = get_opt<std::string>(j, "stun_error");
  f.default_servers = get_opt<bool>(j, "default_servers").value_or(false);
  f.stun_server_ip = get_opt<std::string>(j, "stun_server_ip");
  f.stun_server_port = get_opt<std::uint16_t>(j, "stun_server_port").value_or(3478);
  f.stun_rfc3489 = get_opt<bool>(j, "stun_rfc3489");
  f.hostname = get_opt<std::string>(j, "hostname");
  f.hostname_resolves_to_public = get_opt<bool>(j, "hostname_resolves_to_public");
  f.turn_configured = get_opt<bool>(j, "turn_configured").value_or(false);
  f.turn_relay = get_opt<bool>(j, "turn_relay");
  f.turn_problem = get_opt<std::string>(j, "turn_problem");
  f.relay_address = get_opt<std::string>(j, "relay_address");
  if (f.public_ipv4 && !stun::TransportAddress::parse(*f.public_ipv4)) {
    throw UsageError("saved profile: public_ipv4 is not an IP address: '" + *f.public_ipv4 + "'");
  }
  return f;
}

}  // namespace natdiag::cli
