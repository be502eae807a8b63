#include "stun/net/transaction.hpp"

#include <openssl/rand.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "stun/proto/integrity.hpp"
#include "stun/proto/message.hpp"

namespace natdiag::net {

stun::TransactionId random_transaction_id() {
  stun::TransactionId id{};
  if (RAND_bytes(id.data(), static_cast<int>(id.size())) != 1) {
    throw std::runtime_error("no random bytes for a transaction ID");
  }
  return id;
}

void PacketCounters::merge(const PacketCounters& other) {
  malformed += other.malformed;
  unmatched += other.unmatched;
  wrong_source += other.wrong_source;
  duplicates += other.duplicates;
  not_a_response += other.not_a_response;
  for (const auto& n : other.notes) note(n);
}

void PacketCounters::note(std::string text) {
  if (notes.size() < 8) notes.push_back(std::move(text));
}

std::optional<stun::MessageView> screen_response(std::span<const std::uint8_t> packet,
                                                 const TransportAddress& source,
                                                 PacketCounters& counters) {
  auto parsed = stun::MessageView::parse(packet);
  if (!parsed) {
    ++counters.malformed;
    counters.note("malformed packet from " + source.to_string() + ": " + parsed.error().describe());
    return std::nullopt;
  }
  const auto cls = parsed->message_class();
  if (cls != stun::MessageClass::kSuccessResponse && cls != stun::MessageClass::kErrorResponse) {
    ++counters.not_a_response;
    counters.note("a STUN " + std::string(stun::class_name(cls)) + " from " + source.to_string());
    return std::nullopt;
  }
  if (stun::check_fingerprint(parsed.value()) == stun::Check::kInvalid) {
    ++counters.malformed;
    counters.note("response from " + source.to_string() + " with a wrong FINGERPRINT");
    return std::nullopt;
  }
  return parsed.value();
}

UdpTransactions::Handle UdpTransactions::start(UdpRequest request) {
  const TimePoint now = stun::Clock::now();
  stun::TransactionId id{};
  if (request.bytes.size() >= stun::kHeaderSize) {
    std::memcpy(id.data(), request.bytes.data() + 8, id.size());
  }
  stun::RetransmitSchedule schedule(request.policy, now, request.deadline);
  entries_.push_back(Entry{std::move(request), schedule, {}, {}, id});
  return entries_.size() - 1;
}

void UdpTransactions::finish(Handle h, UdpOutcome::Status status) {
  entries_[h].outcome.status = status;
  if (on_complete_) on_complete_(h, entries_[h].outcome);  // may start more (entries_ grows)
}

void UdpTransactions::handle_packet(UdpSocket* socket, std::span<const std::uint8_t> packet,
                                    const TransportAddress& source, TimePoint now) {
  const auto parsed = screen_response(packet, source, counters_);
  if (!parsed) return;
  const stun::MessageView& msg = *parsed;
  for (Handle h = 0; h < entries_.size(); ++h) {
    Entry& e = entries_[h];
    if (e.request.socket != socket || e.id != msg.transaction_id()) continue;
    if (e.outcome.status != UdpOutcome::Status::kPending) {
      ++counters_.duplicates;
      return;
    }
    if (e.request.source_match == SourceMatch::kDestination && source != e.request.destination) {
      ++counters_.wrong_source;
      counters_.note("response for a pending transaction from " + source.to_string() + ", expected " +
           e.request.destination.to_string());
      return;
    }
    e.outcome.response.assign(packet.begin(), packet.end());
    e.outcome.source = source;
    e.outcome.rtt = std::chrono::duration_cast<Duration>(now - e.last_sent);
    finish(h, UdpOutcome::Status::kResponse);
    return;
  }
  ++counters_.unmatched;
  counters_.note("response from " + source.to_string() + " with an unknown transaction ID");
}

void UdpTransactions::drain(UdpSocket* socket, TimePoint now) {
  std::array<std::uint8_t, 2048> buffer{};
  for (int budget = 0; budget < 256; ++budget) {  // bounded: a flood cannot pin the loop
    int error = 0;
    auto received = socket->receive(buffer, error);
    if (!received) {
      if (error == EAGAIN || error == EWOULDBLOCK || error == EINTR) return;
      // An ICMP error on a connected socket: every pending request on it has failed.
      for (Handle h = 0; h < entries_.size(); ++h) {
        Entry& e = entries_[h];
        if (e.request.socket == socket && e.outcome.status == UdpOutcome::Status::kPending) {
          e.outcome.socket_error = error;
          finish(h, UdpOutcome::Status::kSocketError);
        }
      }
      return;
    }
    handle_packet(socket, std::span(buffer).first(received->size), received->source, now);
  }
}

void UdpTransactions::run(TimePoint deadline) {
  std::vector<pollfd> fds;
  std::vector<UdpSocket*> sockets;
  for (;;) {
    TimePoint now = stun::Clock::now();
    TimePoint next = deadline;
    bool pending = false;
    for (Handle h = 0; h < entries_.size(); ++h) {
      if (entries_[h].outcome.status != UdpOutcome::Status::kPending) continue;
      if (now >= deadline && entries_[h].schedule.transmissions() > 0) {
        finish(h, UdpOutcome::Status::kTimeout);
        continue;
      }
      for (;;) {
        Entry& e = entries_[h];
        const auto action = e.schedule.poll(now);
        if (action == stun::RetransmitSchedule::Action::kSend) {
          const int err = e.request.socket->send_to(e.request.bytes, e.request.destination);
          e.last_sent = now;
          e.outcome.transmissions = e.schedule.transmissions();
          if (err != 0 && err != EAGAIN && err != ENOBUFS) {
            e.outcome.socket_error = err;
            finish(h, UdpOutcome::Status::kSocketError);
            break;
          }
          continue;
        }
        if (action == stun::RetransmitSchedule::Action::kGiveUp) {
          finish(h, UdpOutcome::Status::kTimeout);
          break;
        }
        pending = true;
        next = std::min(next, e.schedule.next_event());
        break;
      }
    }
    if (!pending) return;

    fds.clear();
    sockets.clear();
    for (const Entry& e : entries_) {
      if (e.outcome.status != UdpOutcome::Status::kPending) continue;
      if (std::find(sockets.begin(), sockets.end(), e.request.socket) != sockets.end()) continue;
      sockets.push_back(e.request.socket);
      fds.push_back(pollfd{e.request.socket->fd(), POLLIN, 0});
    }
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count();
    // Round up so a wake-up just before the event does not spin.
    const int timeout_ms = static_cast<int>(std::clamp<std::int64_t>(wait + 1, 0, 1000));
    const int n = ::poll(fds.data(), fds.size(), timeout_ms);
    if (n <= 0) continue;
    now = stun::Clock::now();
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents != 0) drain(sockets[i], now);
    }
  }
}

}  // namespace natdiag::net
