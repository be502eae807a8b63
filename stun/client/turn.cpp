#include "stun/client/turn.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "stun/net/resolver.hpp"
#include "stun/net/transaction.hpp"
#include "stun/proto/attributes.hpp"
#include "stun/proto/integrity.hpp"

namespace natdiag::client {

std::string base64_encode(std::span<const std::uint8_t> data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(),
                                static_cast<int>(data.size()));
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

TurnCredentials rest_credentials(std::string_view secret, std::string_view user,
                                 std::int64_t expiry_unix_time) {
  TurnCredentials c;
  c.username = std::to_string(expiry_unix_time) + ":" + std::string(user);
  std::array<std::uint8_t, 20> mac{};
  std::size_t mac_size = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA1", nullptr, secret.data(), secret.size(),
                reinterpret_cast<const unsigned char*>(c.username.data()), c.username.size(),
                mac.data(), mac.size(), &mac_size) == nullptr ||
      mac_size != mac.size()) {
    throw std::runtime_error("HMAC-SHA1 is not available from OpenSSL");
  }
  c.password = base64_encode(mac);
  return c;
}

TurnCredentials rest_credentials(std::string_view secret, std::string_view user) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return rest_credentials(secret, user, (now + kRestCredentialLifetime).count());
}

namespace {

constexpr std::uint8_t kProtocolUdp = 17;  // RFC 8656 §18.7: the IANA protocol number

void add_auth(stun::MessageBuilder& builder, const LongTermAuth& auth) {
  builder.add_string(stun::AttributeType::kUsername, auth.username);
  builder.add_string(stun::AttributeType::kRealm, auth.realm);
  builder.add_string(stun::AttributeType::kNonce, auth.nonce);
  builder.add_message_integrity(auth.key);
}

std::vector<std::uint8_t> finish(stun::MessageBuilder& builder) {
  builder.add_fingerprint();
  if (!builder.ok()) throw std::length_error("TURN request does not fit its buffer");
  const auto bytes = builder.bytes();
  return {bytes.begin(), bytes.end()};
}

}  // namespace

std::vector<std::uint8_t> make_allocate_request(const stun::TransactionId& id,
                                                const LongTermAuth* auth) {
  std::array<std::uint8_t, 1024> buffer{};
  stun::MessageBuilder builder(
      buffer, stun::compose_message_type(stun::Method::kAllocate, stun::MessageClass::kRequest),
      id);
  builder.add_string(stun::AttributeType::kSoftware, software_name());
  // RFC 8656 §18.7: the protocol number, then 3 bytes RFFU.
  const std::array<std::uint8_t, 4> transport{kProtocolUdp, 0, 0, 0};
  builder.add_raw(static_cast<std::uint16_t>(stun::AttributeType::kRequestedTransport), transport);
  if (auth != nullptr) add_auth(builder, *auth);
  return finish(builder);
}

std::vector<std::uint8_t> make_refresh_request(const stun::TransactionId& id,
                                               const LongTermAuth& auth, std::uint32_t lifetime) {
  std::array<std::uint8_t, 1024> buffer{};
  stun::MessageBuilder builder(
      buffer, stun::compose_message_type(stun::Method::kRefresh, stun::MessageClass::kRequest), id);
  builder.add_string(stun::AttributeType::kSoftware, software_name());
  builder.add_u32(stun::AttributeType::kLifetime, lifetime);
  add_auth(builder, auth);
  return finish(builder);
}

