// The TCP check for a port that a local service already owns (nginx or HAProxy of a running
// BigBlueButton): natdiag cannot listen there, so it compares the local path with the public one.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "hairpin/tcp_probe.hpp"
#include "stun/net/interfaces.hpp"
#include "stun/net/stream.hpp"

namespace natdiag::hairpin {
namespace {

using std::chrono::milliseconds;

/// Headers that differ between two identical requests to the same service.
constexpr std::string_view kVolatileHeaders[] = {
    "date",      "expires",    "set-cookie", "age",        "x-request-id",     "request-id",
    "x-runtime", "x-trace-id", "cf-ray",     "keep-alive", "x-amz-request-id", "x-amz-id-2",
    "report-to"};

/// At most this much of an answer is compared: the status line and headers fit.
constexpr std::size_t kMaxResponse = 2048;
/// After the first bytes, wait this long for the rest of a short answer.
constexpr milliseconds kQuietAfterFirstBytes{200};

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    auto line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

std::string header_value(std::string_view response, std::string_view name) {
  for (auto line : split_lines(response)) {
    if (line.empty()) break;
    const auto colon = line.find(':');
    if (colon != std::string_view::npos && lowercase(line.substr(0, colon)) == name) {
      return std::string(line.substr(colon + 1));
    }
  }
  return {};
}

/// RFC 8446 §5.1 / RFC 5246 §6.2: a TLS record starts with its content type (0x15 alert,
/// 0x16 handshake) and the major version 3.
bool looks_like_tls(std::string_view response) {
  return response.size() >= 2 && (response[0] == '\x15' || response[0] == '\x16') &&
         response[1] == '\x03';
}

/// SocketError is thrown for a connection that never opened, and also for a TLS handshake
/// that timed out after it opened; only the message tells them apart.
bool handshake_stage(const std::exception& e) {
  return std::string_view(e.what()).starts_with("TLS handshake");
}

std::string describe_connect_error(int error) {
  if (error == ECONNREFUSED) return "connection refused";
  if (error == ETIMEDOUT) return "no answer (timed out)";
  return std::strerror(error);
}

std::vector<TransportAddress> local_candidates(const TransportAddress& external_ip,
                                               std::uint16_t port) {
  std::vector<TransportAddress> out;
  for (const auto& entry : net::local_addresses()) {
    const auto& a = entry.address;
    const bool link_local_v6 =
        a.family == stun::Family::kIPv6 && a.ip[0] == 0xfe && (a.ip[1] & 0xc0) == 0x80;
    if (!entry.up || entry.loopback || a.family != external_ip.family || a.same_ip(external_ip) ||
        link_local_v6)
      continue;
    if (out.size() < 3) out.push_back(a);
  }
  out.push_back(
      *TransportAddress::parse(external_ip.family == stun::Family::kIPv4 ? "127.0.0.1" : "::1"));
  for (auto& a : out) a.port = port;
  return out;
}

LocalPath sample_local(std::uint16_t port, const TcpProbeOptions& options, TimePoint deadline) {
  const auto candidates = local_candidates(options.external_ip, port);
  bool lan_refused = false;
  LocalPath path;
  for (const auto& candidate : candidates) {
    const bool loopback = &candidate == &candidates.back();
    PathSample s = is_tls_port(port) ? sample_tls(candidate, options.server_name, deadline)
                                     : sample_plain(candidate, deadline);
    if (!s.connected) {
      lan_refused = lan_refused || !loopback;
      path.sample = std::move(s);
      continue;
    }
    if (is_tls_port(port) && !s.tls) {
      s = sample_plain(candidate, deadline);
    } else if (!is_tls_port(port) && (looks_like_tls(s.response) || s.response.empty())) {
      PathSample tls = sample_tls(candidate, options.server_name, deadline);
      if (tls.tls) s = std::move(tls);
    }
    path.sample = std::move(s);
    path.loopback_only = loopback && lan_refused;
    return path;
  }
  return path;
}

}  // namespace

bool is_tls_port(std::uint16_t port) noexcept {
  return port == 443 || port == 8443 || port == 5349;
}

PathSample sample_tls(const TransportAddress& address, const std::string& server_name,
                      TimePoint deadline) {
  PathSample s;
  s.address = address;
  net::TlsOptions tls;
  tls.enabled = true;
  tls.verify = false;  // the fingerprint is compared, not trusted
  tls.server_name = server_name;
  try {
    auto conn = net::StreamConnection::connect(address, std::nullopt, tls, deadline);
    s.connected = true;
    s.tls = true;
    s.certificate_sha256 = conn.peer_certificate_sha256();
  } catch (const net::SocketError& e) {
    s.connected = handshake_stage(e);
    s.connect_error = s.connected ? 0 : e.error_number();
    s.error = s.connected ? e.what() : describe_connect_error(e.error_number());
  } catch (const std::exception& e) {
    s.connected = true;  // only the handshake throws anything but SocketError
    s.error = e.what();
  }
  return s;
}

PathSample sample_plain(const TransportAddress& address, TimePoint deadline) {
  PathSample s;
  s.address = address;
  try {
    auto conn = net::StreamConnection::connect(address, std::nullopt, net::TlsOptions{}, deadline);
    s.connected = true;
    std::string error;
    const auto* request = reinterpret_cast<const std::uint8_t*>(kPlainRequest.data());
    if (!conn.send_all({request, kPlainRequest.size()}, deadline, error)) {
      s.error = error;
      return s;
    }
    TimePoint read_until = deadline;
    while (s.response.size() < kMaxResponse) {
      auto chunk = conn.receive_some(kMaxResponse - s.response.size(), read_until, error);
      if (!chunk) break;  // closed, quiet or timed out: what came so far is the answer
      s.response.append(chunk->begin(), chunk->end());
      read_until = std::min(deadline, stun::Clock::now() + kQuietAfterFirstBytes);
    }
    if (s.response.empty()) s.error = error;
  } catch (const net::SocketError& e) {
    s.connect_error = e.error_number();
    s.error = describe_connect_error(e.error_number());
  }
  return s;
}

std::string normalise_response(std::string_view response) {
  std::string out;
  bool in_headers = true;
  bool first = true;
  for (auto line : split_lines(response)) {
    if (in_headers && !first) {
      if (line.empty()) {
        in_headers = false;
      } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
        const auto name = lowercase(line.substr(0, colon));
        if (std::find(std::begin(kVolatileHeaders), std::end(kVolatileHeaders), name) !=
            std::end(kVolatileHeaders))
          continue;
      }
    }
    first = false;
    out.append(line);
    out.push_back('\n');
  }
  return out;
}

