#include "ice/gatherer.hpp"

#include <nice/agent.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <memory>
#include <stdexcept>

#include "ice/glib_ptr.hpp"
#include "ice/nice_agent.hpp"
#include "ice/nice_convert.hpp"

namespace natdiag::ice {
namespace {

using stun::Clock;

constexpr auto kCloseBound = std::chrono::milliseconds(1000);

std::string state_name(guint state) {
  const char* name = nice_component_state_to_string(static_cast<NiceComponentState>(state));
  std::string out = name != nullptr ? name : "unknown";
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

/// Makes a context the thread default while it lives: libnice runs its asynchronous socket
/// and close operations on the thread-default context.
class ThreadDefaultContext {
 public:
  explicit ThreadDefaultContext(GMainContext* context) : context_(context) {
    g_main_context_push_thread_default(context_);
  }
  ~ThreadDefaultContext() { g_main_context_pop_thread_default(context_); }
  ThreadDefaultContext(const ThreadDefaultContext&) = delete;
  ThreadDefaultContext& operator=(const ThreadDefaultContext&) = delete;

 private:
  GMainContext* context_;
};

class Session;

/// What an agent is for.
enum class Role : std::uint8_t { kGather, kCheckControlling, kCheckControlled };

/// One agent and what it produced.
struct Slot {
  Session* session = nullptr;
  Role role = Role::kGather;
  glib::AgentPtr agent;
  guint stream_id = 0;
  std::string server;  ///< the one server of a gathering agent
  bool done = false;
  std::optional<Duration> done_at;
  std::vector<Candidate> candidates;
  std::vector<gulong> handlers;
  bool closed = false;
};

class Session {
 public:
  explicit Session(const GatherOptions& options);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  GatherReport run();

 private:
  // C callbacks: each catches everything, parks it in error_ and stops the loop.
  static void on_new_candidate(NiceAgent* agent, NiceCandidate* candidate, gpointer data) noexcept;
  static void on_gathering_done(NiceAgent* agent, guint stream_id, gpointer data) noexcept;
  static void on_state_changed(NiceAgent* agent, guint stream_id, guint component_id, guint state,
                               gpointer data) noexcept;
  static void on_receive(NiceAgent* agent, guint stream_id, guint component_id, guint length,
                         gchar* bytes, gpointer data) noexcept;
  static gboolean on_gather_deadline(gpointer data) noexcept;
  static gboolean on_check_deadline(gpointer data) noexcept;
  static gboolean on_close_deadline(gpointer data) noexcept;
  static void on_closed(GObject* agent, GAsyncResult* result, gpointer data) noexcept;
  template <typename F>
  void guarded(F&& f) noexcept;

  Slot& add_agent(Role role, const std::string& server, const StunServerConfig* stun,
                  const std::vector<const TurnServerConfig*>& turn);
  void record(Slot& slot, const NiceCandidate& candidate);
  [[nodiscard]] std::string server_of(const Slot& slot, const NiceCandidate& candidate) const;
  void gathering_done(Slot& slot);
  void state_changed(Slot& slot, guint state);
  void start_check();
  void finish_check(bool success, std::string error);
  void progress();
  void stop() noexcept;
  void close_agents();
  [[nodiscard]] Duration since_start() const {
    return std::chrono::duration_cast<Duration>(Clock::now() - start_);
  }

  const GatherOptions& options_;
  glib::MainContextPtr context_;
  std::unique_ptr<ThreadDefaultContext> thread_default_;
  glib::MainLoopPtr loop_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<glib::SourcePtr> sources_;
  Slot* controlling_ = nullptr;
  Slot* controlled_ = nullptr;
  Clock::time_point start_{};
  Clock::time_point check_start_{};
  bool gather_deadline_passed_ = false;
  bool check_started_ = false;
  bool check_relays_only_ = false;
  std::string check_state_ = "none";
  std::optional<CheckOutcome> check_;
  bool stopped_ = false;
  std::exception_ptr error_;
};

Session::Session(const GatherOptions& options) : options_(options), context_(g_main_context_new()) {
  thread_default_ = std::make_unique<ThreadDefaultContext>(context_.get());
  loop_.reset(g_main_loop_new(context_.get(), FALSE));
}

Session::~Session() {
  // Callbacks must never reach a dead session: disconnect before the agents go.
  for (auto& slot : slots_) {
    for (const gulong id : slot->handlers) g_signal_handler_disconnect(slot->agent.get(), id);
    if (slot->stream_id != 0) {
      nice_agent_attach_recv(slot->agent.get(), slot->stream_id, kComponent, context_.get(),
                             nullptr, nullptr);
    }
  }
  sources_.clear();
  slots_.clear();
  loop_.reset();
  thread_default_.reset();
}

template <typename F>
void Session::guarded(F&& f) noexcept {
  try {
    f();
  } catch (...) {
    if (!error_) error_ = std::current_exception();
    stop();
  }
}

void Session::on_new_candidate(NiceAgent*, NiceCandidate* candidate, gpointer data) noexcept {
  auto* slot = static_cast<Slot*>(data);
  slot->session->guarded([&] {
    if (candidate != nullptr) slot->session->record(*slot, *candidate);
  });
}

void Session::on_gathering_done(NiceAgent*, guint, gpointer data) noexcept {
  auto* slot = static_cast<Slot*>(data);
  slot->session->guarded([&] { slot->session->gathering_done(*slot); });
}

void Session::on_state_changed(NiceAgent*, guint, guint component_id, guint state,
                               gpointer data) noexcept {
  auto* slot = static_cast<Slot*>(data);
  if (component_id != kComponent) return;
  slot->session->guarded([&] { slot->session->state_changed(*slot, state); });
}

void Session::on_receive(NiceAgent*, guint, guint, guint, gchar*, gpointer) noexcept {
  // Media is not the point: the check ends at READY. libnice needs a receiver attached.
}

gboolean Session::on_gather_deadline(gpointer data) noexcept {
  auto* self = static_cast<Session*>(data);
  self->guarded([&] {
    self->gather_deadline_passed_ = true;
    // The check agents may still wait for a server: check with what they have.
    if (self->controlling_ != nullptr && !self->check_started_) self->start_check();
    self->progress();
  });
  return G_SOURCE_REMOVE;
}

gboolean Session::on_check_deadline(gpointer data) noexcept {
  auto* self = static_cast<Session*>(data);
  self->guarded([&] {
    if (!self->check_) {
      self->finish_check(false, "no candidate pair became ready within the timeout (last state: " +
                                    self->check_state_ + ")");
    }
  });
  return G_SOURCE_REMOVE;
}

gboolean Session::on_close_deadline(gpointer data) noexcept {
  auto* self = static_cast<Session*>(data);
  self->stop();
  return G_SOURCE_REMOVE;
}

void Session::on_closed(GObject*, GAsyncResult*, gpointer data) noexcept {
  auto* slot = static_cast<Slot*>(data);
  slot->closed = true;
  auto* self = slot->session;
  if (std::all_of(self->slots_.begin(), self->slots_.end(),
                  [](const auto& s) { return s->closed; })) {
    self->stop();
  }
}

Slot& Session::add_agent(Role role, const std::string& server, const StunServerConfig* stun,
                         const std::vector<const TurnServerConfig*>& turn) {
  auto slot = std::make_unique<Slot>();
  slot->session = this;
  slot->role = role;
  slot->server = server;
  AgentSettings settings;
  settings.ice_udp = options_.ice_udp;
  settings.ice_tcp = options_.ice_tcp;
  settings.relay_only = options_.relay_only;
  settings.controlling = role != Role::kCheckControlled;
  settings.families = options_.families;
  settings.local_addresses = &options_.local_addresses;
  settings.timeout = options_.timeout;
  settings.stun = stun;
  settings.turn = turn;
  slot->agent = make_agent(context_.get(), settings, slot->stream_id);
  NiceAgent* agent = slot->agent.get();
  slot->handlers.push_back(g_signal_connect(agent, "new-candidate-full",
                                            G_CALLBACK(&Session::on_new_candidate), slot.get()));
  slot->handlers.push_back(g_signal_connect(agent, "candidate-gathering-done",
                                            G_CALLBACK(&Session::on_gathering_done), slot.get()));
  slot->handlers.push_back(g_signal_connect(agent, "component-state-changed",
                                            G_CALLBACK(&Session::on_state_changed), slot.get()));
  // Without a receiver attached libnice does not read the sockets, not even STUN answers.
  nice_agent_attach_recv(agent, slot->stream_id, kComponent, context_.get(), &Session::on_receive,
                         slot.get());
  slots_.push_back(std::move(slot));
  return *slots_.back();
}

std::string Session::server_of(const Slot& slot, const NiceCandidate& candidate) const {
  if (slot.role == Role::kGather) return slot.server;
  // The check agents use every server at once, and libnice's candidate copies do not carry
  // their server (nice_candidate_relay_address needs the agent's own object): match the
  // address against what the one-server agents gathered.
  const auto address = from_nice_address(candidate.addr);
  const auto type = from_nice_type(candidate.type);
  if (!address || (type != CandidateType::kRelayed && type != CandidateType::kServerReflexive))
    return "";
  for (const auto& other : slots_) {
    if (other->role != Role::kGather) continue;
    for (const auto& c : other->candidates) {
      if (c.type == type && c.address.same_ip(*address)) return c.server;
    }
  }
  return "";
}

void Session::record(Slot& slot, const NiceCandidate& candidate) {
  auto c = from_nice_candidate(candidate, server_of(slot, candidate), since_start());
  if (!c) return;
  const bool seen = std::any_of(slot.candidates.begin(), slot.candidates.end(),
                                [&](const Candidate& old) { return old.same_target(*c); });
  if (!seen) slot.candidates.push_back(std::move(*c));
}

void Session::gathering_done(Slot& slot) {
  if (slot.done) return;
  // Anything the signal did not announce (libnice emits every candidate, but be sure).
  glib::CandidateListPtr list(
      nice_agent_get_local_candidates(slot.agent.get(), slot.stream_id, kComponent));
  for (GSList* item = list.get(); item != nullptr; item = item->next) {
    record(slot, *static_cast<NiceCandidate*>(item->data));
  }
  slot.done = true;
  slot.done_at = since_start();
  if (controlling_ != nullptr && !check_started_ && controlling_->done && controlled_->done) {
    start_check();
  }
  progress();
}

void Session::start_check() {
  check_started_ = true;
  check_start_ = Clock::now();
  glib::CandidateListPtr controlling_list(nice_agent_get_local_candidates(
      controlling_->agent.get(), controlling_->stream_id, kComponent));
  glib::CandidateListPtr controlled_list(nice_agent_get_local_candidates(
      controlled_->agent.get(), controlled_->stream_id, kComponent));
  auto has_relay = [](GSList* list) {
    for (GSList* item = list; item != nullptr; item = item->next) {
      if (static_cast<NiceCandidate*>(item->data)->type == NICE_CANDIDATE_TYPE_RELAYED) return true;
    }
    return false;
  };
  // Inside one process, host-to-host pairs always win and prove nothing about the NAT. With a
  // relay on both sides, each agent learns only the other's relays, so the pair ICE selects
  // goes out through the NAT to the TURN server and back.
  const bool relays_only = has_relay(controlling_list.get()) && has_relay(controlled_list.get());
  // RFC 8445 §5.3: each side learns the other's ufrag/pwd and candidates (the signalling a
  // browser and a media server would do), here within one process.
  auto exchange = [relays_only](Slot& from, GSList* candidates, Slot& to) {
    gchar* ufrag = nullptr;
    gchar* pwd = nullptr;
    const gboolean ok =
        nice_agent_get_local_credentials(from.agent.get(), from.stream_id, &ufrag, &pwd);
    const glib::CharPtr ufrag_owner(ufrag);
    const glib::CharPtr pwd_owner(pwd);
    if (!ok || !nice_agent_set_remote_credentials(to.agent.get(), to.stream_id, ufrag, pwd)) {
      throw std::runtime_error("libnice could not exchange ICE credentials");
    }
    GSList* chosen = nullptr;  // borrows the candidates, owns only the list cells
    for (GSList* item = candidates; item != nullptr; item = item->next) {
      const auto* c = static_cast<NiceCandidate*>(item->data);
      if (!relays_only || c->type == NICE_CANDIDATE_TYPE_RELAYED)
        chosen = g_slist_append(chosen, item->data);
    }
    const guint n = g_slist_length(chosen);
    if (chosen != nullptr)
      nice_agent_set_remote_candidates(to.agent.get(), to.stream_id, kComponent, chosen);
    g_slist_free(chosen);
    return n;
  };
  const guint to_controlled = exchange(*controlling_, controlling_list.get(), *controlled_);
  const guint to_controlling = exchange(*controlled_, controlled_list.get(), *controlling_);
  check_relays_only_ = relays_only;
  if (to_controlled == 0 || to_controlling == 0) {
    finish_check(false, "nothing to check: an agent has no candidates");
  }
}

void Session::state_changed(Slot& slot, guint state) {
  if (&slot != controlling_ || check_) return;
  check_state_ = state_name(state);
  if (state == NICE_COMPONENT_STATE_READY) {
    NiceCandidate* local = nullptr;
    NiceCandidate* remote = nullptr;
    // Owned by the agent: converted at once, never freed here.
    if (!nice_agent_get_selected_pair(slot.agent.get(), slot.stream_id, kComponent, &local,
                                      &remote) ||
        local == nullptr || remote == nullptr) {
      finish_check(false, "READY without a selected pair");
      return;
    }
    auto l = from_nice_candidate(*local, server_of(*controlling_, *local), since_start());
    auto r = from_nice_candidate(*remote, server_of(*controlled_, *remote), since_start());
    if (!l || !r) {
      finish_check(false, "the selected pair has an address natdiag cannot read");
      return;
    }
    check_ = CheckOutcome{};
    check_->pair = SelectedPair{std::move(*l), std::move(*r)};
    finish_check(true, "");
  } else if (state == NICE_COMPONENT_STATE_FAILED && check_started_) {
    finish_check(false, "ICE connectivity checks failed: no candidate pair worked");
  }
}

void Session::finish_check(bool success, std::string error) {
  if (!check_) check_ = CheckOutcome{};
  check_->success = success;
  check_->error = std::move(error);
  check_->state = check_state_;
  check_->relays_only = check_relays_only_;
  if (check_started_) {
    check_->elapsed = std::chrono::duration_cast<Duration>(Clock::now() - check_start_);
  }
  progress();
}

void Session::progress() {
  const bool gathered =
      gather_deadline_passed_ || std::all_of(slots_.begin(), slots_.end(), [](const auto& s) {
        return s->role != Role::kGather || s->done;
      });
  const bool checked = !options_.check || check_.has_value();
  if (gathered && checked) stop();
}

void Session::stop() noexcept {
  stopped_ = true;
  g_main_loop_quit(loop_.get());
}

void Session::close_agents() {
  // nice_agent_close_async releases TURN allocations (Refresh, lifetime 0); bounded wait.
  stopped_ = false;
  for (auto& slot : slots_)
    nice_agent_close_async(slot->agent.get(), &Session::on_closed, slot.get());
  glib::SourcePtr bound(g_timeout_source_new(to_ms(kCloseBound)));
  g_source_set_callback(bound.get(), &Session::on_close_deadline, this, nullptr);
  g_source_attach(bound.get(), context_.get());
  if (!stopped_) g_main_loop_run(loop_.get());
}

GatherReport Session::run() {
  start_ = Clock::now();
  auto add_timer = [&](Duration after, GSourceFunc callback) {
    glib::SourcePtr source(g_timeout_source_new(to_ms(after)));
    g_source_set_callback(source.get(), callback, this, nullptr);
    g_source_attach(source.get(), context_.get());
    sources_.push_back(std::move(source));
  };
  add_timer(options_.timeout, &Session::on_gather_deadline);
  if (options_.check)
    add_timer(options_.timeout + options_.check_timeout, &Session::on_check_deadline);

  // One agent per server: libnice takes one STUN server per agent, and a TURN server of its
  // own makes every relayed (and TURN-mapped) candidate attributable.
  std::vector<Slot*> gatherers;
  if (!options_.relay_only) {
    for (const auto& s : options_.stun)
      gatherers.push_back(&add_agent(Role::kGather, s.uri, &s, {}));
  }
  for (const auto& t : options_.turn)
    gatherers.push_back(&add_agent(Role::kGather, t.uri, nullptr, {&t}));
  if (gatherers.empty()) gatherers.push_back(&add_agent(Role::kGather, "", nullptr, {}));
  if (options_.check) {
    std::vector<const TurnServerConfig*> all_turn;
    for (const auto& t : options_.turn) all_turn.push_back(&t);
    // A STUN server at a TURN server's address would share the agent's socket with the TURN
    // allocation, and libnice then loses the Binding answer (gathering waits for nothing).
    const StunServerConfig* stun = nullptr;
    for (const auto& s : options_.stun) {
      const bool is_turn =
          std::any_of(options_.turn.begin(), options_.turn.end(),
                      [&](const TurnServerConfig& t) { return t.address == s.address; });
      if (!is_turn && !options_.relay_only) {
        stun = &s;
        break;
      }
    }
    controlling_ = &add_agent(Role::kCheckControlling, "", stun, all_turn);
    controlled_ = &add_agent(Role::kCheckControlled, "", stun, all_turn);
  }
  for (auto& slot : slots_) {
    if (!nice_agent_gather_candidates(slot->agent.get(), slot->stream_id)) {
      throw std::runtime_error("libnice could not start gathering: no usable local address");
    }
  }
  if (!stopped_) g_main_loop_run(loop_.get());
  if (error_) std::rethrow_exception(error_);

  GatherReport report;
  std::vector<std::vector<Candidate>> per_agent;
  Duration last{};
  for (const Slot* slot : gatherers) {
    per_agent.push_back(slot->candidates);
    report.agents.push_back(AgentOutcome{slot->server, slot->done, slot->done_at});
    // libnice may say done before its idle callbacks announced the host candidates.
    if (slot->done_at) last = std::max(last, *slot->done_at);
    for (const auto& c : slot->candidates) last = std::max(last, c.elapsed);
    if (!slot->done) report.timed_out = true;
  }
  report.candidates = merge_candidates(per_agent);
  report.elapsed = report.timed_out ? options_.timeout : last;
  report.check = check_;
  sources_.clear();
  close_agents();
  return report;
}

}  // namespace

GatherReport gather_candidates(const GatherOptions& options) {
  Session session(options);
  return session.run();
}

}  // namespace natdiag::ice
