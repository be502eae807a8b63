// The server side of the browser check: `natdiag serve --web`. An HTTP(S) server (libsoup 3)
// and one libnice peer per check, all on a GLib main loop in a thread of their own, next to
// the STUN server. Endpoints (docs/web.md): GET / and the page's files, GET /api/config,
// POST /api/check (signaling), POST /api/result (appended to --results). /api/config and
// /api/result share a per-client token bucket; stored results have a global cap too.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace natdiag::web {

/// What `serve --web` was told.
struct WebOptions {
  std::string listen_ip = "0.0.0.0";
  std::uint16_t listen_port = 8080;
  std::string tls_cert;                   ///< PEM; with tls_key: HTTPS
  std::string tls_key;
  std::uint16_t media_port_min = 0;       ///< 0: any port
  std::uint16_t media_port_max = 0;
  std::vector<std::string> turn_uris;     ///< turn:/turns: URIs the page tests, relay only
  std::string turn_secret;                ///< TURN REST shared secret (coturn static-auth-secret)
  std::string results_path;               ///< --results: one JSON line per posted result
  std::vector<std::string> stun_servers;  ///< "ip:port" of serve's UDP sockets; 0.0.0.0 = the page's host
  bool json_log = false;                  ///< serve --json-log: log lines are JSON objects
  int session_seconds = 20;               ///< an ICE peer lives this long
  int per_ip_sessions = 16;               ///< concurrent ICE peers per client IP (IPv6: per prefix)
  int max_sessions = 128;                 ///< concurrent ICE peers in all
  int ipv6_prefix = 64;                   ///< IPv6 clients count as one per prefix (serve --ipv6-prefix)
  double api_per_minute = 10;             ///< GET /api/config + POST /api/result per client, sustained
  double api_burst = 20;                  ///< ... and at once
  double results_per_minute = 120;        ///< POST /api/result from all clients together
  int log_interval_seconds = 10;          ///< a refusal reason is logged at most once per interval
};

/// A running web service; construction binds (throws std::runtime_error: exit 3).
class WebService {
 public:
  explicit WebService(WebOptions options);
  ~WebService();
  WebService(const WebService&) = delete;
  WebService& operator=(const WebService&) = delete;

  /// The URLs it listens on ("http://203.0.113.10:8080/").
  [[nodiscard]] const std::vector<std::string>& urls() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace natdiag::web
