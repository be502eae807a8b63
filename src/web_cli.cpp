#include "src/web_cli.hpp"

#include <iostream>

#include "src/cli_common.hpp"

namespace natdiag::cli {

void add_web_options(cxxopts::Options& options) {
  options.add_options("web")
      ("web", "serve the browser check page on ADDR:PORT (HTTP, or HTTPS with --tls-cert)", cxxopts::value<std::string>())
      ("tls-cert", "with --web: certificate chain (PEM) for HTTPS", cxxopts::value<std::string>())
      ("tls-key", "with --web: private key (PEM) for HTTPS", cxxopts::value<std::string>())
      ("media-ports", "with --web: UDP/TCP port range of the check's ICE peer, e.g. 50000-50100", cxxopts::value<std::string>())
      ("turn", "with --web: TURN URI the page tests, relay only (repeatable; turn:H:P = UDP and TCP)", cxxopts::value<std::vector<std::string>>())
      ("turn-secret", "with --web: TURN REST shared secret (coturn static-auth-secret); never sent", cxxopts::value<std::string>())
      ("results", "with --web: append each posted result to FILE as one JSON line", cxxopts::value<std::string>());
}

std::optional<web::WebOptions> parse_web_options(const cxxopts::ParseResult& args) {
  for (const char* needs_web : {"tls-cert", "tls-key", "media-ports", "turn", "turn-secret", "results"}) {
    if (args.count(needs_web) && !args.count("web")) throw UsageError(std::string("--") + needs_web + " needs --web");
  }
  if (!args.count("web")) return std::nullopt;
  web::WebOptions o;
  const auto listen = parse_ip_port(args["web"].as<std::string>(), "--web");
  if (listen.port == 0) throw UsageError("--web needs ADDR:PORT with a port, got '" + args["web"].as<std::string>() + "'");
  o.listen_ip = listen.ip_string();
  o.listen_port = listen.port;
  if (args.count("tls-cert") != args.count("tls-key")) throw UsageError("--tls-cert and --tls-key go together");
  if (args.count("tls-cert")) {
    o.tls_cert = args["tls-cert"].as<std::string>();
    o.tls_key = args["tls-key"].as<std::string>();
  }
  if (args.count("media-ports")) {
    std::tie(o.media_port_min, o.media_port_max) = parse_port_range(args["media-ports"].as<std::string>(), "--media-ports");
  }
  if ((args.count("turn") > 0) != (args.count("turn-secret") > 0)) {
    throw UsageError("--turn and --turn-secret go together (the page gets short-lived TURN REST credentials)");
  }
  if (args.count("turn")) {
    for (const auto& uri : args["turn"].as<std::vector<std::string>>()) {
      if (!uri.starts_with("turn:") && !uri.starts_with("turns:")) {
        throw UsageError("--turn must be a turn: or turns: URI, got '" + uri + "'");
      }
      if (uri.starts_with("turn:") && uri.find("?transport=") == std::string::npos) {
        o.turn_uris.push_back(uri + "?transport=udp");
        o.turn_uris.push_back(uri + "?transport=tcp");
      } else {
        o.turn_uris.push_back(uri);
      }
    }
    o.turn_secret = args["turn-secret"].as<std::string>();
  }
  if (args.count("results")) o.results_path = args["results"].as<std::string>();
  o.json_log = args.count("json") > 0 || args.count("json-log") > 0;
  return o;
}

std::unique_ptr<web::WebService> start_web(const std::optional<web::WebOptions>& options,
                                           const std::vector<std::string>& listeners) {
  if (!options) return nullptr;
  web::WebOptions o = *options;
  for (const auto& l : listeners) {
    if (l.starts_with("udp ") && o.stun_servers.size() < 2) o.stun_servers.push_back(l.substr(4));
  }
  const bool json_log = o.json_log;
  auto service = std::make_unique<web::WebService>(std::move(o));
  for (const auto& url : service->urls()) {
    if (json_log) {
      std::cout << nlohmann::ordered_json{{"schema", "natdiag/1"}, {"command", "serve"}, {"event", "web-ready"}, {"url", url}}.dump() << "\n";
    } else {
      std::cout << "  web check page on " << url << "\n";
    }
  }
  return service;
}

}  // namespace natdiag::cli
