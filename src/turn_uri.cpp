#include "src/turn_uri.hpp"

#include <cctype>

#include "src/cli_common.hpp"
#include "src/server_spec.hpp"
#include "stun/client/turn.hpp"

namespace natdiag::cli {

TurnUri parse_turn_uri(std::string_view text, std::string_view what) {
  TurnUri uri;
  std::string_view rest = text;
  bool secure = false;
  // RFC 7065 §3: scheme = "turn" / "turns", case-insensitive like every URI scheme.
  if (starts_with_ci(rest, "turns:")) {
    secure = true;
    rest.remove_prefix(6);
  } else if (starts_with_ci(rest, "turn:")) {
    rest.remove_prefix(5);
  } else {
    throw bad_value(what, "must be a turn: or turns: URI", text);
  }
  std::string_view transport;
  if (const auto query = rest.find('?'); query != std::string_view::npos) {
    const auto param = rest.substr(query + 1);
    if (!starts_with_ci(param, "transport=")) {
      throw bad_value(what, "has an unknown URI parameter '" + std::string(param) + "' (transport=udp|tcp)", text);
    }
    transport = param.substr(10);
    rest = rest.substr(0, query);
  }
  if (rest.empty() || rest.starts_with("//") || starts_with_ci(rest, "stun") ||
      rest.find('@') != std::string_view::npos) {
    throw bad_value(what, "must be turn[s]:host[:port][?transport=udp|tcp]", text);
  }
  if (transport.empty()) {
    uri.transport = secure ? client::Transport::kTls : client::Transport::kUdp;
  } else if (starts_with_ci(transport, "udp") && transport.size() == 3) {
    if (secure) {
      throw bad_value(what, "asks for TURN over DTLS (turns: with transport=udp), which libnice does not support",
                      text);
    }
    uri.transport = client::Transport::kUdp;
  } else if (starts_with_ci(transport, "tcp") && transport.size() == 3) {
    uri.transport = secure ? client::Transport::kTls : client::Transport::kTcp;
  } else {
    throw bad_value(what, "has an unknown transport '" + std::string(transport) + "' (udp or tcp)", text);
  }
  const ServerSpec spec = parse_server(rest, what);
  uri.host = spec.host;
  uri.port = spec.port.value_or(secure ? kTurnsPort : kTurnPort);
  return uri;
}

void check_turn_username(std::string_view username, std::string_view user_given) {
  if (username.size() <= client::kMaxUsernameBytes) return;
  throw UsageError(ErrorKind::kUsage,
                   "--user must make a TURN USERNAME of fewer than 509 bytes (RFC 8489 §14.3), "
                   "got " + std::to_string(username.size()) + " bytes",
                   std::string(user_given));
}

}  // namespace natdiag::cli
