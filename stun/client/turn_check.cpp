#include "stun/client/turn_check.hpp"


#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "stun/client/turn_audit.hpp"
#include "stun/client/turn_relay.hpp"
#include "stun/client/turn_session.hpp"
#include "stun/net/transaction.hpp"
#include "stun/proto/attributes.hpp"
#include "stun/proto/turn.hpp"

namespace natdiag::client {
namespace {

using Clock = stun::Clock;
using std::chrono::milliseconds;

Duration since(stun::TimePoint start) {
  return std::chrono::duration_cast<Duration>(Clock::now() - start);
}

class Check {
 public:
  explicit Check(const TurnCheckOptions& o) : o_(o), start_(Clock::now()), deadline_(start_ + o.timeout) {
    r_.host = o.host;
    r_.port = o.port;
    r_.transport = o.transport;
  }

  TurnCheckReport run() {
    try {
      if (resolve() && connect() && allocate()) {
        refresh();
        relay_test();
        if (o_.audit) audit();
        release();
      }
    } catch (const std::length_error& e) {
      // Something the server sent did not fit where it goes: this URI's problem, not the run's.
      fail("malformed", std::string("the server's answer could not be used: ") + e.what());
    }
    finish();
    return std::move(r_);
  }

 private:
  TurnStep& step(std::string name, stun::TimePoint began, bool ok, std::string detail) {
    return add_step(r_, std::move(name), began, ok, std::move(detail));
  }
  bool fail(std::string problem, std::string verdict) {
    set_problem(r_, std::move(problem), std::move(verdict));
    return false;
  }

  bool resolve() {
    const auto began = Clock::now();
    const auto resolved = net::resolve(o_.host, o_.port, o_.family, deadline_);
    if (resolved.addresses.empty()) {
      step("resolve", began, false, resolved.error);
      return fail("unreachable", "cannot resolve " + o_.host + ": " + resolved.error);
    }
    r_.server = resolved.addresses.front();
    if (!TransportAddress::parse(o_.host)) step("resolve", began, true, r_.server->ip_string());
    return true;
  }

  bool connect() {
    const auto began = Clock::now();
    if (o_.transport == Transport::kUdp) {
      link_ = make_udp_link(*r_.server);
    } else {
      net::TlsOptions tls;
      tls.enabled = o_.transport == Transport::kTls;
      tls.verify = o_.tls_verify;
      tls.ca_file = o_.ca_file;
      if (!TransportAddress::parse(o_.host)) tls.server_name = o_.host;
      const std::string how = tls.enabled ? "TLS" : "TCP";
      for (int attempt = 0; attempt < 2 && !link_; ++attempt) {
        try {
          auto conn = net::StreamConnection::connect(*r_.server, std::nullopt, tls, deadline_);
          if (tls.enabled) {
            r_.certificate = conn.peer_certificate_info();
            r_.tls_verified = tls.verify;
          }
          link_ = make_stream_link(std::move(conn));
        } catch (const net::SocketError& e) {
          if (e.error_number() == EMFILE || e.error_number() == ENFILE) throw;
          const std::string why =
              e.error_number() == ECONNREFUSED
                  ? "connection refused: nothing listens on " + r_.server->to_string() + " over TCP"
              : e.error_number() == ETIMEDOUT
                  ? "no " + how + " connection to " + r_.server->to_string() + " within " +
                        seconds_text(o_.timeout)
                  : e.what();
          step("connect", began, false, why);
          return fail(e.error_number() == ETIMEDOUT ? "no-answer" : "unreachable", why);
        } catch (const std::runtime_error& e) {
          const std::string what = e.what();
          if (tls.verify && what.find("certificate verify failed") != std::string::npos) {
            // Browsers verify TURN certificates: a failure is the verdict, but look further.
            r_.tls_problem = what.substr(0, what.find(" (--insecure"));
            tls.verify = false;
            continue;
          }
          step("connect", began, false, what);
          return fail("unreachable", what);
        }
      }
    }
    r_.local = link_->local_address();
    std::string detail = "from " + r_.local->to_string();
    if (r_.certificate) {
      detail += ", certificate " + r_.certificate->subject + ", expires " +
                r_.certificate->not_after;
      if (!r_.tls_problem.empty()) detail += " (NOT verified: " + r_.tls_problem + ")";
      else if (*r_.tls_verified) detail += ", verified";
      else detail += ", not verified (--insecure)";
    }
    step("connect", began, r_.tls_problem.empty(), detail);
    if (r_.certificate && r_.tls_problem.empty() && r_.certificate->days_left < 14) {
      r_.findings.push_back({"tls-expiring", "warning",
                             "the TLS certificate expires in " +
                                 std::to_string(r_.certificate->days_left) + " days (" +
                                 r_.certificate->not_after + ")",
                             {"cert=... / pkey=...: renew the certificate"}});
    }
    if (!r_.tls_problem.empty()) {
      fail("tls-certificate", "the TLS certificate does not verify: " + r_.tls_problem +
                                  "; browsers refuse it (--ca-file trusts your own CA)");
    }
    session_.emplace(*link_, o_.credentials.value_or(TurnCredentials{}), o_.credentials.has_value());
    return true;
  }

