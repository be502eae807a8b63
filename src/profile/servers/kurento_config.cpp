// Kurento's WebRtcEndpoint.conf.ini and BaseRtpEndpoint.conf.ini against the measured network.
#include "src/profile/config/check_support.hpp"
#include "src/profile/servers/config_checkers.hpp"

namespace natdiag::profile::config {
namespace {

// The STUN server: an IP (Kurento does not resolve names), one that answers, and one that
// answers libnice 0.1.21's RFC 3489 request. Returns whether it gives Kurento a srflx candidate.
bool check_stun(FindingSink& sink, const ParsedFile& file, const ConfigFacts& facts) {
  const auto& p = facts.profile;
  const auto* stun = file.find("stunServerAddress");
  if (stun == nullptr || stun->value.empty()) return false;
  const auto* port_setting = file.find("stunServerPort");
  const auto port =
      port_setting ? port_number(port_setting->value) : std::optional<std::uint16_t>(3478);
  const bool measured = p.udp == true && p.stun_server_ip.has_value();
  const auto fix = [&](ConfigFinding& f) {
    if (!measured) return;
    f.edits.push_back(replace_value(file, *stun, *p.stun_server_ip));
    if (port_setting && port != p.stun_server_port) {
      f.edits.push_back(replace_value(file, *port_setting, std::to_string(p.stun_server_port)));
    } else if (!port_setting) {
      for (auto& e : insert_setting(file, "stunServerPort", std::to_string(p.stun_server_port)))
        f.edits.push_back(e);
    }
  };
  const std::string answered_text = measured ? " The STUN server " + *p.stun_server_ip + ":" +
                                                   std::to_string(p.stun_server_port) +
                                                   " answered natdiag."
                                             : "";
  if (!plain_ip(stun->value)) {
    auto& f = sink.add(
        "kurento-stun-hostname", "warning", *stun, measured ? p.stun_server_ip : std::nullopt,
        "stunServerAddress must be an IP address: Kurento does not resolve the name '" +
            stun->value + "', so it gets no srflx candidate (no public address) from it." +
            answered_text);
    fix(f);
    return false;
  }
  if (port_setting && !port) {
    sink.add("kurento-stun-port-invalid", "warning", *port_setting, std::nullopt,
             "stunServerPort '" + port_setting->value + "' is not a port number 1-65535.");
    return false;
  }
  const auto answered = stun_answered(facts, stun->value, *port);
  if (answered == false) {
    const bool other = measured && *p.stun_server_ip != stun->value;
    auto& f = sink.add("kurento-stun-unanswered", "warning", *stun,
                       other ? p.stun_server_ip : std::nullopt,
                       "The STUN server " + stun->value + ":" + std::to_string(*port) +
                           " did not answer natdiag: Kurento gets no srflx candidate (no public "
                           "address) from it." +
                           answered_text);
    if (other) fix(f);
    return false;
  }
  if (answered == true && p.stun_server_ip == stun->value && p.stun_rfc3489 == false) {
    sink.add("kurento-stun-no-classic", "warning", *stun, std::nullopt,
             "The STUN server " + stun->value +
                 " answers only RFC 5389 Binding requests, and libnice before 0.1.23 "
                 "(Debian 12's Kurento uses 0.1.21) asks in the RFC 3489 form: Kurento gets no "
                 "srflx candidate from it.");
    return false;
  }
  return answered == true;
}

void check_external_ipv6(FindingSink& sink, const Setting& s, const ConfigFacts& facts) {
  const auto& p = facts.profile;
  const auto ip = plain_ip(s.value);
  // Only an address an IPv6 STUN server reported is measured; a global address on an interface
  // may be one of several (temporary, deprecated, another interface's): never written as a fix.
  const auto measured = p.ipv6_udp == true ? p.public_ipv6 : std::nullopt;
  if (!ip || ip->family != stun::Family::kIPv6) {
    sink.add("kurento-external-ipv6-not-ip", "warning", s, measured,
             "externalIPv6 must be an IPv6 address, not '" + s.value + "'.");
  } else if (is_private(*ip)) {
    sink.add("kurento-external-ipv6-private", "warning", s, measured,
             "externalIPv6 " + s.value +
                 " is not a global address: peers on the Internet cannot reach it.");
  } else if (measured && plain_ip(*measured) &&
             ip->ip_string() != plain_ip(*measured)->ip_string()) {
    auto& f = sink.add("kurento-external-ipv6-stale", "warning", s, measured,
                       "externalIPv6 " + s.value + " is not this host's public IPv6 address " +
                           *measured + " (measured).");
    f.edits.push_back(replace_value(sink.file(), s, *measured));
  } else if (!p.public_ipv6 && !p.host_ipv6) {
    sink.add("kurento-external-ipv6-no-ipv6", "info", s, std::nullopt,
             "externalIPv6 is set, but this host has no global IPv6 address as natdiag saw it.");
  }
}

}  // namespace

void check_kurento(const ParsedFile& file, const ConfigFacts& facts, const ConfigFileKind& kind,
                   std::vector<ConfigFinding>& out) {
  FindingSink sink(file, "kurento", out);
  if (kind.role == "BaseRtpEndpoint.conf.ini") {
    check_port_range(sink, file.find("minPort"), file.find("maxPort"), facts, "kurento-port-range",
                     "minPort-maxPort");
    return;
  }
  const auto& p = facts.profile;
  const bool stun_works = check_stun(sink, file, facts);
  const auto* turn = file.find("turnURL");
  if (turn && !turn->value.empty()) {
    // user:password@address:port?transport=...: the address must be an IP, as for STUN.
    const auto at = turn->value.rfind('@');
    std::string host = turn->value.substr(at == std::string::npos ? 0 : at + 1);
    host = host.substr(0, host.find_first_of(":?"));
    if (!plain_ip(host)) {
      sink.add("kurento-turn-hostname", "warning", *turn, std::nullopt,
               "turnURL's address must be an IP address: Kurento does not resolve the name '" +
                   host + "'.");
    }
  }
  const auto* ext4 = file.find("externalIPv4");
  if (ext4 && !ext4->value.empty()) {
    check_public_ipv4(sink, *ext4, facts, "kurento-external-ipv4", "externalIPv4");
  } else if (p.behind_nat == true && !stun_works && !(turn && !turn->value.empty())) {
    sink.missing(
        "kurento-private-only", "critical", "externalIPv4", p.public_ipv4, p.public_ipv4,
        "This host is behind NAT and Kurento has no externalIPv4, no STUN server that gives it the "
        "public "
        "address and no TURN server: it will announce only its private address" +
            (p.local_ipv4 ? " " + *p.local_ipv4 : std::string()) +
            ", which peers on the Internet cannot reach." +
            (p.public_ipv4 ? " externalIPv4 makes it announce the measured public address " +
                                 *p.public_ipv4 + "."
                           : " natdiag has not measured the public address, so it cannot say what "
                             "to write."));
  }
  if (const auto* ext6 = file.find("externalIPv6"); ext6 && !ext6->value.empty())
    check_external_ipv6(sink, *ext6, facts);
}

}  // namespace natdiag::profile::config
