#include "src/web/web_service.hpp"

#include <libsoup/soup.h>

#include <chrono>
#include <ctime>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "src/web/assets.hpp"
#include "src/web/ice_peer.hpp"
#include "src/web/results.hpp"
#include "stun/server/rate_limiter.hpp"

namespace natdiag::web {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

/// One check in progress: the ICE peer and what the log line needs.
struct Session {
  std::string client_ip;
  server::SourceKey client_key;  ///< IPv6 cut to --ipv6-prefix: what the per-client limit counts
  std::string check;
  Clock::time_point started;
  /// The paused POST /api/check until gathered, with a reference: a client that goes away makes
  /// libsoup finish and unref the message, and "finished" clears this before it can dangle.
  SoupServerMessage* pending = nullptr;
  gulong finished_handler = 0;
  std::unique_ptr<IcePeer> peer;
  bool logged = false;
};

void respond(SoupServerMessage* msg, guint status, std::string_view type, std::string_view body) {
  // libsoup has no phrase for 429 (RFC 6585) and would send "Unknown Error".
  soup_server_message_set_status(msg, status, status == 429 ? "Too Many Requests" : nullptr);
  soup_server_message_set_response(msg, std::string(type).c_str(), SOUP_MEMORY_COPY, body.data(), body.size());
  soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Cache-Control", "no-store");
}

void respond_error(SoupServerMessage* msg, guint status, const std::string& message) {
  respond(msg, status, "application/json", json{{"error", message}}.dump());
}

/// One log line on stdout: TEXT, or with --json-log EVENT as a natdiag/1 serve JSON line.
void log_line(bool json_log, const std::string& text, json event) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  if (json_log) {
    nlohmann::ordered_json line{{"schema", "natdiag/1"}, {"command", "serve"}};
    for (auto& [key, value] : event.items()) line[key] = value;
    std::cout << line.dump() << std::endl;
  } else {
    std::cout << "natdiag serve --web: " << text << std::endl;
  }
}

/// The client of `msg` as an address ("::ffff:192.0.2.1" read as IPv4), or nullopt.
std::optional<stun::TransportAddress> client_of(SoupServerMessage* msg) {
  const char* host = soup_server_message_get_remote_host(msg);
  if (host == nullptr) return std::nullopt;
  std::string_view h = host;
  if (h.starts_with("::ffff:") && h.find('.') != std::string_view::npos) h.remove_prefix(7);
  const bool v6 = h.find(':') != std::string_view::npos;
  std::string text;
  text.append(v6 ? "[" : "").append(h).append(v6 ? "]:0" : ":0");
  return stun::TransportAddress::parse(text);
}

/// Refusals counted per reason and logged at most once per interval, like serve's other ones.
struct Refusals {
  struct Count {
    std::uint64_t count = 0;
    std::string last_source;
    std::optional<Clock::time_point> last_logged;
  };
  std::map<std::string, Count> by_reason;

  /// Counts one; logs now when the reason was not logged within `interval`.
  void add(bool json_log, const std::string& reason, const std::string& source, std::chrono::seconds interval) {
    auto& c = by_reason[reason];
    ++c.count;
    c.last_source = source;
    if (!c.last_logged || Clock::now() - *c.last_logged >= interval) log(json_log, reason, c);
  }
  /// Logs every reason with refusals not yet logged (the interval timer).
  void flush(bool json_log) {
    for (auto& [reason, c] : by_reason) {
      if (c.count > 0) log(json_log, reason, c);
    }
  }
  static void log(bool json_log, const std::string& reason, Count& c) {
    log_line(json_log,
             "refused " + std::to_string(c.count) + " " + reason + (c.count == 1 ? " request" : " requests") +
                 (c.last_source.empty() ? "" : ", last from " + c.last_source),
             json{{"event", "refused"}, {"reason", reason}, {"count", c.count},
                  {"last_source", c.last_source.empty() ? json(nullptr) : json(c.last_source)}});
    c.count = 0;
    c.last_logged = Clock::now();
  }
};

}  // namespace