AllocateAnswer interpret_allocate_response(const stun::MessageView& response) {
  using stun::AttributeType;
  using Kind = AllocateAnswer::Kind;
  AllocateAnswer a;
  if (response.method() != static_cast<std::uint16_t>(stun::Method::kAllocate)) {
    a.problem = "answer is not an Allocate response";
    return a;
  }
  if (auto v = response.find_value(AttributeType::kSoftware))
    a.software = std::string(stun::as_text(*v));
  if (auto v = response.find_value(AttributeType::kRealm)) a.realm = std::string(stun::as_text(*v));
  if (auto v = response.find_value(AttributeType::kNonce)) a.nonce = std::string(stun::as_text(*v));
  if (response.message_class() == stun::MessageClass::kErrorResponse) {
    const auto value = response.find_value(AttributeType::kErrorCode);
    if (!value) {
      a.problem = "error response without ERROR-CODE";
      return a;
    }
    const auto code = stun::decode_error_code(*value);
    if (!code) {
      a.problem = "bad ERROR-CODE: " + code.error().describe();
      return a;
    }
    a.error_code = code->code;
    a.reason = code->reason.empty() ? std::string(stun::reason_phrase(code->code))
                                    : std::string(code->reason);
    // RFC 8489 §9.2.4: a 401 carrying REALM and NONCE is the challenge; §9.2.5: 438 a new nonce.
    if (a.error_code == 401 && !a.realm.empty() && !a.nonce.empty()) {
      a.kind = Kind::kChallenge;
    } else if (a.error_code == 438 && !a.nonce.empty()) {
      a.kind = Kind::kStaleNonce;
    } else {
      a.kind = Kind::kError;
    }
    return a;
  }
  if (response.message_class() != stun::MessageClass::kSuccessResponse) {
    a.problem = "answer is neither a success nor an error response";
    return a;
  }
  auto take = [&](AttributeType type, std::optional<net::TransportAddress>& out) {
    if (auto found = stun::find_address(response, type)) {
      if (*found) {
        out = found->value();
      } else if (a.problem.empty()) {
        a.problem = found->error().describe();
      }
    }
  };
  take(AttributeType::kXorRelayedAddress, a.relayed);
  take(AttributeType::kXorMappedAddress, a.mapped);
  if (auto v = response.find_value(AttributeType::kLifetime)) {
    if (auto lifetime = stun::decode_u32(*v)) a.lifetime = *lifetime;
  }
  // RFC 8656 §7.3: a success response carries XOR-RELAYED-ADDRESS.
  if (!a.relayed && a.problem.empty()) a.problem = "success response without XOR-RELAYED-ADDRESS";
  a.kind = a.problem.empty() ? Kind::kSuccess : Kind::kMalformed;
  return a;
}

std::string_view turn_verdict_name(TurnVerdict v) noexcept {
  switch (v) {
    case TurnVerdict::kOk: return "ok";
    case TurnVerdict::kAuthFailed: return "auth-failed";
    case TurnVerdict::kRefused: return "refused";
    case TurnVerdict::kUnreachable: return "unreachable";
  }
  return "unreachable";
}

TurnVerdict verdict_for_error(int code, bool credentials_sent) noexcept {
  // RFC 8489 §9.2.5: a 401 to a request that carried credentials means they were wrong.
  // RFC 8656 §7.2 (441 Wrong Credentials): the username is not the one the allocation uses.
  // A 400 to the retry that answered the server's own 401 challenge: the server does TURN (it
  // challenged an Allocate), so what it could not accept is the credentials or their encoding
  // (one widely used Go server answers a bad MESSAGE-INTEGRITY this way).
  if ((code == 401 && credentials_sent) || code == 441 || (code == 400 && credentials_sent)) {
    return TurnVerdict::kAuthFailed;
  }
  return TurnVerdict::kRefused;
}

namespace {

/// One request, one answer, over whatever carries them.
class Channel {
 public:
  virtual ~Channel() = default;
  /// Sends `request` and returns the response with its transaction ID, or nullopt with `error`.
  virtual std::optional<std::vector<std::uint8_t>> exchange(
      const std::vector<std::uint8_t>& request, const stun::TransactionId& id,
      stun::TimePoint deadline, std::string& error) = 0;
};

class UdpChannel final : public Channel {
 public:
  explicit UdpChannel(const TransportAddress& server)
      : socket_(net::UdpSocket::bind(net::any_address(server.family))), server_(server) {
    // Connected, so ICMP port unreachable surfaces as ECONNREFUSED instead of a silent wait.
    socket_.connect(server);
  }

