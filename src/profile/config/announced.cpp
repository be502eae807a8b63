#include "src/profile/config/announced.hpp"

#include <algorithm>
#include <charconv>

#include "stun/net/endpoint.hpp"
#include "stun/proto/types.hpp"

namespace natdiag::profile::config {

std::vector<std::string> split_text_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (true) {
    const auto nl = text.find('\n', start);
    lines.emplace_back(
        text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start));
    if (nl == std::string_view::npos) return lines;
    start = nl + 1;
  }
}

bool is_ip_literal(std::string_view text) {
  const auto a = stun::TransportAddress::parse(text);
  // parse() also takes "1.2.3.4:5" and "[::1]:5": an IP literal has no port and no brackets.
  return a && a->port == 0 && text.find('[') == std::string_view::npos &&
         (a->family == stun::Family::kIPv6 || text.find(':') == std::string_view::npos);
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value == 0 || value > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
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
    out.port = parse_port(port);
    out.bad_port = !out.port;
  }
  return out;
}

std::optional<AddressProblem> check_announced_ipv4(std::string_view value,
                                                   const cli::ProfileFacts& facts) {
  const auto address = stun::TransportAddress::parse(value);
  if (!address || address->family != stun::Family::kIPv4 || !is_ip_literal(value)) {
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
  if (answered && is_ip_literal(host)) {
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
  return StunProblem{"not-asked", "info",
                     "natdiag did not ask " + named + other +
                         ", so it cannot tell whether that server answers from this host; if it "
                         "does not, the server learns no public address."};
}

std::optional<std::string> udp_ports_not_open(const Measurements& measured,
                                              const cli::PortRange& range) {
  std::string out;
  std::uint32_t count = 0;
  for (const auto& m : measured.udp_ports) {
    if (m.state == "open" || !m.range.overlaps(range)) continue;
    const cli::PortRange part{std::max(m.range.first, range.first),
                              std::min(m.range.last, range.last)};
    out += (out.empty() ? "" : ", ") + part.text() + " " + m.state;
    count += part.size();
  }
  if (out.empty()) return std::nullopt;
  return out + " (" + std::to_string(count) + " of " + std::to_string(range.size()) + " ports)";
}

std::optional<cli::PortRange> firewall_media_range(std::string_view server) {
  const auto* ports = cli::find_media_server_ports(server);
  if (!ports) return std::nullopt;
  return ports->media;
}

}  // namespace natdiag::profile::config