struct WebService::Impl {
  WebOptions options;
  std::vector<std::string> urls;
  std::optional<ResultsFile> results;
  GMainContext* context = nullptr;
  GMainLoop* loop = nullptr;
  SoupServer* server = nullptr;
  std::thread thread;
  std::map<std::uint64_t, Session> sessions;
  std::uint64_t next_id = 1;
  std::unique_ptr<server::RateLimiter> api_limiter;     ///< per client, /api/config + /api/result
  std::unique_ptr<server::RateLimiter> results_limiter; ///< one bucket: every client asks with one key
  Refusals refusals;

  /// False (and the answer set: 429) when `msg`'s client is over its budget or results over theirs.
  bool admit(SoupServerMessage* msg, bool result);
  void refuse(SoupServerMessage* msg, guint status, const std::string& reason, const std::string& text);

  void start(std::promise<void>& started);
  void handle(SoupServerMessage* msg, const char* path);
  void handle_config(SoupServerMessage* msg);
  void handle_check(SoupServerMessage* msg, const json& body);
  void handle_result(SoupServerMessage* msg, const json& body);
  void finish(std::uint64_t id, bool connected, const char* why);
  void close_session(std::uint64_t id);
  void drop_pending(Session& s);
};

namespace {

void on_request(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*, gpointer data) {
  static_cast<WebService::Impl*>(data)->handle(msg, path);
}

/// The body limit of `path`: results are small, checks carry up to 64 candidates.
std::size_t body_limit(std::string_view path) {
  return path == "/api/result" ? kMaxResultBytes : kMaxBodyBytes;
}

std::string too_large_text(std::string_view path) {
  return "request body larger than " + std::to_string(body_limit(path) / 1024) + " KiB";
}

/// Before the body is read: the per-client budget of the API, then a declared Content-Length
/// above the path's cap is refused at once (neither reads the body).
void on_headers(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*, gpointer data) {
  auto* self = static_cast<WebService::Impl*>(data);
  const std::string_view p = path;
  if ((p == "/api/config" || p == "/api/result") && !self->admit(msg, p == "/api/result")) return;
  const goffset length = soup_message_headers_get_content_length(soup_server_message_get_request_headers(msg));
  if (length > static_cast<goffset>(body_limit(p))) {
    self->refuse(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "web-too-large", too_large_text(p));
  }
}

}  // namespace

void WebService::Impl::start(std::promise<void>& started) {
  context = g_main_context_new();
  g_main_context_push_thread_default(context);
  loop = g_main_loop_new(context, FALSE);
  GError* error = nullptr;
  GTlsCertificate* cert = nullptr;
  if (!options.tls_cert.empty()) {
    cert = g_tls_certificate_new_from_files(options.tls_cert.c_str(), options.tls_key.c_str(), &error);
    if (cert == nullptr) {
      started.set_exception(std::make_exception_ptr(std::runtime_error(
          "cannot load --tls-cert/--tls-key: " + std::string(error->message))));
      g_error_free(error);
      return;
    }
  }
  server = cert != nullptr ? soup_server_new("server-header", "natdiag", "tls-certificate", cert, nullptr)
                           : soup_server_new("server-header", "natdiag", nullptr);
  if (cert != nullptr) g_object_unref(cert);
  soup_server_add_early_handler(server, nullptr, on_headers, this, nullptr);
  // Refusals not yet logged are logged at the end of their interval.
  GSource* flush = g_timeout_source_new_seconds(static_cast<guint>(options.log_interval_seconds));
  g_source_set_callback(
      flush,
      [](gpointer data) -> gboolean {
        auto* self = static_cast<Impl*>(data);
        self->refusals.flush(self->options.json_log);
        return G_SOURCE_CONTINUE;
      },
      this, nullptr);
  g_source_attach(flush, context);
  g_source_unref(flush);
  soup_server_add_handler(server, nullptr, on_request, this, nullptr);
  GInetAddress* ip = g_inet_address_new_from_string(options.listen_ip.c_str());
  GSocketAddress* address = g_inet_socket_address_new(ip, options.listen_port);
  g_object_unref(ip);
  const auto flags = cert != nullptr ? SOUP_SERVER_LISTEN_HTTPS : static_cast<SoupServerListenOptions>(0);
  const bool ok = soup_server_listen(server, address, flags, &error);
  g_object_unref(address);
  if (!ok) {
    started.set_exception(std::make_exception_ptr(std::runtime_error(
        "cannot listen on " + options.listen_ip + ":" + std::to_string(options.listen_port) + ": " +
        error->message)));
    g_error_free(error);
    return;
  }
  GSList* uris = soup_server_get_uris(server);
  for (GSList* i = uris; i != nullptr; i = i->next) {
    gchar* text = g_uri_to_string(static_cast<GUri*>(i->data));
    urls.emplace_back(text);
    g_free(text);
  }
  g_slist_free_full(uris, reinterpret_cast<GDestroyNotify>(g_uri_unref));
  started.set_value();
  g_main_loop_run(loop);
}