  std::optional<std::vector<std::uint8_t>> exchange(const std::vector<std::uint8_t>& request,
                                                    const stun::TransactionId&,
                                                    stun::TimePoint deadline,
                                                    std::string& error) override {
    net::UdpTransactions transactions;
    const auto handle = transactions.start(
        net::UdpRequest{&socket_, server_, request, {}, deadline, net::SourceMatch::kDestination});
    transactions.run(deadline);
    const auto& outcome = transactions.outcome(handle);
    switch (outcome.status) {
      case net::UdpOutcome::Status::kResponse: return outcome.response;
      case net::UdpOutcome::Status::kSocketError:
        error =
            outcome.socket_error == ECONNREFUSED
                ? "ICMP port unreachable: nothing listens on " + server_.to_string() + " over UDP"
                : std::string(std::strerror(outcome.socket_error));
        return std::nullopt;
      default:
        error = "no answer from " + server_.to_string() + " over UDP (" +
                std::to_string(outcome.transmissions) + " requests sent)";
        return std::nullopt;
    }
  }

 private:
  net::UdpSocket socket_;
  TransportAddress server_;
};

class StreamChannel final : public Channel {
 public:
  explicit StreamChannel(net::StreamConnection conn) : conn_(std::move(conn)) {}

  std::optional<std::vector<std::uint8_t>> exchange(const std::vector<std::uint8_t>& request,
                                                    const stun::TransactionId& id,
                                                    stun::TimePoint deadline,
                                                    std::string& error) override {
    if (!conn_.send_all(request, deadline, error)) return std::nullopt;
    // The same screen as UDP: a request echoed back, an indication, a wrong FINGERPRINT or
    // another transaction ID is not believed; read on until ours or the deadline.
    net::PacketCounters refused;
    for (int i = 0; i < 16; ++i) {
      auto response = conn_.receive_message(deadline, error);
      if (!response) {
        if (error == "timed out")
          error = "no answer from " + conn_.peer().to_string() + " on the connection";
        if (refused.total() > 0) error += " (" + std::to_string(refused.total()) + " messages refused)";
        return std::nullopt;
      }
      const auto view = net::screen_response(*response, conn_.peer(), refused);
      if (view && view->transaction_id() == id) return response;
    }
    error = "no response with our transaction ID (" + std::to_string(refused.total()) + " messages refused)";
    return std::nullopt;
  }

 private:
  net::StreamConnection conn_;
};

/// Opens the channel; nullptr with report.verdict/detail set when the server cannot be reached.
std::unique_ptr<Channel> open_channel(const TurnProbeOptions& options,
                                      const TransportAddress& server, stun::TimePoint deadline,
                                      TurnProbeReport& report) {
  if (options.transport == Transport::kUdp) return std::make_unique<UdpChannel>(server);
  net::TlsOptions tls;
  tls.enabled = options.transport == Transport::kTls;
  tls.verify = options.tls_verify;
  if (!TransportAddress::parse(options.host)) tls.server_name = options.host;
  const std::string how = tls.enabled ? "TLS" : "TCP";
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      return std::make_unique<StreamChannel>(
          net::StreamConnection::connect(server, std::nullopt, tls, deadline));
    } catch (const net::SocketError& e) {
      if (e.error_number() == EMFILE || e.error_number() == ENFILE) throw;
      report.detail =
          e.error_number() == ECONNREFUSED
              ? "connection refused: nothing listens on " + server.to_string() + " over TCP"
          : e.error_number() == ETIMEDOUT
              ? "no " + how + " connection to " + server.to_string() + " within the timeout"
              : e.what();
      return nullptr;
    } catch (const std::runtime_error& e) {
      const std::string what = e.what();
      // libnice does not verify TURN certificates, browsers do: say so and look further.
      if (tls.verify && what.find("certificate verify failed") != std::string::npos) {
        report.tls_problem = what.substr(0, what.find(" (--insecure"));
        tls.verify = false;
        continue;
      }
      report.detail = what;
      return nullptr;
    }
  }
  return nullptr;
}

}  // namespace

