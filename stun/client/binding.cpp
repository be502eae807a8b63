#include "stun/client/binding.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <thread>

#include "stun/client/udp_icmp.hpp"
#include "stun/proto/attributes.hpp"
#include "stun/proto/integrity.hpp"

namespace natdiag::client {

std::string_view transport_name(Transport t) noexcept {
  switch (t) {
    case Transport::kUdp: return "udp";
    case Transport::kTcp: return "tcp";
    case Transport::kTls: return "tls";
  }
  return "?";
}

std::string_view failure_name(Failure f) noexcept {
  switch (f) {
    case Failure::kNone: return "";
    case Failure::kTimeout: return "timeout";
    case Failure::kRefusedByServer: return "refused-by-server";
    case Failure::kRefusedOnPath: return "refused-on-path";
    case Failure::kOther: return "other";
  }
  return "";
}

std::string_view software_name() noexcept { return "natdiag 0.1.0"; }

std::vector<std::uint8_t> make_binding_request(const stun::TransactionId& id, bool change_ip,
                                               bool change_port) {
  std::array<std::uint8_t, 128> buffer{};
  stun::MessageBuilder builder(
      buffer, stun::compose_message_type(stun::Method::kBinding, stun::MessageClass::kRequest),
      id);
  builder.add_string(stun::AttributeType::kSoftware, software_name());
  if (change_ip || change_port) builder.add_change_request(change_ip, change_port);
  builder.add_fingerprint();
  const auto bytes = builder.bytes();
  return {bytes.begin(), bytes.end()};
}

std::vector<std::uint8_t> make_rfc3489_binding_request(std::span<const std::uint8_t, 16> id) {
  std::array<std::uint8_t, stun::kHeaderSize> buffer{};
  stun::MessageBuilder builder(
      buffer, stun::compose_message_type(stun::Method::kBinding, stun::MessageClass::kRequest),
      id);
  const auto bytes = builder.bytes();
  return {bytes.begin(), bytes.end()};
}

BindingFacts interpret_binding_response(const stun::MessageView& response) {
  using stun::AttributeType;
  BindingFacts facts;
  for (const auto& attr : response.attributes()) {
    const auto name = stun::attribute_name(attr.type);
    char fallback[16];
    std::snprintf(fallback, sizeof fallback, "0x%04x", attr.type);
    facts.attributes.emplace_back(name ? std::string(*name) : std::string(fallback),
                                  stun::describe_attribute(response, attr) +
                                      (attr.ignored ? " (ignored: after integrity)" : ""));
  }
  auto take = [&](AttributeType type, std::optional<TransportAddress>& out) {
    if (auto found = stun::find_address(response, type)) {
      if (*found) {
        out = found->value();
      } else if (facts.problem.empty()) {
        facts.problem = found->error().describe();
      }
    }
  };
  if (auto mapped = stun::find_mapped_address(response)) {
    if (*mapped) {
      facts.mapped = mapped->value();
      facts.mapped_is_xor = response.find(AttributeType::kMappedAddress) == nullptr ||
                            response.find(AttributeType::kXorMappedAddress) != nullptr ||
                            response.find(AttributeType::kXorMappedAddressLegacy) != nullptr;
    } else {
      facts.problem = mapped->error().describe();
    }
  }
  take(AttributeType::kOtherAddress, facts.other_address);
  take(AttributeType::kResponseOrigin, facts.response_origin);
  take(AttributeType::kChangedAddress, facts.changed_address);
  take(AttributeType::kSourceAddress, facts.source_address);
  if (auto software = response.find_value(AttributeType::kSoftware)) {
    facts.software = stun::printable_text(*software);
  }
  if (response.message_class() == stun::MessageClass::kErrorResponse) {
    if (auto value = response.find_value(AttributeType::kErrorCode)) {
      if (auto code = stun::decode_error_code(*value)) {
        facts.error_code = code->code;
        facts.error_reason = std::string(code->reason);
        if (facts.error_reason.empty()) facts.error_reason = stun::reason_phrase(code->code);
      }
    }
    if (!facts.error_code) facts.problem = "error response without a valid ERROR-CODE";
  } else if (auto unknown = response.unknown_comprehension_required()) {
    // RFC 8489 §6.3.3: unknown comprehension-required attributes fail the transaction.
    char buf[96];
    std::snprintf(buf, sizeof buf, "response carries unknown comprehension-required attribute 0x%04x",
                  *unknown);
    facts.problem = buf;
  } else if (!facts.mapped && facts.problem.empty()) {
    facts.problem = "success response without a mapped address";
  }
  return facts;
}

bool BindingReport::success() const noexcept { return last_success() != nullptr; }

const BindingAttempt* BindingReport::last_success() const noexcept {
  for (auto it = attempts.rbegin(); it != attempts.rend(); ++it) {
    if (it->success) return &*it;
  }
  return nullptr;
}

namespace {

void fill_from_response(BindingAttempt& attempt, std::span<const std::uint8_t> bytes) {
  auto parsed = stun::MessageView::parse(bytes);
  if (!parsed) {
    attempt.error = "malformed response: " + parsed.error().describe();
    return;
  }
  attempt.facts = interpret_binding_response(parsed.value());
  if (attempt.facts.error_code) {
    attempt.error = "server answered error " + std::to_string(*attempt.facts.error_code) + " " +
                    attempt.facts.error_reason;
  } else if (!attempt.facts.problem.empty()) {
    attempt.error = attempt.facts.problem;
  } else {
    attempt.success = true;
  }
  if (!attempt.success) attempt.failure = Failure::kOther;
}

// An ICMP error on the connected socket: who sent it decides what it means. The server's own
// port unreachable says nothing listens there; one from another host (an iptables REJECT on
// the way answers icmp-port-unreachable by default) says the path rejects it.
void classify_refusal(BindingAttempt& attempt, net::UdpSocket& socket, const TransportAddress& server,
                      int error) {
  std::optional<IcmpError> icmp;
  for (int i = 0; i < 8; ++i) {  // the queue holds one error per failed transmission
    auto next = read_icmp_error(socket);
    if (!next) break;
    if (next->from) icmp = next;
  }
  attempt.refused_by = icmp ? icmp->from : std::nullopt;
  const bool unreachable = error == ECONNREFUSED;
  if (attempt.refused_by && !attempt.refused_by->same_ip(server)) {
    attempt.failure = Failure::kRefusedOnPath;
    attempt.error = std::string(unreachable ? "ICMP port unreachable" : std::strerror(error)) + " from " +
                    attempt.refused_by->ip_string() + ", not from the server " + server.ip_string() +
                    ": a firewall or router on the way rejects UDP to it";
  } else if (unreachable && attempt.refused_by) {
    attempt.failure = Failure::kRefusedByServer;
    attempt.error = "ICMP port unreachable from the server " + server.ip_string() +
                    " itself: nothing listens on UDP " + server.to_string() + " (or its own firewall rejects it)";
  } else if (unreachable) {
    attempt.failure = Failure::kOther;
    attempt.error = "ICMP port unreachable (sender unknown): nothing listens there, or a firewall on the way "
                    "rejects it";
  } else {
    attempt.failure = Failure::kOther;
    attempt.error = std::strerror(error);
  }
}

BindingAttempt udp_attempt(const BindingOptions& options, const TransportAddress& server,
                           net::PacketCounters& ignored) {
  BindingAttempt attempt;
  auto socket = net::UdpSocket::bind(options.local.value_or(net::any_address(server.family)));
  // Connected, so the kernel reports ICMP port unreachable and filters other sources.
  socket.connect(server);
  enable_icmp_errors(socket, server.family);  // to learn who sent an ICMP error
  attempt.local = socket.local_address();
  const auto id = net::random_transaction_id();
  // RFC 3489's 128-bit ID: 4 more random bytes where the cookie would be, never the cookie.
  std::array<std::uint8_t, 16> classic_id{};
  if (options.rfc3489) {
    const auto head = net::random_transaction_id();
    std::copy_n(head.begin(), 4, classic_id.begin());
    if (classic_id[0] == 0x21) classic_id[0] = 0x12;
    std::copy(id.begin(), id.end(), classic_id.begin() + 4);
  }
  net::UdpTransactions transactions;
  const auto deadline = stun::Clock::now() + options.timeout;
  const auto handle = transactions.start(net::UdpRequest{
      &socket, server,
      options.rfc3489 ? make_rfc3489_binding_request(classic_id) : make_binding_request(id),
      options.policy, deadline, net::SourceMatch::kDestination});
  transactions.run(deadline);
  const auto& outcome = transactions.outcome(handle);
  attempt.transmissions = outcome.transmissions;
  ignored.merge(transactions.counters());
  switch (outcome.status) {
    case net::UdpOutcome::Status::kResponse:
      attempt.rtt = outcome.rtt;
      fill_from_response(attempt, outcome.response);
      if (options.rfc3489 && !std::equal(classic_id.begin(), classic_id.end(),
                                         outcome.response.begin() + 4)) {
        attempt.success = false;  // RFC 3489 §9.3: the whole 128-bit ID must match
        attempt.failure = Failure::kOther;
        attempt.error = "the answer does not echo the 128-bit RFC 3489 transaction ID";
      }
      break;
    case net::UdpOutcome::Status::kSocketError:
      classify_refusal(attempt, socket, server, outcome.socket_error);
      break;
    default:
      attempt.failure = Failure::kTimeout;
      attempt.error = "no response within " +
                      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         options.timeout).count()) +
                      " ms (" + std::to_string(outcome.transmissions) + " requests sent)";
      break;
  }
  return attempt;
}