void WebService::Impl::handle(SoupServerMessage* msg, const char* path) {
  if (soup_server_message_get_status(msg) != 0) return;  // answered early (413, 429)
  const std::string_view method = soup_server_message_get_method(msg);
  const std::string_view p = path;
  if (method == "GET" || method == "HEAD") {
    if (p == "/api/config") return handle_config(msg);
    const std::string_view want = p == "/" ? "/index.html" : p;
    for (const Asset& a : assets()) {
      if (a.path == want) return respond(msg, SOUP_STATUS_OK, a.content_type, a.body);
    }
    return respond_error(msg, SOUP_STATUS_NOT_FOUND, "not found");
  }
  if (method != "POST") return respond_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "GET or POST only");
  SoupMessageBody* body = soup_server_message_get_request_body(msg);
  if (body->length > static_cast<goffset>(body_limit(p))) {
    return refuse(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "web-too-large", too_large_text(p));
  }
  const json parsed = json::parse(std::string_view(body->data, static_cast<std::size_t>(body->length)), nullptr,
                                  false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return respond_error(msg, SOUP_STATUS_BAD_REQUEST, "the body is not a JSON object");
  }
  if (p == "/api/check") return handle_check(msg, parsed);
  if (p == "/api/result") return handle_result(msg, parsed);
  respond_error(msg, SOUP_STATUS_NOT_FOUND, "not found");
}

void WebService::Impl::handle_config(SoupServerMessage* msg) {
  json config{{"schema", "natdiag/1"}, {"stun", options.stun_servers}, {"turn", json::array()},
              {"media_ports", options.media_port_min == 0
                                  ? json(nullptr)
                                  : json(std::to_string(options.media_port_min) + "-" +
                                         std::to_string(options.media_port_max))}};
  if (!options.turn_uris.empty()) {
    const auto creds = mint_turn_credentials(options.turn_secret, std::time(nullptr), 600);
    for (const auto& uri : options.turn_uris) {
      config["turn"].push_back({{"urls", uri}, {"username", creds.username}, {"credential", creds.password}});
    }
  }
  respond(msg, SOUP_STATUS_OK, "application/json", config.dump());
}

