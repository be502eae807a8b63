#include "stun/client/turn_session.hpp"

#include <poll.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "stun/net/transaction.hpp"
#include "stun/proto/attributes.hpp"
#include "stun/proto/integrity.hpp"
#include "stun/proto/turn.hpp"

namespace natdiag::client {
namespace {

int ms_until(stun::TimePoint deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - stun::Clock::now());
  // Round up so a wait that ends just before the deadline does not spin.
  return static_cast<int>(std::clamp<std::int64_t>(left.count() + 1, 0, 1000));
}

class UdpLink final : public TurnLink {
 public:
  explicit UdpLink(const TransportAddress& server)
      : socket_(net::UdpSocket::bind(net::any_address(server.family))), server_(server) {
    // Connected: only the server's datagrams arrive, and ICMP errors surface as ECONNREFUSED.
    socket_.connect(server);
  }
  bool send(std::span<const std::uint8_t> frame, stun::TimePoint, std::string& error) override {
    const int err = socket_.send_to(frame, server_);
    if (err == 0 || err == EAGAIN || err == ENOBUFS) return true;  // UDP: a lost datagram
    error = err == ECONNREFUSED ? refused() : std::strerror(err);
    return false;
  }
  std::optional<std::vector<std::uint8_t>> receive(stun::TimePoint deadline,
                                                   std::string& error) override {
    std::array<std::uint8_t, 2048> buffer{};
    for (;;) {
      int err = 0;
      if (auto got = socket_.receive(buffer, err)) {
        return std::vector<std::uint8_t>(buffer.begin(), buffer.begin() + got->size);
      }
      if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR) {
        error = err == ECONNREFUSED ? refused() : std::strerror(err);
        return std::nullopt;
      }
      if (stun::Clock::now() >= deadline) {
        error = "timed out";
        return std::nullopt;
      }
      pollfd p{socket_.fd(), POLLIN, 0};
      ::poll(&p, 1, ms_until(deadline));
    }
  }
  [[nodiscard]] bool reliable() const noexcept override { return false; }
  [[nodiscard]] TransportAddress local_address() const override { return socket_.local_address(); }

 private:
  std::string refused() const {
    return "ICMP port unreachable: nothing listens on " + server_.to_string() + " over UDP";
  }
  net::UdpSocket socket_;
  TransportAddress server_;
};

class StreamLink final : public TurnLink {
 public:
  explicit StreamLink(net::StreamConnection conn) : conn_(std::move(conn)) {}
  bool send(std::span<const std::uint8_t> frame, stun::TimePoint deadline,
            std::string& error) override {
    return conn_.send_all(frame, deadline, error);
  }
  std::optional<std::vector<std::uint8_t>> receive(stun::TimePoint deadline,
                                                   std::string& error) override {
    for (;;) {
      if (const auto size = stun::stream_frame_size(buffer_)) {
        if (buffer_.size() >= *size) {
          std::vector<std::uint8_t> frame(buffer_.begin(), buffer_.begin() + *size);
          buffer_.erase(buffer_.begin(), buffer_.begin() + *size);
          return frame;
        }
      } else if (buffer_.size() >= 4) {
        error = "the stream is out of step (neither STUN nor ChannelData)";
        return std::nullopt;
      }
      auto more = conn_.receive_some(4096, deadline, error);
      if (!more) return std::nullopt;
      buffer_.insert(buffer_.end(), more->begin(), more->end());
    }
  }
  [[nodiscard]] bool reliable() const noexcept override { return true; }
  [[nodiscard]] TransportAddress local_address() const override { return conn_.local_address(); }

 private:
  net::StreamConnection conn_;
  std::vector<std::uint8_t> buffer_;
};

}  // namespace

std::unique_ptr<TurnLink> make_udp_link(const TransportAddress& server) {
  return std::make_unique<UdpLink>(server);
}

std::unique_ptr<TurnLink> make_stream_link(net::StreamConnection connection) {
  return std::make_unique<StreamLink>(std::move(connection));
}