// Why a stream attempt got no answer, saying what did come (from `before` to `after`).
std::string stream_failure(const std::string& error, const net::PacketCounters& before,
                           const net::PacketCounters& after) {
  std::string what = error == "timed out" ? "no response within the timeout" : error;
  const std::size_t refused = after.total() - before.total();
  if (refused == 0) return what;
  what += "; " + std::to_string(refused) + " message" + (refused == 1 ? "" : "s") +
          " from the server refused";
  if (after.notes.size() > before.notes.size()) what += " (first: " + after.notes[before.notes.size()] + ")";
  return what;
}

BindingAttempt stream_attempt(const BindingOptions& options, const TransportAddress& server,
                              net::PacketCounters& ignored) {
  BindingAttempt attempt;
  const auto start = stun::Clock::now();
  const auto deadline = start + options.timeout;
  net::TlsOptions tls;
  tls.enabled = options.transport == Transport::kTls;
  tls.verify = options.tls_verify;
  tls.ca_file = options.ca_file;
  if (!TransportAddress::parse(options.host)) tls.server_name = options.host;
  std::optional<net::StreamConnection> conn;
  try {
    conn.emplace(net::StreamConnection::connect(server, options.local, tls, deadline, options.cancel));
  } catch (const net::BindError&) {
    throw;  // this host cannot use --local: exit 3, not a failed binding
  } catch (const net::SocketError& e) {
    if (e.error_number() == EADDRINUSE || e.error_number() == EADDRNOTAVAIL) throw;
    attempt.failure = Failure::kOther;  // a TCP reset may come from a firewall too
    attempt.error = e.error_number() == ECONNREFUSED
                        ? "connection refused: nothing listens on " + server.to_string()
                        : e.what();
    return attempt;
  } catch (const std::runtime_error& e) {
    attempt.error = e.what();
    return attempt;
  }
  attempt.local = conn->local_address();
  const auto id = net::random_transaction_id();
  const auto request = make_binding_request(id);
  const auto sent_at = stun::Clock::now();
  std::string error;
  attempt.transmissions = 1;
  if (!conn->send_all(request, deadline, error)) {
    attempt.error = "send: " + error;
    return attempt;
  }
  // The same screen as UDP (net::screen_response): a request echoed back, an indication, a
  // wrong FINGERPRINT or a wrong transaction ID is counted and never taken for the answer.
  const net::PacketCounters before = ignored;
  for (int i = 0; i < 16; ++i) {
    auto response = conn->receive_message(deadline, error);
    if (!response) {
      attempt.error = stream_failure(error, before, ignored);
      return attempt;
    }
    const auto view = net::screen_response(*response, server, ignored);
    if (!view) continue;
    if (view->transaction_id() != id) {
      ++ignored.unmatched;
      ignored.note("response from " + server.to_string() + " with an unknown transaction ID");
      continue;
    }
    attempt.rtt = std::chrono::duration_cast<Duration>(stun::Clock::now() - sent_at);
    fill_from_response(attempt, *response);
    return attempt;
  }
  attempt.error = stream_failure("no response with our transaction ID in 16 messages", before, ignored);
  return attempt;
}

}  // namespace

BindingReport run_binding_test(const BindingOptions& options) {
  BindingReport report;
  report.host = options.host;
  report.transport = options.transport;
  const auto resolved = net::resolve(options.host, options.port, options.family,
                                     stun::Clock::now() + options.timeout);
  if (resolved.addresses.empty()) {
    report.error = resolved.error;
    return report;
  }
  TransportAddress server = resolved.addresses.front();
  if (options.local) {
    // A local address decides the family: use the first server address that matches it.
    for (const auto& a : resolved.addresses) {
      if (a.family == options.local->family) {
        server = a;
        break;
      }
    }
    if (server.family != options.local->family) {
      report.error = "local address " + options.local->ip_string() + " and server " +
                     options.host + " have no address family in common";
      return report;
    }
  }
  report.server = server;
  for (int i = 0; i < options.count; ++i) {
    if (i > 0) std::this_thread::sleep_for(options.interval);
    report.attempts.push_back(options.transport == Transport::kUdp
                                  ? udp_attempt(options, server, report.ignored)
                                  : stream_attempt(options, server, report.ignored));
  }
  return report;
}

}  // namespace natdiag::client
