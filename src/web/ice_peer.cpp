#include "src/web/ice_peer.hpp"

#include <nice/agent.h>

namespace natdiag::web {

struct IcePeer::Impl {
  NiceAgent* agent = nullptr;
  guint stream = 0;
  RemoteIce remote;
  std::function<void(const LocalIce&)> ready;
  std::function<void(bool)> state;
  bool gathered = false;
  bool reported = false;
};

namespace {

void on_receive(NiceAgent*, guint, guint, guint, gchar*, gpointer) {}  // the checks are all we need

void on_gathering_done(NiceAgent* agent, guint stream, gpointer data) {
  auto* impl = static_cast<IcePeer::Impl*>(data);
  if (impl->gathered) return;
  impl->gathered = true;
  LocalIce local;
  gchar* ufrag = nullptr;
  gchar* pwd = nullptr;
  if (nice_agent_get_local_credentials(agent, stream, &ufrag, &pwd)) {
    local.ufrag = ufrag;
    local.pwd = pwd;
  }
  g_free(ufrag);
  g_free(pwd);
  GSList* cands = nice_agent_get_local_candidates(agent, stream, 1);
  for (GSList* i = cands; i != nullptr; i = i->next) {
    gchar* sdp = nice_agent_generate_local_candidate_sdp(agent, static_cast<NiceCandidate*>(i->data));
    std::string line = sdp;
    g_free(sdp);
    if (line.starts_with("a=")) line.erase(0, 2);
    local.candidates.push_back(line);
  }
  g_slist_free_full(cands, reinterpret_cast<GDestroyNotify>(nice_candidate_free));

  // The browser's side: credentials and whatever candidates libnice can parse (mDNS ".local"
  // host candidates cannot be; the browser's checks then arrive as peer-reflexive).
  nice_agent_set_remote_credentials(agent, stream, impl->remote.ufrag.c_str(), impl->remote.pwd.c_str());
  GSList* remote = nullptr;
  for (const auto& c : impl->remote.candidates) {
    const std::string line = c.starts_with("a=") ? c : "a=" + c;
    NiceCandidate* cand = nice_agent_parse_remote_candidate_sdp(agent, stream, line.c_str());
    if (cand != nullptr && cand->component_id == 1) remote = g_slist_append(remote, cand);
    else if (cand != nullptr) nice_candidate_free(cand);
  }
  if (remote != nullptr) nice_agent_set_remote_candidates(agent, stream, 1, remote);
  g_slist_free_full(remote, reinterpret_cast<GDestroyNotify>(nice_candidate_free));
  impl->ready(local);
}

void on_state(NiceAgent*, guint, guint component, guint state, gpointer data) {
  auto* impl = static_cast<IcePeer::Impl*>(data);
  if (component != 1 || impl->reported) return;
  if (state == NICE_COMPONENT_STATE_CONNECTED || state == NICE_COMPONENT_STATE_READY) {
    impl->reported = true;
    impl->state(true);
  } else if (state == NICE_COMPONENT_STATE_FAILED) {
    impl->reported = true;
    impl->state(false);
  }
}

}  // namespace

IcePeer::IcePeer(GMainContext* context, PeerTransport transport, std::uint16_t port_min, std::uint16_t port_max,
                 const std::string& local_ip, RemoteIce remote, std::function<void(const LocalIce&)> ready,
                 std::function<void(bool)> state)
    : impl_(std::make_unique<Impl>()) {
  impl_->remote = std::move(remote);
  impl_->ready = std::move(ready);
  impl_->state = std::move(state);
  NiceAgent* agent = nice_agent_new(context, NICE_COMPATIBILITY_RFC5245);
  impl_->agent = agent;
  const bool tcp = transport == PeerTransport::kTcp;
  g_object_set(agent, "controlling-mode", FALSE, "ice-udp", !tcp, "ice-tcp", tcp, "upnp", FALSE, nullptr);
  if (!local_ip.empty()) {
    NiceAddress address;
    nice_address_init(&address);
    if (nice_address_set_from_string(&address, local_ip.c_str())) nice_agent_add_local_address(agent, &address);
  }
  impl_->stream = nice_agent_add_stream(agent, 1);
  if (port_min != 0) nice_agent_set_port_range(agent, impl_->stream, 1, port_min, port_max);
  g_signal_connect(agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done), impl_.get());
  g_signal_connect(agent, "component-state-changed", G_CALLBACK(on_state), impl_.get());
  nice_agent_attach_recv(agent, impl_->stream, 1, context, on_receive, nullptr);
  if (!nice_agent_gather_candidates(agent, impl_->stream)) {
    impl_->gathered = true;
    impl_->ready(LocalIce{});
  }
}

IcePeer::~IcePeer() {
  if (impl_->agent == nullptr) return;
  g_signal_handlers_disconnect_by_data(impl_->agent, impl_.get());
  nice_agent_attach_recv(impl_->agent, impl_->stream, 1, nullptr, nullptr, nullptr);
  nice_agent_remove_stream(impl_->agent, impl_->stream);
  g_object_unref(impl_->agent);
}

}  // namespace natdiag::web