std::vector<std::uint8_t> TurnSession::build(
    stun::Method method, const stun::TransactionId& id,
    const std::function<void(stun::MessageBuilder&)>& attributes) {
  // Room for USERNAME, REALM and NONCE at their RFC 8489 maxima (508 + 763 + 763 bytes).
  std::array<std::uint8_t, 4096> buffer{};
  stun::MessageBuilder b(buffer, stun::compose_message_type(method, stun::MessageClass::kRequest),
                         id);
  b.add_string(stun::AttributeType::kSoftware, software_name());
  if (attributes) attributes(b);
  if (auth_) {
    b.add_string(stun::AttributeType::kUsername, auth_->username);
    b.add_string(stun::AttributeType::kRealm, auth_->realm);
    b.add_string(stun::AttributeType::kNonce, auth_->nonce);
    b.add_message_integrity(auth_->key);
  }
  b.add_fingerprint();
  if (!b.ok()) return {};
  return {b.bytes().begin(), b.bytes().end()};
}

void TurnSession::file(std::span<const std::uint8_t> frame) {
  if (stun::looks_like_channel_data(frame)) {
    if (auto cd = stun::parse_channel_data(frame, link_.reliable())) {
      inbox_.push_back(RelayedData{std::nullopt, cd->channel, {cd->data.begin(), cd->data.end()}});
      return;
    }
    ++ignored_;
    return;
  }
  auto msg = stun::MessageView::parse(frame);
  if (!msg || !msg->is(stun::Method::kData, stun::MessageClass::kIndication)) {
    ++ignored_;
    return;
  }
  // RFC 8656 §10.4: a Data indication without XOR-PEER-ADDRESS or DATA is discarded.
  const auto peer = stun::find_address(*msg, stun::AttributeType::kXorPeerAddress);
  const auto data = msg->find_value(stun::AttributeType::kData);
  if (!peer || !*peer || !data) {
    ++ignored_;
    return;
  }
  inbox_.push_back(RelayedData{peer->value(), std::nullopt, {data->begin(), data->end()}});
}

TurnAnswer TurnSession::exchange(const std::vector<std::uint8_t>& bytes,
                                 const stun::TransactionId& id, stun::TimePoint deadline) {
  TurnAnswer answer;
  stun::RetransmitPolicy policy;
  policy.reliable = link_.reliable();
  policy.initial_rto = rto_;
  stun::RetransmitSchedule schedule(policy, stun::Clock::now(), deadline);
  stun::TimePoint last_sent{};
  for (;;) {
    const auto now = stun::Clock::now();
    const auto action = schedule.poll(now);
    if (action == stun::RetransmitSchedule::Action::kSend) {
      std::string error;
      if (!link_.send(bytes, deadline, error)) {
        answer.failure = error;
        return answer;
      }
      last_sent = now;
      continue;
    }
    if (action == stun::RetransmitSchedule::Action::kGiveUp) {
      answer.failure = "no answer (" + std::to_string(schedule.transmissions()) +
                       (schedule.transmissions() == 1 ? " request" : " requests") + " sent)";
      return answer;
    }
    std::string error;
    auto frame = link_.receive(std::min(deadline, schedule.next_event()), error);
    if (!frame) {
      if (error == "timed out") continue;  // the schedule decides: retransmit or give up
      answer.failure = error;
      return answer;
    }
    auto msg = stun::MessageView::parse(*frame);
    const bool response =
        msg && (msg->message_class() == stun::MessageClass::kSuccessResponse ||
                msg->message_class() == stun::MessageClass::kErrorResponse);
    if (!response || msg->transaction_id() != id ||
        stun::check_fingerprint(*msg) == stun::Check::kInvalid) {
      file(*frame);
      continue;
    }
    answer.rtt = std::chrono::duration_cast<Duration>(stun::Clock::now() - last_sent);
    last_rtt_ = answer.rtt;
    if (schedule.transmissions() == 1) {
      // Karn: only an answer to a request sent once measures the path.
      rto_ = stun::RetransmitSchedule::rto_from_rtt(answer.rtt, kMinRto);
    }
    answer.message = std::move(*frame);
    const auto view = stun::MessageView::parse(answer.message);
    if (auto v = view->find_value(stun::AttributeType::kSoftware)) {
      software_ = std::string(stun::as_text(*v));
    }
    if (view->message_class() == stun::MessageClass::kSuccessResponse) {
      answer.success = true;
      return answer;
    }
    const auto value = view->find_value(stun::AttributeType::kErrorCode);
    const auto code = value ? stun::decode_error_code(*value)
                            : stun::Result<stun::ErrorCode>(stun::DecodeError{});
    if (!code) {
      answer.error_code = 0;
      answer.reason = "error response without a readable ERROR-CODE";
      return answer;
    }
    answer.error_code = code->code;
    answer.reason = code->reason.empty() ? std::string(stun::reason_phrase(code->code))
                                         : std::string(code->reason);
    return answer;
  }
}