void WebService::Impl::handle_check(SoupServerMessage* msg, const json& body) {
  const auto text = [&](const char* key) -> std::optional<std::string> {
    const auto it = body.find(key);
    if (it == body.end() || !it->is_string() || it->get_ref<const std::string&>().size() > 256) return std::nullopt;
    return it->get<std::string>();
  };
  const auto check = text("check");
  const auto ufrag = text("ufrag");
  const auto pwd = text("pwd");
  const auto cands = body.find("candidates");
  const bool cands_ok = cands != body.end() && cands->is_array() && cands->size() <= 64 &&
                        std::ranges::all_of(*cands, [](const json& c) { return c.is_string() && c.size() < 512; });
  if (!check || !ufrag || !pwd || !cands_ok || ufrag->empty() || pwd->empty() ||
      (*check != "udp" && *check != "tcp" && !check->starts_with("turn"))) {
    return respond_error(msg, SOUP_STATUS_BAD_REQUEST, "a check needs check (udp, tcp, turn-*), ufrag, pwd, candidates");
  }
  const std::string client_ip = soup_server_message_get_remote_host(msg);
  const auto client = client_of(msg);
  const auto key = server::source_key(client.value_or(stun::TransportAddress{}), options.ipv6_prefix);
  const auto same_ip = std::ranges::count_if(sessions, [&](const auto& s) { return s.second.client_key == key; });
  if (same_ip >= options.per_ip_sessions || std::ssize(sessions) >= options.max_sessions) {
    return refuse(msg, 429, "web-checks-busy", "too many checks at once; try again in a minute");
  }
  RemoteIce remote{*ufrag, *pwd, {}};
  for (const auto& c : *cands) remote.candidates.push_back(c.get<std::string>());
  const std::uint64_t id = next_id++;
  Session& session = sessions[id];
  session.client_ip = client_ip;
  session.client_key = key;
  session.check = *check;
  session.started = Clock::now();
  session.pending = static_cast<SoupServerMessage*>(g_object_ref(msg));
  struct Gone { Impl* self; std::uint64_t id; };
  // libsoup finished the message before the answer was ready: the client went away.
  const auto on_finished = +[](SoupServerMessage*, gpointer data) {
    const auto [self, gone_id] = *static_cast<Gone*>(data);  // drop_pending() may free `data`
    auto it = self->sessions.find(gone_id);
    if (it == self->sessions.end() || it->second.pending == nullptr) return;
    self->drop_pending(it->second);
    self->finish(gone_id, false, "the client went away before the answer");
    self->sessions.erase(it);
  };
  session.finished_handler = g_signal_connect_data(
      msg, "finished", G_CALLBACK(on_finished), new Gone{this, id},
      [](gpointer data, GClosure*) { delete static_cast<Gone*>(data); }, GConnectFlags{});
  soup_server_message_pause(msg);
  const bool tcp = *check == "tcp";
  session.peer = std::make_unique<IcePeer>(
      context, tcp ? PeerTransport::kTcp : PeerTransport::kUdp, options.media_port_min, options.media_port_max,
      options.listen_ip == "0.0.0.0" || options.listen_ip == "::" ? std::string() : options.listen_ip,
      std::move(remote),
      [this, id](const LocalIce& local) {
        auto it = sessions.find(id);
        if (it == sessions.end() || it->second.pending == nullptr) return;
        SoupServerMessage* pending = it->second.pending;
        if (local.candidates.empty()) {
          respond_error(pending, SOUP_STATUS_INTERNAL_SERVER_ERROR, "the server has no ICE candidate for this check");
        } else {
          respond(pending, SOUP_STATUS_OK, "application/json",
                  json{{"id", id}, {"ufrag", local.ufrag}, {"pwd", local.pwd}, {"candidates", local.candidates}}.dump());
        }
        soup_server_message_unpause(pending);
        drop_pending(it->second);
      },
      [this, id](bool connected) { finish(id, connected, connected ? "" : "ICE failed"); });
  auto* timeout = g_timeout_source_new_seconds(static_cast<guint>(options.session_seconds));
  struct Ctx { Impl* self; std::uint64_t id; };
  g_source_set_callback(
      timeout,
      [](gpointer data) -> gboolean {
        auto* c = static_cast<Ctx*>(data);
        c->self->finish(c->id, false, "no connection before the session timed out");
        c->self->close_session(c->id);
        return G_SOURCE_REMOVE;
      },
      new Ctx{this, id}, [](gpointer data) { delete static_cast<Ctx*>(data); });
  g_source_attach(timeout, context);
  g_source_unref(timeout);
}

void WebService::Impl::finish(std::uint64_t id, bool connected, const char* why) {
  auto it = sessions.find(id);
  if (it == sessions.end() || it->second.logged) return;
  Session& s = it->second;
  s.logged = true;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - s.started).count();
  log_line(options.json_log,
           "check " + s.check + " from " + s.client_ip + ": " +
               (connected ? "ICE connected in " + std::to_string(ms) + " ms" : std::string("fails (") + why + ")"),
           json{{"event", "web-check"}, {"check", s.check}, {"client", s.client_ip},
                {"result", connected ? "works" : "fails"}, {"ms", connected ? json(ms) : json(nullptr)},
                {"reason", connected ? json(nullptr) : json(why)}});
}

void WebService::Impl::close_session(std::uint64_t id) {
  auto it = sessions.find(id);
  if (it == sessions.end()) return;
  if (it->second.pending != nullptr) {
    respond_error(it->second.pending, SOUP_STATUS_INTERNAL_SERVER_ERROR, "ICE gathering timed out");
    soup_server_message_unpause(it->second.pending);
    drop_pending(it->second);
  }
  sessions.erase(it);
}