Sameness compare_responses(std::string_view local, std::string_view via_public) {
  if (local.empty() && via_public.empty()) return Sameness::kNothing;
  if (local.empty() || via_public.empty()) return Sameness::kDifferent;
  if (normalise_response(local) == normalise_response(via_public)) return Sameness::kSame;
  const auto local_lines = split_lines(local);
  const auto public_lines = split_lines(via_public);
  if (local_lines.front() != public_lines.front()) return Sameness::kDifferent;
  if (header_value(local, "server") != header_value(via_public, "server"))
    return Sameness::kDifferent;
  return Sameness::kSimilar;
}

std::string first_line(std::string_view response, std::size_t max) {
  std::string out;
  for (char c : response) {
    if (c == '\r' || c == '\n' || out.size() >= max) break;
    out.push_back(c >= 0x20 && c < 0x7f ? c : '.');
  }
  return out;
}

std::string short_fingerprint(std::string_view fingerprint) {
  if (fingerprint.size() <= 20) return std::string(fingerprint);
  return std::string(fingerprint.substr(0, 11)) + "..." +
         std::string(fingerprint.substr(fingerprint.size() - 5));
}

CheckResult compare_paths_check(std::uint16_t port, const TcpProbeOptions& options) {
  // The local path is quick when it works; keep half the budget for the public path, which
  // may have to wait for a dropped SYN.
  const auto now = stun::Clock::now();
  const auto local_deadline = now + (options.deadline - now) / 2;
  const LocalPath local = sample_local(port, options, local_deadline);
  TransportAddress target = options.external_ip;
  target.port = port;
  PathSample via_public;
  if (local.sample.connected) {
    via_public = local.sample.tls ? sample_tls(target, options.server_name, options.deadline)
                                  : sample_plain(target, options.deadline);
  }
  return decide_by_comparison(port, options.external_ip, local, via_public);
}

