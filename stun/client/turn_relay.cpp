#include "stun/client/turn_relay.hpp"

#include <poll.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <thread>

#include "stun/net/transaction.hpp"
#include "stun/proto/turn.hpp"

namespace natdiag::client {
namespace {

using Clock = stun::Clock;
using std::chrono::milliseconds;

Duration since(stun::TimePoint start) {
  return std::chrono::duration_cast<Duration>(Clock::now() - start);
}

/// The far end of the relay test: a UDP socket of this host, connected to the relayed address
/// so it hears nothing else and can send nowhere else. It sends a first packet to the relay
/// (repeated until the client saw it) and echoes what the relay brings, a bounded number of
/// times, on its own thread.
class EchoPeer {
 public:
  EchoPeer(const TransportAddress& relayed, int max_echoes, stun::TimePoint deadline)
      : socket_(net::UdpSocket::bind(net::any_address(relayed.family))),
        relayed_(relayed),
        max_echoes_(max_echoes),
        deadline_(deadline) {
    socket_.connect(relayed);
  }
  ~EchoPeer() { stop(); }
  EchoPeer(const EchoPeer&) = delete;
  EchoPeer& operator=(const EchoPeer&) = delete;

  /// The address this socket sends from (what the relay sees when there is no NAT).
  [[nodiscard]] TransportAddress local_address() const { return socket_.local_address(); }
  void start(std::vector<std::uint8_t> first) {
    first_ = std::move(first);
    thread_ = std::thread([this] { run(); });
  }
  void primed() { primed_ = true; }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    std::array<std::uint8_t, 2048> buffer{};
    int echoes = 0;
    auto next_first = Clock::now();
    for (int firsts = 0; !stop_ && Clock::now() < deadline_;) {
      if (!primed_ && firsts < 20 && Clock::now() >= next_first) {
        socket_.send_to(first_, relayed_);
        ++firsts;
        next_first = Clock::now() + milliseconds(50);
      }
      pollfd p{socket_.fd(), POLLIN, 0};
      if (::poll(&p, 1, 5) <= 0) continue;
      int err = 0;
      while (auto got = socket_.receive(buffer, err)) {
        if (got->source != relayed_ || echoes >= max_echoes_) continue;
        socket_.send_to(std::span(buffer).first(got->size), relayed_);
        ++echoes;
      }
    }
  }

