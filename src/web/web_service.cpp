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

namespace natdiag::web {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

/// One check in progress: the ICE peer and what the log line needs.
struct Session {
  std::string client_ip;
  std::string check;
  Clock::time_point started;
  SoupServerMessage* pending = nullptr;  ///< the paused POST /api/check, until gathered
  std::unique_ptr<IcePeer> peer;
  bool logged = false;
};

void respond(SoupServerMessage* msg, guint status, std::string_view type, std::string_view body) {
  soup_server_message_set_status(msg, status, nullptr);
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

  void start(std::promise<void>& started);
  void handle(SoupServerMessage* msg, const char* path);
  void handle_config(SoupServerMessage* msg);
  void handle_check(SoupServerMessage* msg, const json& body);
  void handle_result(SoupServerMessage* msg, const json& body);
  void finish(std::uint64_t id, bool connected, const char* why);
  void close_session(std::uint64_t id);
};

namespace {

void on_request(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*, gpointer data) {
  static_cast<WebService::Impl*>(data)->handle(msg, path);
}

/// Before the body is read: a declared Content-Length above the cap is refused at once.
void on_headers(SoupServer*, SoupServerMessage* msg, const char*, GHashTable*, gpointer) {
  const goffset length = soup_message_headers_get_content_length(soup_server_message_get_request_headers(msg));
  if (length > static_cast<goffset>(kMaxBodyBytes)) {
    respond_error(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "request body larger than 64 KiB");
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
  if (soup_server_message_get_status(msg) == SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE) return;
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
  if (body->length > static_cast<goffset>(kMaxBodyBytes)) {
    return respond_error(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "request body larger than 64 KiB");
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
  const auto same_ip = std::ranges::count_if(sessions, [&](const auto& s) { return s.second.client_ip == client_ip; });
  if (same_ip >= options.per_ip_sessions || std::ssize(sessions) >= options.max_sessions) {
    return respond_error(msg, 429, "too many checks at once; try again in a minute");
  }
  RemoteIce remote{*ufrag, *pwd, {}};
  for (const auto& c : *cands) remote.candidates.push_back(c.get<std::string>());
  const std::uint64_t id = next_id++;
  Session& session = sessions[id];
  session.client_ip = client_ip;
  session.check = *check;
  session.started = Clock::now();
  session.pending = msg;
  soup_server_message_pause(msg);
  const bool tcp = *check == "tcp";
  session.peer = std::make_unique<IcePeer>(
      context, tcp ? PeerTransport::kTcp : PeerTransport::kUdp, options.media_port_min, options.media_port_max,
      options.listen_ip == "0.0.0.0" || options.listen_ip == "::" ? std::string() : options.listen_ip,
      std::move(remote),
      [this, id](const LocalIce& local) {
        auto it = sessions.find(id);
        if (it == sessions.end() || it->second.pending == nullptr) return;
        SoupServerMessage* pending = std::exchange(it->second.pending, nullptr);
        if (local.candidates.empty()) {
          respond_error(pending, SOUP_STATUS_INTERNAL_SERVER_ERROR, "the server has no ICE candidate for this check");
        } else {
          respond(pending, SOUP_STATUS_OK, "application/json",
                  json{{"id", id}, {"ufrag", local.ufrag}, {"pwd", local.pwd}, {"candidates", local.candidates}}.dump());
        }
        soup_server_message_unpause(pending);
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
  }
  sessions.erase(it);
}

void WebService::Impl::handle_result(SoupServerMessage* msg, const json& body) {
  if (const auto why = validate_result(body)) return respond_error(msg, SOUP_STATUS_BAD_REQUEST, *why);
  const std::string client = soup_server_message_get_remote_host(msg);
  const std::string verdict = body["verdict"]["id"];
  log_line(options.json_log, "result from " + client + ": " + verdict,
           json{{"event", "web-result"}, {"client", client}, {"verdict", verdict}});
  if (!results) return respond(msg, SOUP_STATUS_OK, "application/json", R"({"stored":false})");
  json line = body;
  line["received_at"] = static_cast<std::int64_t>(std::time(nullptr));
  if (!results->append(line)) return respond_error(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "cannot write results");
  respond(msg, SOUP_STATUS_OK, "application/json", R"({"stored":true})");
}

WebService::WebService(WebOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  if (!impl_->options.results_path.empty()) impl_->results.emplace(impl_->options.results_path);
  std::promise<void> started;
  auto ready = started.get_future();
  impl_->thread = std::thread([this, &started] {
    impl_->start(started);
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