  bool allocate() {
    const auto began = Clock::now();
    const auto answer = session_->request(
        stun::Method::kAllocate,
        [](stun::MessageBuilder& b) {
          b.add_raw(static_cast<std::uint16_t>(stun::AttributeType::kRequestedTransport),
                    stun::encode_requested_transport(stun::kProtocolUdp));
        },
        deadline_);
    r_.software = session_->software();
    r_.authenticated = session_->challenged();
    if (session_->auth()) r_.realm = session_->auth()->realm;
    if (!answer.answered()) {
      const bool silent = answer.failure.starts_with("no answer") || answer.failure == "timed out";
      const auto sent = answer.failure.find('(');
      std::string count;
      if (sent != std::string::npos) count.append(" ").append(answer.failure, sent);
      const std::string why = (silent ? "no answer from " + r_.server->to_string() + " over " +
                                            std::string(transport_name(o_.transport)) + " within " +
                                            seconds_text(o_.timeout) + count
                                      : answer.failure) +
                              (session_->challenged() ? " after the credentials were sent" : "");
      step("allocate", began, false, why);
      return fail(silent ? "no-answer" : "unreachable", why);
    }
    if (!answer.malformed.empty()) {
      step("allocate", began, false, "unusable answer: " + answer.malformed);
      return fail("malformed", "the server's answer to Allocate is malformed: " + answer.malformed);
    }
    const auto view = stun::MessageView::parse(answer.message);
    if (!answer.success) {
      r_.error_code = answer.error_code;
      r_.error_reason = answer.reason;
      if (auto v = view->find_value(stun::AttributeType::kRealm)) {
        r_.realm = std::string(stun::as_text(*v));
      }
      const bool sent = session_->challenged();
      r_.error_meaning = explain_turn_error(answer.error_code, sent);
      const std::string head = std::to_string(answer.error_code) + " " + answer.reason;
      step("allocate", began, false, head + ": " + r_.error_meaning);
      return classify_error(answer.error_code, sent, head);
    }
    const auto a = interpret_allocate_response(*view);
    if (a.kind != AllocateAnswer::Kind::kSuccess) {
      step("allocate", began, false, "unusable answer: " + a.problem);
      return fail("malformed", "the server's Allocate answer is unusable: " + a.problem);
    }
    r_.relayed = a.relayed;
    r_.mapped = a.mapped;
    r_.lifetime = a.lifetime;
    std::string detail = "relay " + a.relayed->to_string();
    if (a.mapped) detail += ", mapped " + a.mapped->to_string();
    if (a.lifetime) detail += ", lifetime " + std::to_string(*a.lifetime) + " s";
    detail += session_->challenged() ? ", as " + session_->auth()->username
                                     : ", without credentials";
    step("allocate", began, true, detail);
    if (!session_->challenged()) {
      r_.findings.push_back(
          {"open-relay", "critical",
           "the server allocates a relay without asking for credentials: anyone can relay "
           "through it",
           {"lt-cred-mech (with user=...) or use-auth-secret + static-auth-secret=..."}});
    }
    if (net::is_private_or_local(*a.relayed)) flag_private_relay();
    return true;
  }

