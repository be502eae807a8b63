#include "src/ports/via.hpp"

#include <cmath>

#include "hairpin/tcp_probe.hpp"
#include "src/ports/channel.hpp"
#include "src/ports/listener.hpp"
#include "src/ports/owners.hpp"
#include "src/ports/prober.hpp"
#include "src/ports/session.hpp"

namespace natdiag::ports {
namespace {

using namespace std::chrono_literals;

/// After serve says a round went out, stragglers get this long (at least) to arrive.
constexpr auto kMinSettle = 40ms;
/// After the budget, serve gets this long to send its last messages.
constexpr auto kGrace = 3s;

/// What serve reported about the TCP ports.
struct ServeTcp {
  TcpResult::Kind kind = TcpResult::Kind::kTimeout;
  std::string detail;
  hairpin::PathSample sample;  ///< for compare ports
};

std::string describe_connect_failure(const std::string& host, std::uint16_t port,
                                     const net::SocketError& e) {
  std::string why = e.error_number() == ECONNREFUSED
                        ? "connection refused: nothing listens there (is natdiag serve running "
                          "with --probe-back?)"
                    : e.error_number() == ETIMEDOUT
                        ? "no answer (timed out): a firewall drops it, or the host is down"
                        : std::string(std::strerror(e.error_number()));
  return "cannot reach natdiag serve --probe-back at " + host + " port " + std::to_string(port) +
         ": " + why;
}

/// Serve's list of ports with ICMP errors or other answers:
/// [{"ports":"...","from":IP,"detail":...}].
void read_udp_list(const nlohmann::json& list, std::map<std::uint16_t, UdpReply>& out) {
  if (!list.is_array()) return;
  for (const auto& item : list) {
    if (!item.is_object() || !item.contains("ports") || !item["ports"].is_string()) continue;
    PortSet ports;
    try {
      ports = parse_port_set(item["ports"].get<std::string>(), "ports");
    } catch (const SpecError&) {
      continue;
    }
    UdpReply reply;
    reply.from = TransportAddress::parse(item.value("from", "")).value_or(TransportAddress{});
    reply.detail = item.value("detail", "");
    const auto type = item.find("icmp_type");
    const auto code = item.find("icmp_code");
    if (type != item.end() && code != item.end() && type->is_number_unsigned() &&
        code->is_number_unsigned() && *type <= 255 && *code <= 255) {
      reply.icmp = IcmpError{type->get<std::uint8_t>(), code->get<std::uint8_t>(),
                             item.value("icmp_v6", false)};
    }
    for (auto p : ports.ports()) out.try_emplace(p, reply);
  }
}

void read_tcp_results(const nlohmann::json& list, std::map<std::uint16_t, ServeTcp>& out) {
  if (!list.is_array()) return;
  for (const auto& item : list) {
    if (!item.is_object() || !item.contains("port") || !item["port"].is_number_unsigned()) continue;
    const auto port = item["port"].get<unsigned>();
    if (port == 0 || port > 65535) continue;
    ServeTcp t;
    t.kind = tcp_kind_from_name(item.value("result", ""));
    t.detail = item.value("detail", "");
    t.sample.connected = item.value("connected", false);
    t.sample.connect_error = item.value("connect_error", 0);
    t.sample.error = item.value("error", "");
    t.sample.tls = item.value("tls", false);
    t.sample.certificate_sha256 = item.value("tls_sha256", "");
    t.sample.response = bytes_from_hex(item.value("first_bytes", "")).value_or("");
    out[static_cast<std::uint16_t>(port)] = std::move(t);
  }
}

/// Why a refusal on the public path is not "closed": `who` (natdiag, or the program holding
/// the port) listens on it here, so the refusal came from elsewhere.
std::string refused_while_listening(const std::string& who) {
  return ", though " + who +
         " listens on this port here: a firewall on the way or on this host rejects it, or the "
         "router does not forward it here";
}

/// A held TCP port: compare what the public path answered (serve's sample) with what the
/// local service answers here, as `hairpin` does.
PortOutcome compare_held(std::uint16_t port, const ServeTcp* remote,
                         const TransportAddress& local_ip, const TransportAddress& public_ip,
                         const std::string& owner) {
  PortOutcome o{port, State::kInUse, "held here; serve did not report the public path", owner};
  if (remote == nullptr) return o;
  TransportAddress here = local_ip;
  here.port = port;
  const auto deadline = stun::Clock::now() + 2s;
  hairpin::LocalPath local;
  local.sample = remote->sample.tls || hairpin::is_tls_port(port)
                     ? hairpin::sample_tls(here, "", deadline)
                     : hairpin::sample_plain(here, deadline);
  if (remote->sample.tls && !local.sample.tls)
    local.sample = hairpin::sample_tls(here, "", deadline);
  const auto check = hairpin::decide_by_comparison(port, public_ip, local, remote->sample);
  o.evidence = check.detail;
  switch (check.result) {
    case hairpin::Result::kSupported: o.state = State::kOpen; break;
    case hairpin::Result::kNotSupported:
      // Refused on the public path while a program listens here: not "closed" (nothing
      // listening) but a firewall, or a router that does not forward the port here.
      o.state = remote->sample.connected ? State::kAnsweredByOther : State::kFiltered;
      if (!remote->sample.connected && remote->sample.connect_error == ECONNREFUSED) {
        o.evidence += refused_while_listening(owner.empty() ? "a program" : owner);
      }
      break;
    default: o.state = State::kInUse; break;
  }
  return o;
}

}  // namespace

ServeUdp read_serve_udp(const nlohmann::json& done) {
  ServeUdp out;
  if (!done.is_object()) return out;
  if (done.contains("udp_icmp")) read_udp_list(done["udp_icmp"], out.icmp);
  if (done.contains("udp_other")) read_udp_list(done["udp_other"], out.other);
  if (done.contains("udp_untested")) read_udp_list(done["udp_untested"], out.untested);
  return out;
}

std::vector<PortOutcome> via_udp_outcomes(std::vector<PortOutcome> listener, const ServeUdp& serve,
                                          const TransportAddress& public_ip,
                                          const std::string& silence) {
  for (auto& u : listener) {
    if (u.state != State::kFiltered) continue;
    u.evidence = silence;
    if (const auto n = serve.untested.find(u.port); n != serve.untested.end()) {
      u.state = State::kUntested;
      u.evidence = "natdiag serve could not send the probe: " + n->second.detail;
    } else if (const auto i = serve.icmp.find(u.port); i != serve.icmp.end()) {
      u = icmp_outcome(u.port, i->second, public_ip);
      if (u.state == State::kClosed) {
        // "Nothing listens there" is known false: natdiag's listener holds the port here.
        u.state = State::kFiltered;
        u.evidence += refused_while_listening("natdiag");
      }
    } else if (const auto x = serve.other.find(u.port); x != serve.other.end()) {
      u.state = State::kAnsweredByOther;
      u.evidence = "something else answered serve's probe (" + x->second.detail + ")";
    }
  }
  return listener;
}

PortOutcome via_tcp_outcome(std::uint16_t port, bool arrived, const TcpResult* remote,
                            const TransportAddress& server) {
  PortOutcome out{port, State::kFiltered, "no answer to serve's connection attempt", ""};
  if (arrived) {
    out.state = State::kOpen;
    out.evidence = "natdiag's probe arrived from " + server.ip_string();
  } else if (remote != nullptr) {
    switch (remote->kind) {
      case TcpResult::Kind::kEcho:
      case TcpResult::Kind::kConnected:
        out.state = State::kAnsweredByOther;
        out.evidence =
            "serve's connection opened, but natdiag's listener here never got it: another "
            "machine answered";
        break;
      case TcpResult::Kind::kRefused:
        out.state = State::kFiltered;  // natdiag's listener holds the port: not "closed"
        out.evidence =
            (remote->detail.starts_with("ICMP") ? remote->detail : "connection refused (TCP RST)") +
            refused_while_listening("natdiag");
        break;
      case TcpResult::Kind::kUnreachable:
        // An ICMP error from the path (or an older serve's any-error): not the port's answer.
        out.state = State::kFiltered;
        out.evidence = "serve's connection attempt got " + remote->detail;
        break;
      case TcpResult::Kind::kNotSent:
        out.state = State::kUntested;
        out.evidence = "natdiag serve could not try the connection: " + remote->detail;
        break;
      case TcpResult::Kind::kTimeout: break;
    }
  }
  return out;
}

ViaResult run_via(const ViaOptions& o) {
  ViaResult result;
  auto& r = result.report;
  r.mode = "via";
  r.servers = o.servers;
  r.tcp.tested = o.tcp;
  r.udp.tested = o.udp;
  const auto start = stun::Clock::now();
  const auto setup_deadline = start + std::min<std::chrono::microseconds>(o.timeout, 3s);
  const auto resolution = net::resolve(o.host, o.port, o.family, setup_deadline);
  if (resolution.addresses.empty()) {
    result.error = "--via " + o.host + " does not resolve: " + resolution.error;
    return result;
  }
  const auto server = resolution.addresses.front();
  r.far_end = server.to_string();

  const Key key = random_key();
  Listener listener(o.tcp, o.udp, key, /*echo_udp=*/false);
  std::optional<LineChannel> channel;
  const auto connecting_at = stun::Clock::now();
  try {
    channel.emplace(LineChannel::connect(server, setup_deadline));
  } catch (const net::SocketError& e) {
    result.error = describe_connect_failure(o.host, o.port, e);
    const int n = e.error_number();
    result.no_route = n == ENETUNREACH || n == EADDRNOTAVAIL || n == EAFNOSUPPORT;
    return result;
  }
  const auto connected_at = stun::Clock::now();
  const auto hello = channel->receive(setup_deadline);
  if (!hello || hello->value("type", "") != "hello") {
    result.error = "natdiag serve at " + server.to_string() +
                   " did not greet as a probe-back service (" +
                   (hello ? "unexpected message" : channel->error()) + ")";
    return result;
  }
  const auto rtt = connected_at - connecting_at;
  const auto settle = std::max<stun::Clock::duration>(kMinSettle, 4 * rtt);
  const std::string challenge = hello->value("challenge", "");
  r.public_ip = hello->value("your_address", "");
  const auto local = channel->local_address();
  r.local_ip = local.ip_string();
  const auto public_ip = TransportAddress::parse(*r.public_ip).value_or(local);

  ProbeRequest request;
  request.key = key;
  request.session = random_session();
  request.tcp = listener.listening_tcp();
  request.udp = listener.listening_udp();
  request.compare_tcp = listener.held_tcp();
  request.seconds =
      std::clamp(static_cast<int>(std::ceil(std::chrono::duration<double>(o.timeout).count())), 1,
                 kMaxRequestSeconds);
  const auto end = start + o.timeout;
  if (!channel->send(make_request(request, challenge, o.secret), end)) {
    result.error = "natdiag serve at " + server.to_string() + " closed the control connection";
    return result;
  }
  std::map<std::uint16_t, ServeTcp> serve_tcp;
  ServeUdp serve_udp;
  bool done = false;
  std::optional<stun::TimePoint> round_sent;
  RoundPolicy policy;
  std::size_t missing_before = listener.udp_missing().size();
  while (!done) {
    const auto now = stun::Clock::now();
    if (now >= end + kGrace) {
      r.notes.push_back(
          "natdiag serve did not finish within the time budget; the results are what arrived");
      break;
    }
    listener.poll_until(now + 2ms);
    if (round_sent && stun::Clock::now() >= *round_sent + settle) {
      auto missing = listener.udp_missing();
      policy.record(missing_before, missing_before - missing.size());
      missing_before = missing.size();
      if (stun::Clock::now() >= end || !policy.keep_going()) missing = PortSet{};
      channel->send({{"type", "missing"}, {"udp", missing.to_string()}}, end + kGrace);
      round_sent.reset();
    }
    auto message = channel->receive(stun::Clock::now() + 1ms);
    if (!message) {
      if (channel->error() == "timed out") continue;
      result.error = "natdiag serve at " + server.to_string() + " ended the control connection (" +
                     channel->error() + ")";
      return result;
    }
    const auto type = message->value("type", "");
    if (type == "refused") {
      result.error = "natdiag serve at " + server.to_string() +
                     " refused the request: " + message->value("reason", "no reason given");
      return result;
    }
    if (type == "tcp") read_tcp_results((*message)["results"], serve_tcp);
    if (type == "round") {
      r.rounds = message->value("number", r.rounds);
      round_sent = stun::Clock::now();
      if (listener.udp_missing().empty()) round_sent = stun::Clock::now() - settle;
    }
    if (type == "done") {
      serve_udp = read_serve_udp(*message);
      r.rounds = message->value("rounds", r.rounds);
      r.probes_sent = message->value("sent", std::uint64_t{0});
      done = true;
    }
  }
  listener.poll_until(stun::Clock::now() + 5ms);

  // UDP: arrivals here decide; serve's ICMP errors and stray answers explain the rest.
  const auto udp_owners = port_owners(Transport::kUdp, listener.held_udp());
  auto udp = via_udp_outcomes(
      listener_outcomes(o.udp, listener.udp_arrivals(), udp_owners, listener.held_udp()), serve_udp,
      public_ip,
      "no probe arrived in " + std::to_string(r.rounds) + " round" + (r.rounds == 1 ? "" : "s"));
  for (auto& u : udp) {
    if (u.state == State::kOpen) u.evidence = "natdiag's probe arrived from " + server.ip_string();
  }
  r.udp.ranges = collapse(std::move(udp));

  // TCP: arrivals decide for the ports natdiag listens on; held ports are compared.
  const auto tcp_owners = port_owners(Transport::kTcp, listener.held_tcp());
  std::vector<PortOutcome> tcp;
  for (auto port : o.tcp.ports()) {
    const auto s = serve_tcp.find(port);
    const ServeTcp* remote = s == serve_tcp.end() ? nullptr : &s->second;
    if (listener.held_tcp().contains(port)) {
      const auto owner = tcp_owners.contains(port) ? tcp_owners.at(port) : "unknown process";
      tcp.push_back(compare_held(port, remote, local, public_ip, owner));
      continue;
    }
    TcpResult serve_result;
    if (remote != nullptr) serve_result = {remote->kind, remote->detail};
    auto out = via_tcp_outcome(port, listener.tcp_arrivals().contains(port),
                               remote == nullptr ? nullptr : &serve_result, server);
    tcp.push_back(std::move(out));
  }
  r.tcp.ranges = collapse(std::move(tcp));
  r.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(stun::Clock::now() - start);
  const auto& c = listener.counters();
  if (c.unauthenticated + c.misdirected > 0) {
    r.notes.push_back(std::to_string(c.unauthenticated) + " packets without natdiag's tag and " +
                      std::to_string(c.misdirected) +
                      " aimed at another port arrived and were ignored");
  }
  return result;
}

}  // namespace natdiag::ports