namespace {

/// The names a comparison verdict is worded with.
struct Paths {
  std::string port;     ///< "443"
  std::string pub;      ///< "203.0.113.1:443"
  std::string here;     ///< "10.77.0.10:443"
  std::string service;  ///< "this host's service on 10.77.0.10:443"
};

CheckResult& decide(CheckResult& r, Result result, std::string detail, std::string why) {
  r.result = result;
  r.detail = std::move(detail);
  r.why = std::move(why);
  return r;
}

std::string quoted_first_line(std::string_view response) {
  if (response.empty()) return "nothing";
  std::string quoted = first_line(response);
  quoted.insert(quoted.begin(), '\'');  // (not "'" + string: GCC 12 warns a false -Wrestrict)
  quoted.push_back('\'');
  return quoted;
}

/// The public path did not even connect, while the local service answers.
CheckResult decide_unreachable(CheckResult r, const Paths& p, const LocalPath& local,
                               const PathSample& via_public) {
  if (local.loopback_only) {
    return decide(r, Result::kInconclusive,
                  p.pub + ": " + via_public.error + ", but " + p.service +
                      " listens on loopback only, so a forwarded connection could not reach it",
                  "The service that owns port " + p.port +
                      " answers on loopback and refuses on this host's LAN addresses; a router "
                      "forwards to a LAN address, so a refusal via " +
                      p.pub + " says nothing about hairpin NAT.");
  }
  const std::string what =
      via_public.connect_error == ECONNREFUSED
          ? "the connection was refused (TCP RST): the router, or the host it forwards the port "
            "to, has nothing listening there."
          : "the connection attempt got no answer: the router dropped it.";
  return decide(r, Result::kNotSupported,
                p.pub + ": " + via_public.error + ", while " + p.service + " answers",
                "A local service owns port " + p.port + " and answers on " + p.here +
                    ". Had the router hairpinned the connection to " + p.pub +
                    ", that service would have answered it; instead " + what);
}

/// Both paths connected and the local service speaks TLS: the certificates decide.
CheckResult decide_tls(CheckResult r, const Paths& p, const PathSample& mine,
                       const PathSample& via_public) {
  if (!via_public.tls) {
    return decide(r, Result::kNotSupported,
                  p.pub + " does not complete a TLS handshake (" + via_public.error + "), while " +
                      p.service + " does: another machine answered",
                  p.service + " speaks TLS; the connection via " + p.pub +
                      " was accepted but the TLS handshake failed, so it reached a different "
                      "service (e.g. the router's own web interface).");
  }
  const std::string compared =
      "A local service owns port " + p.port + ", so natdiag compared TLS certificates";
  if (via_public.certificate_sha256 == mine.certificate_sha256) {
    return decide(r, Result::kSupported,
                  "the TLS certificate via " + p.pub + " is the one " + p.service +
                      " presents (SHA-256 " + short_fingerprint(mine.certificate_sha256) + ")",
                  compared + ": via " + p.pub + " and via " + p.here +
                      " the same certificate (SHA-256 " + mine.certificate_sha256 +
                      ") came back, so the connection to the public address reached this host's "
                      "service.");
  }
  return decide(r, Result::kNotSupported,
                "a different TLS certificate via " + p.pub + " (SHA-256 " +
                    short_fingerprint(via_public.certificate_sha256) + ") than " + p.service +
                    " (" + short_fingerprint(mine.certificate_sha256) +
                    "): another machine answered",
                compared + ". Via " + p.here + ": SHA-256 " + mine.certificate_sha256 + "; via " +
                    p.pub + ": SHA-256 " + via_public.certificate_sha256 +
                    ". A different certificate means a different server answered, typically the "
                    "router's admin page.");
}

/// Both paths connected to a service without TLS: the answers to the same request decide.
CheckResult decide_plain(CheckResult r, const Paths& p, const PathSample& mine,
                         const PathSample& via_public) {
  const std::string request = "the same request (HEAD / HTTP/1.0)";
  switch (compare_responses(mine.response, via_public.response)) {
    case Sameness::kSame:
      return decide(r, Result::kSupported,
                    "the same answer via " + p.pub + " as from " + p.service + " (" +
                        quoted_first_line(mine.response) + ")",
                    "A local service owns port " + p.port +
                        " and does not speak TLS, so natdiag sent " + request +
                        " on both paths; the answers were identical apart from per-request "
                        "headers (Date, Set-Cookie, ...), so the public path reached this host's "
                        "service.");
    case Sameness::kDifferent:
      return decide(r, Result::kNotSupported,
                    "a different answer via " + p.pub + " (" +
                        quoted_first_line(via_public.response) + ") than from " + p.service + " (" +
                        quoted_first_line(mine.response) + "): another machine answered",
                    "natdiag sent " + request + " to " + p.here + " and to " + p.pub +
                        "; the status line, banner or Server header differ, so the public path "
                        "reached a different service.");
    case Sameness::kSimilar:
      return decide(r, Result::kInconclusive,
                    "via " + p.pub + " and from " + p.service + " the same status (" +
                        quoted_first_line(mine.response) + ") but different content: cannot tell",
                    "The two answers share the status line and Server header but differ "
                    "elsewhere; a dynamic page and a second server running the same software "
                    "look alike here, so natdiag does not decide.");
    case Sameness::kNothing: break;
  }
  return decide(r, Result::kInconclusive,
                "the service on port " + p.port + " sent nothing on either path to compare",
                "Both connections opened, but neither answered " + request +
                    " before the timeout; an open connection alone proves nothing (the router "
                    "may have accepted it).");
}

}  // namespace

CheckResult decide_by_comparison(std::uint16_t port, const TransportAddress& external_ip,
                                 const LocalPath& local, const PathSample& via_public) {
  CheckResult r = check_for(Protocol::kTcp, port);
  const auto& mine = local.sample;
  if (!mine.connected) {
    return decide(r, Result::kInconclusive,
                  "port " + std::to_string(port) +
                      " is taken here, but no local address answers on it (" + mine.error +
                      "): nothing to compare with",
                  "Another program holds TCP port " + std::to_string(port) +
                      ", so natdiag could not listen there itself, and that program did not "
                      "accept a connection on this host's own addresses either.");
  }
  r.method = mine.tls ? Method::kTlsCertificate : Method::kResponseBytes;
  TransportAddress target = external_ip;
  target.port = port;
  const std::string here = mine.address ? mine.address->to_string() : "a local address";
  const Paths paths{std::to_string(port), target.to_string(), here,
                    "this host's service on " + here};
  if (!via_public.connected) return decide_unreachable(r, paths, local, via_public);
  return mine.tls ? decide_tls(r, paths, mine, via_public)
                  : decide_plain(r, paths, mine, via_public);
}

}  // namespace natdiag::hairpin