  net::UdpSocket socket_;
  TransportAddress relayed_;
  int max_echoes_;
  stun::TimePoint deadline_;
  std::vector<std::uint8_t> first_;
  std::atomic<bool> primed_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::vector<std::uint8_t> payload(const stun::TransactionId& token, char kind, int seq) {
  std::vector<std::uint8_t> p(token.begin(), token.end());
  p.push_back(static_cast<std::uint8_t>(kind));
  p.push_back(static_cast<std::uint8_t>(seq >> 8));
  p.push_back(static_cast<std::uint8_t>(seq));
  return p;
}

/// Sends `count` packets one after the other through `send` and waits for each to come back.
RelayStats round_trips(TurnSession& session, const stun::TransactionId& token, char kind,
                       int count, stun::TimePoint deadline,
                       const std::function<bool(std::span<const std::uint8_t>)>& send,
                       bool want_channel, Duration first_window) {
  RelayStats s;
  Duration total{};
  Duration window = first_window;
  for (int seq = 0; seq < count && Clock::now() < deadline; ++seq) {
    const auto p = payload(token, kind, seq);
    const auto sent_at = Clock::now();
    if (!send(p)) break;
    ++s.sent;
    const auto wait_until = std::min(deadline, sent_at + window);
    while (auto d = session.receive_data(wait_until)) {
      if (d->data != p || d->channel.has_value() != want_channel) continue;  // late or other
      const auto rtt = since(sent_at);
      ++s.received;
      total += rtt;
      s.rtt_min = s.rtt_min ? std::min(*s.rtt_min, rtt) : rtt;
      s.rtt_max = s.rtt_max ? std::max(*s.rtt_max, rtt) : rtt;
      // A lost packet costs a window derived from the RTTs seen on this path, with a floor.
      window = std::max<Duration>(milliseconds(100), 4 * *s.rtt_max);
      break;
    }
  }
  if (s.received > 0) s.rtt_avg = total / s.received;
  return s;
}

/// CreatePermission for `peer`'s IP: 0 when granted, the error code when refused, -1 when
/// nothing usable came back.
int permit(TurnSession& session, const TransportAddress& peer, stun::TimePoint deadline,
           std::string& notes) {
  const auto answer = session.request(
      stun::Method::kCreatePermission,
      [&](stun::MessageBuilder& b) { b.add_xor_address(stun::AttributeType::kXorPeerAddress, peer); },
      deadline);
  notes += (notes.empty() ? "" : ", ") + peer.ip_string() +
           (answer.success      ? " permitted"
            : answer.answered() ? " refused (" + std::to_string(answer.error_code) + ")"
                                : " no answer");
  return answer.success ? 0 : answer.answered() ? answer.error_code : -1;
}

/// 403 to every peer this host could offer, all of them private or loopback: the server
/// denies private peers (coturn denied-peer-ip, no allow-loopback-peers), which is the
/// hardening --audit asks for, and says nothing about Internet peers (RFC 8656 §9.1).
void private_peers_refused(const std::string& asked, TurnCheckReport& r) {
  r.findings.push_back(
      {"relay-untested-private", "info",
       "the allocation works, but the relay path could not be tested from here: the server "
       "refused (403) a permission for every address this host can offer as a peer (" +
           asked +
           "), all private or loopback. Refusing private peers is good hardening (coturn "
           "denied-peer-ip, no allow-loopback-peers); peers on the Internet are not affected. "
           "To test the relay, run natdiag turn from a host outside the server's LAN",
       {}});
  set_relay_unknown(r, "private-peers-refused",
                    "allocation works (relay " + r.relayed->to_string() +
                        "); relay not tested: the server refuses private peers and this host "
                        "has only private addresses to offer (run natdiag turn from outside "
                        "the LAN to test it)");
}

}  // namespace

bool relay_needs_hairpin(const TurnCheckReport& r) {
  return r.server && r.relayed && net::is_private_or_local(*r.server) &&
         !net::is_private_or_local(*r.relayed);
}

void report_no_data(const std::string& why, TurnCheckReport& r) {
  if (relay_needs_hairpin(r)) {
    // This host reached the server on a private address and sends to the relay's public one:
    // that needs hairpin NAT, and a hairpinned packet arrives from a source no permission
    // covers. Silence cannot tell that from blocked relay ports.
    r.findings.push_back(
        {"relay-untested-hairpin", "warning",
         why + ". The server was reached at the private address " + r.server->ip_string() +
             " and relays on the public " + r.relayed->ip_string() +
             ": from here data to the relay needs hairpin NAT on the router, and even then it "
             "comes from an address the permission does not cover. This cannot tell blocked "
             "relay ports from that; run natdiag turn from a host outside the server's LAN",
         {}});
    set_relay_unknown(r, "hairpin-or-blocked",
                      "allocation works (relay " + r.relayed->to_string() +
                          "); relay not tested: from this private network the public relay "
                          "address needs hairpin NAT (run natdiag turn from outside the LAN)");
    return;
  }
  if (r.problem != "relay-private") {
    r.findings.push_back({"relay-no-data", "critical",
                          why + ": the relay ports are blocked on the way to the server",
                          {"open the relay port range (coturn min-port..max-port, UDP) in "
                           "the firewall in front of the TURN server"}});
  }
  set_problem(r, "relay-no-data", "allocation works but relayed data never comes back (" +
                                      r.relayed->to_string() + "): relay ports blocked, open "
                                      "coturn's min-port..max-port (UDP)");
}

void test_relay(TurnSession& session, int count, stun::TimePoint deadline, TurnCheckReport& r) {
  const auto began = Clock::now();
  std::string notes;
  EchoPeer peer(*r.relayed, 2 * count + 4, deadline);
  // Permissions are per IP (RFC 8656 §9): this host's source address towards the relay, and
  // its public address as the server saw it (XOR-MAPPED-ADDRESS) in case a NAT is in between.
  TransportAddress local = peer.local_address();
  local.port = 0;
  std::vector<TransportAddress> asked = {local};
  if (r.mapped && !r.mapped->same_ip(local)) {
    asked.push_back(*r.mapped);
    asked.back().port = 0;
  }
  bool permitted = false;
  bool forbidden = true;  // every answer a 403
  for (const auto& a : asked) {
    const int code = permit(session, a, deadline, notes);
    permitted = permitted || code == 0;
    forbidden = forbidden && code == 403;
  }
  add_step(r, "permission", began, permitted, notes);
  if (!permitted) {
    if (forbidden && std::all_of(asked.begin(), asked.end(), net::is_private_or_local)) {
      std::string ips;
      for (const auto& a : asked) ips += (ips.empty() ? "" : ", ") + a.ip_string();
      private_peers_refused(ips, r);
      return;
    }
    set_problem(r, "permission-refused", "the server refused CreatePermission for this host's address");
    return;
  }
  // How long one packet may take to come back before it counts as lost: from the RTT of
  // the last request on this path, with a floor, until the relay's own RTT is measured.
  const Duration first_window = std::clamp<Duration>(
      4 * session.last_rtt().value_or(milliseconds(250)), milliseconds(100), milliseconds(1000));
  const auto token = net::random_transaction_id();
  const auto first = payload(token, 'P', 0);
  const auto relay_began = Clock::now();
  peer.start(first);
  std::optional<TransportAddress> seen;
  const auto first_by = std::min(deadline, relay_began + milliseconds(1500));
  while (auto d = session.receive_data(first_by)) {
    if (d->data == first && d->peer) {
      seen = d->peer;
      break;
    }
  }
  peer.primed();
  if (!seen) {
    const std::string why = "data sent from " + peer.local_address().to_string() +
                            " to the relayed address " + r.relayed->to_string() +
                            " never came through the relay";
    add_step(r, "send-data", relay_began, false, why);
    report_no_data(why, r);
    return;
  }
  const TransportAddress peer_address = *seen;
  std::string error;
  r.send_data = round_trips(session, token, 'S', count, deadline,
                             [&](std::span<const std::uint8_t> p) {
                               return session.send_indication(peer_address, p, deadline, error);
                             },
                             false, first_window);
  add_step(r, "send-data", relay_began, r.send_data->received > 0,
       "peer " + peer_address.to_string() + ", " + std::to_string(r.send_data->received) + "/" +
           std::to_string(r.send_data->sent) + " back");
  if (r.send_data->received == 0) {
    set_problem(r, "relay-no-data", "Send indications to " + peer_address.to_string() +
                              " never came back through the relay");
  }
  const auto bind_began = Clock::now();
  constexpr std::uint16_t kChannel = stun::kChannelMin;
  const auto bound = session.request(
      stun::Method::kChannelBind,
      [&](stun::MessageBuilder& b) {
        b.add_raw(static_cast<std::uint16_t>(stun::AttributeType::kChannelNumber),
                  stun::encode_channel_number(kChannel));
        b.add_xor_address(stun::AttributeType::kXorPeerAddress, peer_address);
      },
      deadline);
  add_step(r, "channel-bind", bind_began, bound.success,
       bound.success ? "channel 0x4000 to " + peer_address.to_string()
       : bound.answered() ? std::to_string(bound.error_code) + " " + bound.reason
                          : bound.failure);
  if (!bound.success) {
    set_problem(r, "channel-bind-failed", "ChannelBind was refused");
    return;
  }
  const auto data_began = Clock::now();
  r.channel_data = round_trips(session, token, 'C', count, deadline,
                                [&](std::span<const std::uint8_t> p) {
                                  return session.send_channel_data(kChannel, p, deadline, error);
                                },
                                true, first_window);
  add_step(r, "channel-data", data_began, r.channel_data->received > 0,
       std::to_string(r.channel_data->received) + "/" + std::to_string(r.channel_data->sent) +
           " back");
  if (r.channel_data->received == 0) {
    set_problem(r, "relay-no-data", "ChannelData never came back through the relay");
  }
  peer.stop();
  for (const auto* stats : {&*r.send_data, &*r.channel_data}) {
    if (stats->sent > 0 && stats->received > 0 && 5 * (stats->sent - stats->received) > stats->sent) {
      r.findings.push_back(
          {"relay-loss", "warning",
           std::to_string(100 * (stats->sent - stats->received) / stats->sent) +
               "% of the packets sent through the relay did not come back (" +
               std::to_string(stats->received) + "/" + std::to_string(stats->sent) + ")",
           {}});
      break;
    }
  }
}

}  // namespace natdiag::client