  bool classify_error(int code, bool sent, const std::string& head) {
    const std::string user = o_.credentials ? o_.credentials->username : "";
    if (sent && (code == 401 || code == 400 || code == 441)) {
      if (o_.rest_ttl && *o_.rest_ttl <= 0) {
        return fail("rest-credentials-expired",
                    "TURN REST credentials expired: the username '" + user + "' carries a time " +
                        std::to_string(-*o_.rest_ttl) + " s in the past (--ttl " +
                        std::to_string(*o_.rest_ttl) + "); the server answered " + head);
      }
      if (o_.rest_ttl) {
        return fail("wrong-credentials",
                    "wrong credentials: the server rejected the TURN REST credentials (" + head +
                        "): the secret does not match the server's static-auth-secret, or the "
                        "clocks differ by more than --ttl " + std::to_string(*o_.rest_ttl) +
                        " s (this host's time: " + utc_now() + ")");
      }
      return fail("wrong-credentials", "wrong credentials: the server rejected user '" + user +
                                           "' and its password" +
                                           (r_.realm.empty() ? "" : " for realm '" + r_.realm + "'") +
                                           " (" + head + ")");
    }
    if (code == 401) {
      return fail("credentials-needed",
                  "the server wants credentials (" + head +
                      "): give --user and --password, or --secret for TURN REST");
    }
    return fail("refused", "the server refused the allocation: " + head + ": " +
                               explain_turn_error(code, sent));
  }

  static std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    tm u{};
    gmtime_r(&t, &u);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &u);
    return buf;
  }

  void flag_private_relay() {
    auto [finding, verdict] = private_relay_finding(*r_.server, *r_.relayed);
    r_.findings.push_back(std::move(finding));
    if (!verdict.empty()) fail("relay-private", std::move(verdict));
  }

  void refresh() {
    const auto began = Clock::now();
    const auto answer = session_->request(
        stun::Method::kRefresh,
        [](stun::MessageBuilder& b) { b.add_u32(stun::AttributeType::kLifetime, 600); },
        deadline_);
    step("refresh", began, answer.success,
         answer.success ? "lifetime 600 s accepted"
         : answer.answered() ? std::to_string(answer.error_code) + " " + answer.reason
                             : answer.failure);
    if (!answer.success) fail("refresh-failed", "the server did not refresh the allocation");
  }

  void relay_test() { test_relay(*session_, o_.count, deadline_, r_); }

  void audit() {
    const auto began = Clock::now();
    int granted = audit_permissions(*session_, *r_.relayed, *r_.server, deadline_, r_);
    granted += audit_other_family();
    step("audit", began, granted == 0,
         std::to_string(r_.audit.size()) + " permissions asked, " + std::to_string(granted) +
             " granted");
    for (auto& f : audit_findings(r_.audit, r_.software)) r_.findings.push_back(std::move(f));
  }

