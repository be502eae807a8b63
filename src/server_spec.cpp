#include "src/server_spec.hpp"

#include <algorithm>

#include "src/cli_common.hpp"

namespace natdiag::cli {

ServerSpec parse_server(std::string_view text, std::string_view what) {
  ServerSpec spec;
  std::string_view rest = text;
  if (rest.starts_with("stun:")) {
    spec.transport = client::Transport::kUdp;
    rest.remove_prefix(5);
  } else if (rest.starts_with("stuns:")) {
    spec.transport = client::Transport::kTls;
    rest.remove_prefix(6);
  } else if (rest.find("://") != std::string_view::npos || rest.starts_with("turn:") ||
             rest.starts_with("turns:")) {
    throw UsageError(std::string(what) + " must be host[:port] or a stun:/stuns: URI, got '" +
                     std::string(text) + "'");
  }
  // RFC 7064 allows "?transport=" only for turn:; accept it for stun: too, as people write it.
  if (const auto query = rest.find('?'); query != std::string_view::npos) {
    const auto param = rest.substr(query + 1);
    if (param == "transport=udp") {
      spec.transport = client::Transport::kUdp;
    } else if (param == "transport=tcp") {
      spec.transport = spec.transport == client::Transport::kTls ? client::Transport::kTls
                                                                 : client::Transport::kTcp;
    } else {
      throw UsageError(std::string(what) + " has an unknown URI parameter: '" + std::string(param) + "'");
    }
    rest = rest.substr(0, query);
  }
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) {
      throw UsageError(std::string(what) + " has an unclosed '[': '" + std::string(text) + "'");
    }
    spec.host = std::string(rest.substr(1, close - 1));
    const auto tail = rest.substr(close + 1);
    if (!tail.empty()) {
      if (tail.front() != ':') {
        throw UsageError(std::string(what) + " is malformed: '" + std::string(text) + "'");
      }
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
  return spec;
}

}  // namespace natdiag::cli