TurnAnswer TurnSession::request(stun::Method method,
                                const std::function<void(stun::MessageBuilder&)>& attributes,
                                stun::TimePoint deadline) {
  bool answered_challenge = false;
  bool renewed_nonce = false;
  for (;;) {
    const auto id = net::random_transaction_id();
    const auto bytes = build(method, id, attributes);
    if (bytes.empty()) {
      TurnAnswer too_long;
      too_long.failure = "the request does not fit in a STUN message (USERNAME, REALM or NONCE "
                         "over RFC 8489's limits)";
      return too_long;
    }
    TurnAnswer answer = exchange(bytes, id, deadline);
    if (!answer.answered() || answer.success) return answer;
    const auto view = stun::MessageView::parse(answer.message);
    auto text = [&](stun::AttributeType type) {
      const auto v = view->find_value(type);
      return v ? std::string(stun::as_text(*v)) : std::string();
    };
    const std::string realm = text(stun::AttributeType::kRealm);
    const std::string nonce = text(stun::AttributeType::kNonce);
    // RFC 8489 §14.9, §14.10: REALM and NONCE are at most 763 bytes; a longer one is not
    // echoed back (nor believed).
    for (const auto& [name, value] : {std::pair{"REALM", &realm}, std::pair{"NONCE", &nonce}}) {
      if (value->size() > kMaxRealmNonceBytes) {
        answer.malformed = std::to_string(answer.error_code) + " with a " + name + " of " +
                           std::to_string(value->size()) + " bytes (RFC 8489 allows " +
                           std::to_string(kMaxRealmNonceBytes) + ")";
        return answer;
      }
    }
    // RFC 8489 §9.2.4: the first 401 with REALM and NONCE is the challenge to answer.
    if (answer.error_code == 401 && !auth_ && !answered_challenge && have_credentials_ &&
        !realm.empty() && !nonce.empty()) {
      auth_ = LongTermAuth{credentials_.username, realm, nonce,
                           stun::long_term_key_md5(credentials_.username, realm,
                                                   credentials_.password)};
      answered_challenge = true;
      continue;
    }
    // RFC 8489 §9.2.5: 438 Stale Nonce carries a new NONCE; send again with it, once.
    if (answer.error_code == 438 && auth_ && !renewed_nonce && !nonce.empty()) {
      auth_->nonce = nonce;
      if (!realm.empty()) auth_->realm = realm;
      renewed_nonce = true;
      continue;
    }
    return answer;
  }
}

bool TurnSession::send_indication(const TransportAddress& peer, std::span<const std::uint8_t> data,
                                  stun::TimePoint deadline, std::string& error) {
  std::array<std::uint8_t, 1200> buffer{};
  stun::MessageBuilder b(buffer,
                         stun::compose_message_type(stun::Method::kSend,
                                                    stun::MessageClass::kIndication),
                         net::random_transaction_id());
  b.add_xor_address(stun::AttributeType::kXorPeerAddress, peer);
  b.add_raw(static_cast<std::uint16_t>(stun::AttributeType::kData), data);
  b.add_fingerprint();
  if (!b.ok()) {
    error = "Send indication does not fit its buffer";
    return false;
  }
  return link_.send(b.bytes(), deadline, error);
}

bool TurnSession::send_channel_data(std::uint16_t channel, std::span<const std::uint8_t> data,
                                    stun::TimePoint deadline, std::string& error) {
  const auto frame = stun::make_channel_data(channel, data, link_.reliable());
  if (frame.empty()) {
    error = "bad channel number";
    return false;
  }
  return link_.send(frame, deadline, error);
}

std::optional<RelayedData> TurnSession::receive_data(stun::TimePoint deadline) {
  for (;;) {
    if (!inbox_.empty()) {
      RelayedData d = std::move(inbox_.front());
      inbox_.pop_front();
      return d;
    }
    std::string error;
    auto frame = link_.receive(deadline, error);
    if (!frame) return std::nullopt;
    file(*frame);
  }
}

}  // namespace natdiag::client