  /// The other address family's targets need a relay of that family (RFC 8656 §9.1): a second
  /// allocation over a second connection, released at once.
  int audit_other_family() {
    const bool ipv6 = r_.relayed->family == stun::Family::kIPv4;
    std::unique_ptr<TurnLink> link;
    try {
      if (o_.transport == Transport::kUdp) {
        link = make_udp_link(*r_.server);
      } else {
        net::TlsOptions tls;
        tls.enabled = o_.transport == Transport::kTls;
        tls.verify = false;  // the first connection already verified (or reported) it
        if (!TransportAddress::parse(o_.host)) tls.server_name = o_.host;
        link = make_stream_link(net::StreamConnection::connect(*r_.server, std::nullopt, tls, deadline_));
      }
    } catch (const std::exception&) {
      audit_not_applicable(ipv6, *r_.server, std::nullopt, r_);
      return 0;
    }
    TurnSession session(*link, o_.credentials.value_or(TurnCredentials{}), o_.credentials.has_value());
    const auto answer = session.request(
        stun::Method::kAllocate,
        [&](stun::MessageBuilder& b) {
          b.add_raw(static_cast<std::uint16_t>(stun::AttributeType::kRequestedTransport),
                    stun::encode_requested_transport(stun::kProtocolUdp));
          b.add_raw(static_cast<std::uint16_t>(stun::AttributeType::kRequestedAddressFamily),
                    stun::encode_requested_address_family(ipv6));
        },
        deadline_);
    std::optional<TransportAddress> relayed;
    if (answer.success) {
      const auto view = stun::MessageView::parse(answer.message);
      const auto a = interpret_allocate_response(*view);
      if (a.kind == AllocateAnswer::Kind::kSuccess) relayed = a.relayed;
    }
    if (!relayed) {
      // 440 Address Family not Supported: the server has no relay of that family.
      audit_not_applicable(ipv6, *r_.server,
                           answer.error_code ? std::optional(answer.error_code) : std::nullopt, r_);
      return 0;
    }
    const int granted = audit_permissions(session, *relayed, *r_.server, deadline_, r_);
    (void)session.request(
        stun::Method::kRefresh,
        [](stun::MessageBuilder& b) { b.add_u32(stun::AttributeType::kLifetime, 0); },
        std::max(deadline_, Clock::now() + milliseconds(500)));
    return granted;
  }

  void release() {
    const auto began = Clock::now();
    // Even when the check ran out of time, give the allocation back (a short grace period).
    const auto by = std::max(deadline_, Clock::now() + milliseconds(500));
    const auto answer = session_->request(
        stun::Method::kRefresh,
        [](stun::MessageBuilder& b) { b.add_u32(stun::AttributeType::kLifetime, 0); }, by);
    r_.released = answer.success;
    step("release", began, answer.success,
         answer.success ? "Refresh LIFETIME 0: nothing left allocated"
         : answer.answered() ? std::to_string(answer.error_code) + " " + answer.reason
                             : answer.failure);
  }

  void finish() {
    r_.elapsed = since(start_);
    r_.working = r_.problem.empty() && r_.relay_unknown.empty();
    if (r_.working) {
      r_.verdict = "working: relay " + r_.relayed->to_string() + ", data went through it both ways";
    }
  }

  const TurnCheckOptions& o_;
  stun::TimePoint start_;
  stun::TimePoint deadline_;
  TurnCheckReport r_;
  std::unique_ptr<TurnLink> link_;
  std::optional<TurnSession> session_;
};

}  // namespace

std::string explain_turn_error(int code, bool credentials_sent) {
  switch (code) {
    case 400:
      return credentials_sent
                 ? "the server rejected the authenticated retry: the credentials (or their "
                   "encoding) were not accepted"
                 : "the server does not do TURN (a STUN-only server?)";
    case 401:
      return credentials_sent ? "the credentials were rejected"
                              : "the server wants credentials";
    case 403: return "forbidden by the server's policy (user, peer or address not allowed)";
    case 420: return "the server does not understand TURN's attributes: not a TURN server";
    case 437: return "an allocation already exists for this client address and port";
    case 438: return "the nonce went stale again after a new one was given";
    case 440: return "the server does not relay this address family";
    case 441: return "wrong credentials: the username is not the allocation's";
    case 442: return "the server does not relay this transport protocol";
    case 486: return "allocation quota reached (coturn: user-quota / total-quota)";
    case 500: return "server error";
    case 508: return "insufficient capacity: the relay port range is exhausted (coturn: "
                     "min-port..max-port)";
    default: return "the server refused";
  }
}