void WebService::Impl::drop_pending(Session& s) {
  if (s.pending == nullptr) return;
  SoupServerMessage* msg = std::exchange(s.pending, nullptr);
  g_signal_handler_disconnect(msg, s.finished_handler);
  g_object_unref(msg);
}

bool WebService::Impl::admit(SoupServerMessage* msg, bool result) {
  const auto client = client_of(msg);
  if (!client) return true;  // not an IP client (accept_iostream): nothing to count by
  const auto now = Clock::now();
  if (!api_limiter->allow(*client, now)) {
    refuse(msg, 429, "web-api-rate-limited", "too many requests; try again in a minute");
    return false;
  }
  if (result && !results_limiter->allow(stun::TransportAddress{}, now)) {
    refuse(msg, 429, "web-results-busy", "too many results from everyone; try again in a minute");
    return false;
  }
  return true;
}

void WebService::Impl::refuse(SoupServerMessage* msg, guint status, const std::string& reason, const std::string& text) {
  const auto client = client_of(msg);
  if (client) {
    auto source = *client;
    source.port = static_cast<std::uint16_t>(g_inet_socket_address_get_port(
        G_INET_SOCKET_ADDRESS(soup_server_message_get_remote_address(msg))));
    refusals.add(options.json_log, reason, source.to_string(), std::chrono::seconds(options.log_interval_seconds));
  } else {
    refusals.add(options.json_log, reason, "", std::chrono::seconds(options.log_interval_seconds));
  }
  respond_error(msg, status, text);
}

void WebService::Impl::handle_result(SoupServerMessage* msg, const json& body) {
  if (const auto why = validate_result(body)) return respond_error(msg, SOUP_STATUS_BAD_REQUEST, *why);
  const std::string client = soup_server_message_get_remote_host(msg);
  const std::string verdict = body["verdict"]["id"];
  log_line(options.json_log, "result from " + client + ": " + verdict,
           json{{"event", "web-result"}, {"client", client}, {"verdict", verdict}});
  if (!results) return respond(msg, SOUP_STATUS_OK, "application/json", R"({"stored":false})");
  json line = stored_result(body);
  line["received_at"] = static_cast<std::int64_t>(std::time(nullptr));
  if (!results->append(line)) return respond_error(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "cannot write results");
  respond(msg, SOUP_STATUS_OK, "application/json", R"({"stored":true})");
}

WebService::WebService(WebOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  if (!impl_->options.results_path.empty()) impl_->results.emplace(impl_->options.results_path);
  const auto& o = impl_->options;
  impl_->api_limiter = std::make_unique<server::RateLimiter>(o.api_per_minute / 60, o.api_burst, o.ipv6_prefix, 4096);
  impl_->results_limiter = std::make_unique<server::RateLimiter>(o.results_per_minute / 60, o.results_per_minute, 0, 64);
  std::promise<void> started;
  auto ready = started.get_future();
  impl_->thread = std::thread([this, &started] {
    impl_->start(started);
    impl_->refusals.flush(impl_->options.json_log);
    for (auto& [id, session] : impl_->sessions) impl_->drop_pending(session);
    impl_->sessions.clear();
    if (impl_->server != nullptr) g_object_unref(impl_->server);
    g_main_context_pop_thread_default(impl_->context);
    if (impl_->loop != nullptr) g_main_loop_unref(impl_->loop);
    g_main_context_unref(impl_->context);
  });
  try {
    ready.get();
  } catch (...) {
    impl_->thread.join();
    throw;
  }
}

WebService::~WebService() {
  // An idle source quits the loop from inside: a quit before g_main_loop_run started would be lost.
  GSource* quit = g_idle_source_new();
  g_source_set_callback(
      quit, [](gpointer loop) -> gboolean { g_main_loop_quit(static_cast<GMainLoop*>(loop)); return G_SOURCE_REMOVE; },
      impl_->loop, nullptr);
  g_source_attach(quit, impl_->context);
  g_source_unref(quit);
  impl_->thread.join();
}

const std::vector<std::string>& WebService::urls() const { return impl_->urls; }

}  // namespace natdiag::web
