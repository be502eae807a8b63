#include "src/server_spec.hpp"

#include <algorithm>
#include <cctype>

#include "src/cli_common.hpp"

namespace natdiag::cli {

bool starts_with_ci(std::string_view text, std::string_view prefix) noexcept {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

ServerSpec parse_server(std::string_view text, std::string_view what) {
  ServerSpec spec;
  std::string_view rest = text;
  // RFC 7064 §3.1: scheme = "stun" / "stuns"; URI schemes are case-insensitive (RFC 3986 §3.1).
  if (starts_with_ci(rest, "stun:")) {
    spec.transport = client::Transport::kUdp;
    rest.remove_prefix(5);
  } else if (starts_with_ci(rest, "stuns:")) {
    spec.transport = client::Transport::kTls;
    rest.remove_prefix(6);
  } else if (rest.find("://") != std::string_view::npos || starts_with_ci(rest, "turn:") ||
             starts_with_ci(rest, "turns:")) {
    throw bad_value(what, "must be host[:port] or a stun:/stuns: URI", text);
  }
  // RFC 7064 allows "?transport=" only for turn:; accept it for stun: too, as people write it.
  if (const auto query = rest.find('?'); query != std::string_view::npos) {
    const auto param = rest.substr(query + 1);
    const bool secure = spec.transport == client::Transport::kTls;
    if (starts_with_ci(param, "transport=udp") && param.size() == 13) {
      // stuns: is STUN over TLS, and TLS runs over TCP: UDP would be DTLS, which natdiag
      // does not speak. Never fall back to plain UDP without saying so.
      if (secure) throw bad_value(what, "asks for stuns: (TLS) over UDP, which would be DTLS; use stun: for UDP", text);
      spec.transport = client::Transport::kUdp;
    } else if (starts_with_ci(param, "transport=tcp") && param.size() == 13) {
      spec.transport = secure ? client::Transport::kTls : client::Transport::kTcp;
    } else {
      throw bad_value(what, "has an unknown URI parameter '" + std::string(param) + "' (transport=udp or transport=tcp)",
                      text);
    }
    rest = rest.substr(0, query);
  }
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) throw bad_value(what, "has an unclosed '['", text);
    spec.host = std::string(rest.substr(1, close - 1));
    const auto tail = rest.substr(close + 1);
    if (!tail.empty()) {
      if (tail.front() != ':') throw bad_value(what, "is malformed", text);
      spec.port = parse_port(tail.substr(1), std::string(what) + " port");
    }
  } else if (std::count(rest.begin(), rest.end(), ':') == 1) {
    const auto colon = rest.find(':');
    spec.host = std::string(rest.substr(0, colon));
    spec.port = parse_port(rest.substr(colon + 1), std::string(what) + " port");
  } else {
    spec.host = std::string(rest);
  }
  validate_host(spec.host, what);
  // "[::ffff:10.0.0.1]" is 10.0.0.1: keep one form, so -4 and comparisons see an IPv4 address.
  if (const auto literal = stun::TransportAddress::parse(spec.host)) spec.host = literal->ip_string();
  return spec;
}

}  // namespace natdiag::cli