std::vector<TurnFinding> cross_findings(const std::vector<TurnCheckReport>& reports) {
  std::vector<TurnFinding> out;
  for (const auto& udp : reports) {
    if (udp.transport != Transport::kUdp || udp.problem != "no-answer") continue;
    for (const auto& stream : reports) {
      if (stream.transport == Transport::kUdp || stream.host != udp.host || !stream.relayed) {
        continue;
      }
      out.push_back({"udp-blocked", "warning",
                     "UDP blocked, TCP works: no answer over UDP from " +
                         (udp.server ? udp.server->to_string() : udp.host) + ", while " +
                         std::string(transport_name(stream.transport)) + " to " +
                         (stream.server ? stream.server->to_string() : stream.host) +
                         " allocates; UDP to the TURN port is blocked on the way",
                     {"open UDP " + std::to_string(udp.port) + " to the TURN server in the firewall"}});
      return out;
    }
  }
  return out;
}

TurnCheckReport check_turn(const TurnCheckOptions& options) { return Check(options).run(); }

std::pair<TurnFinding, std::string> private_relay_finding(const TransportAddress& server,
                                                          const TransportAddress& relayed) {
  const std::string relay_ip = relayed.ip_string();
  const std::string family = relayed.family == stun::Family::kIPv4 ? "IPv4" : "IPv6";
  if (net::is_private_or_local(server)) {
    // Reached on a private address itself: this host may share the server's network, so a
    // private relay proves nothing about a NAT in front of it. Say what was seen.
    return {{"relay-private", "info",
             "the relayed address " + relayed.to_string() +
                 " is private, like the address the server was reached at: only peers on that "
                 "network can use it. If coturn is behind NAT, set external-ip",
             {"external-ip=PUBLIC_IP/" + relay_ip}},
            ""};
  }
  const std::string public_ip = server.ip_string();
  std::string message = "the relayed address " + relayed.to_string() +
                        " is private while the server was reached at " + public_ip +
                        ": peers on the Internet cannot send to the relay. coturn runs behind "
                        "NAT without external-ip";
  if (server.family != relayed.family) {
    // The address natdiag reached is of the other family: it is not the public address the
    // relay's NAT maps to, and that one was not measured.
    message += ". The server's public " + family + " address is unknown here (it was reached "
               "over " + (family == "IPv4" ? "IPv6" : "IPv4") + "): learn it with natdiag "
               "turn -" + (family == "IPv4" ? "4" : "6") + " HOST from outside, or natdiag "
               "stun -" + (family == "IPv4" ? "4" : "6") + " on the TURN host";
    return {{"relay-private", "critical", message,
             {"external-ip=PUBLIC_" + family + "/" + relay_ip}},
            "coturn behind NAT without external-ip: the relayed address " + relay_ip +
                " is private; set external-ip=PUBLIC_" + family + "/" + relay_ip +
                " (its public " + family + " address was not measured)"};
  }
  return {{"relay-private", "critical", message, {"external-ip=" + public_ip + "/" + relay_ip}},
          "coturn behind NAT without external-ip: the relayed address " + relay_ip +
              " is private; set external-ip=" + public_ip + "/" + relay_ip};
}

void set_problem(TurnCheckReport& report, std::string problem, std::string verdict) {
  if (!report.problem.empty()) return;
  report.problem = std::move(problem);
  report.verdict = std::move(verdict);
}

void set_relay_unknown(TurnCheckReport& report, std::string reason, std::string verdict) {
  report.relay_unknown = std::move(reason);
  if (report.problem.empty()) report.verdict = std::move(verdict);
}

TurnStep& add_step(TurnCheckReport& report, std::string name, stun::TimePoint began, bool ok,
                   std::string detail) {
  const auto elapsed = std::chrono::duration_cast<Duration>(stun::Clock::now() - began);
  report.steps.push_back(TurnStep{std::move(name), ok, elapsed, std::move(detail)});
  return report.steps.back();
}

}  // namespace natdiag::client
