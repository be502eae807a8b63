#include "src/profile/config/announced.hpp"

#include <algorithm>

#include "stun/net/endpoint.hpp"
#include "stun/proto/types.hpp"

namespace natdiag::profile::config {

Measurements measurements_of(const ConfigFacts& facts) {
  return {facts.stun_answers, facts.udp_ports};
}

HostPort split_host_port(std::string_view text) {
  HostPort out;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return {std::string(text), std::nullopt, false};
    out.host = std::string(text.substr(1, close - 1));
    if (close + 1 < text.size() && text[close + 1] == ':') port = text.substr(close + 2);
  } else if (text.find(':') != text.rfind(':')) {
    out.host = std::string(text);  // a bare IPv6 literal
  } else if (const auto colon = text.find(':'); colon != std::string_view::npos) {
    out.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  } else {
    out.host = std::string(text);
  }
  if (!port.empty()) {
    out.port = port_number(port);
    out.bad_port = !out.port;
  }
  return out;
}

std::optional<AddressProblem> check_announced_ipv4(std::string_view value,
                                                   const cli::ProfileFacts& facts) {
  const auto address = stun::TransportAddress::parse(value);
  if (!address || address->family != stun::Family::kIPv4 || !plain_ip(value)) {
    return std::nullopt;
  }
  const std::string v(value);
  if (facts.public_ipv4 && v == *facts.public_ipv4) return std::nullopt;
  const bool private_address = net::is_private_or_local(*address) || facts.local_ipv4 == v;
  if (facts.behind_nat == true && private_address) {
    return AddressProblem{
        "private", "critical",
        v + " is a private address and this host is behind NAT" +
            (facts.public_ipv4 ? " (natdiag measured the public address " + *facts.public_ipv4 + ")"
                               : std::string()) +
            ": peers on the Internet cannot reach the address the server announces."};
  }
  if (facts.public_ipv4) {
    return AddressProblem{"stale", "critical",
                          v + " is not this host's public address as natdiag measured it (" +
                              *facts.public_ipv4 +
                              "): an old address or another host's, so peers send media where "
                              "this server is not."};
  }
  return std::nullopt;
}

std::optional<std::string> answered_stun_server(const cli::ProfileFacts& facts) {
  if (!facts.stun_server_ip || facts.udp != true) return std::nullopt;
  auto a = stun::TransportAddress::parse(*facts.stun_server_ip);
  if (!a) return std::nullopt;
  a->port = facts.stun_server_port;
  return a->to_string();
}

std::optional<StunProblem> check_stun_server(std::string_view host,
                                             std::optional<std::uint16_t> port,
                                             const cli::ProfileFacts& facts,
                                             const Measurements& measured) {
  // RFC 8489 §18.6: 3478 is STUN's default port.
  const std::uint16_t wanted_port = port.value_or(3478);
  std::string named(host);
  named.append(":").append(std::to_string(wanted_port));
  const auto answered = answered_stun_server(facts);
  if (answered && plain_ip(host)) {
    const auto a = stun::TransportAddress::parse(host);
    const auto b = stun::TransportAddress::parse(*facts.stun_server_ip);
    if (a && b && a->same_ip(*b) && wanted_port == facts.stun_server_port) return std::nullopt;
  }
  const std::string other =
      answered ? " (the STUN server that answered the profile is " + *answered + ")" : "";
  if (const auto it = measured.stun_answers.find(named); it != measured.stun_answers.end()) {
    if (it->second) return std::nullopt;
    return StunProblem{"unanswered", "warning",
                       "The STUN server " + named + " did not answer natdiag from this host" +
                           other + ": the server learns no public address from it."};
  }
  if (!facts.measured() && facts.stun_error) {
    return StunProblem{"none-answered", "warning",
                       "No STUN server answered natdiag from this host (" + *facts.stun_error +
                           "); natdiag did not ask " + named +
                           ", but if STUN is blocked on the way out its answer is lost too and "
                           "the server learns no public address."};
  }
  if (!facts.measured()) return std::nullopt;
  // Nothing is known against it: no edit replaces it (the caller writes none for "not-asked").
  return StunProblem{"not-asked", "info",
                     "natdiag did not ask " + named + other +
                         ", so it cannot tell whether that server answers from this host; if it "
                         "does not, the server learns no public address. Ask it from here: "
                         "natdiag stun " +
                         std::string(host) + " " + std::to_string(wanted_port) + "."};
}

std::optional<cli::PortRange> firewall_media_range(std::string_view server) {
  const auto* ports = cli::find_media_server_ports(server);
  if (!ports) return std::nullopt;
  return ports->media;
}

}  // namespace natdiag::profile::config