TurnProbeReport probe_turn_allocate(const TurnProbeOptions& options) {
  TurnProbeReport report;
  const auto start = stun::Clock::now();
  const auto deadline = start + options.timeout;
  auto done = [&](TurnVerdict verdict, std::string detail) {
    report.verdict = verdict;
    report.detail = std::move(detail);
    report.elapsed = std::chrono::duration_cast<Duration>(stun::Clock::now() - start);
    return report;
  };
  if (options.server) {
    report.server = options.server;
  } else {
    const auto resolved = net::resolve(options.host, options.port, options.family, deadline);
    if (resolved.addresses.empty()) {
      return done(TurnVerdict::kUnreachable,
                  "cannot resolve " + options.host + ": " + resolved.error);
    }
    report.server = resolved.addresses.front();
  }
  auto channel = open_channel(options, *report.server, deadline, report);
  if (!channel) return done(TurnVerdict::kUnreachable, report.detail);

  std::optional<LongTermAuth> auth;
  int stale_nonces = 0;
  for (int step = 0; step < 4; ++step) {
    const auto id = net::random_transaction_id();
    std::string error;
    const auto bytes =
        channel->exchange(make_allocate_request(id, auth ? &*auth : nullptr), id, deadline, error);
    if (!bytes) {
      const bool silent = error.starts_with("no answer");
      return done(TurnVerdict::kUnreachable,
                  error + (silent ? " within " + seconds_text(options.timeout) : "") +
                      (auth ? " after the credentials were sent" : ""));
    }
    const auto parsed = stun::MessageView::parse(*bytes);
    if (!parsed) {
      return done(TurnVerdict::kRefused, "malformed answer: " + parsed.error().describe());
    }
    const auto answer = interpret_allocate_response(*parsed);
    if (answer.software) report.software = answer.software;
    if (!answer.realm.empty()) report.realm = answer.realm;
    using Kind = AllocateAnswer::Kind;
    switch (answer.kind) {
      case Kind::kSuccess: {
        report.relayed = answer.relayed;
        report.mapped = answer.mapped;
        if (auth) {
          // Give the relay back at once (RFC 8656 §7.2); its answer does not matter.
          const auto refresh_id = net::random_transaction_id();
          std::string ignored;
          const auto release_by =
              std::min(deadline, stun::Clock::now() + std::chrono::milliseconds(300));
          (void)channel->exchange(make_refresh_request(refresh_id, *auth, 0), refresh_id,
                                  release_by, ignored);
        }
        return done(TurnVerdict::kOk,
                    "relay " + answer.relayed->to_string() + " allocated" +
                        (auth ? " for " + auth->username : " without credentials"));
      }
      case Kind::kChallenge:
        if (auth) {
          report.error_code = 401;
          return done(TurnVerdict::kAuthFailed,
                      "401 Unauthorized: the server rejected user '" + auth->username +
                          "' and its password for realm '" + answer.realm + "'");
        }
        auth = LongTermAuth{options.credentials.username, answer.realm, answer.nonce,
                            stun::long_term_key_md5(options.credentials.username, answer.realm,
                                                    options.credentials.password)};
        break;
      case Kind::kStaleNonce:
        if (!auth || ++stale_nonces > 1) {
          report.error_code = 438;
          return done(TurnVerdict::kRefused, "438 Stale Nonce again and again");
        }
        auth->nonce = answer.nonce;
        break;
      case Kind::kError: {
        report.error_code = answer.error_code;
        const auto verdict = verdict_for_error(answer.error_code, auth.has_value());
        std::string detail = std::to_string(answer.error_code) + " " + answer.reason;
        if (answer.error_code == 401) detail += " without a REALM/NONCE challenge";
        if (answer.error_code == 400 && auth) {
          detail += " to the authenticated retry: the server rejected the credentials of user '" +
                    options.credentials.username + "' (or their encoding)";
        } else if (verdict == TurnVerdict::kAuthFailed) {
          detail += ": the server rejected user '" + options.credentials.username + "'";
        } else if (answer.error_code == 400 || answer.error_code == 420) {
          detail += ": the server does not do TURN (a STUN-only server?)";
        } else {
          detail += ": the server refused the allocation";
        }
        return done(verdict, detail);
      }
      case Kind::kMalformed:
        return done(TurnVerdict::kRefused, "unusable answer: " + answer.problem);
    }
  }
  return done(TurnVerdict::kRefused, "no allocation after repeated challenges");
}

std::string seconds_text(Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(d.count()) / 1e6);
  return buf;
}

}  // namespace natdiag::client
