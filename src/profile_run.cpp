#include "src/profile_run.hpp"

#include <algorithm>
#include <cerrno>
#include <future>

#include "src/cli_common.hpp"
#include "src/ports/control.hpp"
#include "src/profile/profile_facts.hpp"
#include "stun/client/turn.hpp"
#include "stun/net/endpoint.hpp"
#include "stun/net/interfaces.hpp"

namespace natdiag::cli {
namespace {

using stun::Duration;
using stun::rfc5780::behaviour_name;

client::BindingOptions binding_options(const client::ServerTarget& server,
                                       client::Transport transport, net::FamilyPreference family,
                                       Duration timeout) {
  client::BindingOptions b;
  b.host = server.host;
  b.port = server.port;
  b.transport = transport;
  b.family = family;
  b.timeout = timeout;
  b.policy.initial_rto = std::chrono::milliseconds(200);
  return b;
}

/// `--via`: natdiag ports --via for the ports of --for, IPv4 and IPv6 where both exist.
void measure_ports(const ProfileCommand& cmd, Measured& m) {
  using namespace std::chrono_literals;
  ports::ViaOptions v;
  v.servers = ports::server_needs(cmd.targets);
  for (const auto& need : v.servers) {
    v.tcp.add(need.tcp);
    v.udp.add(need.udp);
  }
  v.timeout = std::max<std::chrono::microseconds>(cmd.timeout, 5s);
  v.secret = cmd.probe_secret;
  try {
    const auto ends =
        ports::far_end_addresses(cmd.via, net::FamilyPreference::kAny, stun::Clock::now() + 3s,
                                 net::global_ipv6_address().has_value(),
                                 "give --via twice: the far end's IPv4 and IPv6 addresses");
    if (ends.addresses.empty()) {
      m.ports_error = "--via " + ends.error;
      return;
    }
    auto result = ports::run_via_families(v, ends.addresses);
    result.untested.insert(result.untested.begin(), ends.untested.begin(), ends.untested.end());
    if (auto failure = ports::settle(result)) {
      m.ports_error = *failure;
    } else {
      m.ports = std::move(result);
    }
  } catch (const std::exception& e) {  // cannot listen here: descriptors, bind
    m.ports_error = std::string("cannot listen on the ports here: ") + e.what();
  }
}

/// The kind of a --via failure (ProfileFacts::ports_error), from natdiag ports' messages; the
/// message itself goes to the Ports row only.
std::string ports_error_kind(const std::string& message) {
  if (message.find("cannot listen") != std::string::npos) return "cannot-listen";
  if (message.find("refused the request") != std::string::npos) return "refused";
  if (message.find("does not resolve") != std::string::npos) return "unresolved";
  if (message.find("cannot reach") != std::string::npos ||
      message.find("did not greet") != std::string::npos) {
    return "unreachable";
  }
  return "failed";
}

}  // namespace

Measured measure(const ProfileCommand& cmd) {
  Measured m;
  const auto start = stun::Clock::now();
  const auto& first = cmd.servers.front();
  // Phase one, all at once: bindings (UDP, TCP, IPv6), NAT discovery, ICE gathering. One plan:
  // the UDP and TCP bindings to the first server run once and are shared with nat's TCP check
  // and ice's diagnostic probes, which would ask the same server the same question.
  client::SharedBindings shared;
  auto udp = shared.get(binding_options(first, client::Transport::kUdp,
                                        net::FamilyPreference::kIPv4Only, cmd.timeout));
  auto tcp = shared.get(binding_options(first, client::Transport::kTcp,
                                        net::FamilyPreference::kIPv4Only, cmd.timeout));
  std::optional<client::ServerTarget> v6_server;
  for (const auto& s : cmd.servers) {
    auto parsed = stun::TransportAddress::parse(s.host);
    if (parsed && parsed->family == stun::Family::kIPv6) v6_server = s;
  }
  std::future<client::BindingReport> udp6;
  if (v6_server) {
    udp6 = std::async(std::launch::async, [&] {
      return client::run_binding_test(binding_options(
          *v6_server, client::Transport::kUdp, net::FamilyPreference::kIPv6Only, cmd.timeout));
    });
  }
  auto nat = std::async(std::launch::async, [&] {
    client::NatOptions n;
    for (const auto& s : cmd.servers) {
      auto parsed = stun::TransportAddress::parse(s.host);
      if (!parsed || parsed->family == stun::Family::kIPv4) n.servers.push_back(s);
    }
    n.family = net::FamilyPreference::kIPv4Only;
    n.timeout = cmd.timeout;
    n.shared = &shared;
    return client::run_nat_discovery(n);
  });
  auto turn_run = std::async(std::launch::async, [&]() -> std::optional<client::TurnCheckReport> {
    if (!cmd.turn) return std::nullopt;
    client::TurnCheckOptions t;
    t.host = cmd.turn->host;
    t.port = cmd.turn->port;
    t.transport = cmd.turn->transport;
    t.credentials = cmd.turn->credentials;
    t.count = 5;
    t.timeout = cmd.timeout;
    return client::check_turn(t);
  });
  auto ice_run = std::async(std::launch::async, [&]() -> std::optional<ice::IceReport> {
    ice::IceOptions o;
    ice::IceServer stun_server;
    stun_server.uri = "stun:" + first.host + ":" + std::to_string(first.port);
    stun_server.host = first.host;
    stun_server.port = first.port;
    o.stun.push_back(stun_server);
    if (cmd.turn) o.turn.push_back(*cmd.turn);
    o.family = net::FamilyPreference::kAny;
    o.timeout = cmd.timeout;
    o.shared = &shared;
    try {
      return ice::run_ice(o);
    } catch (const std::exception& e) {
      m.ice_error = e.what();
      return std::nullopt;
    }
  });
  m.udp = udp.get();
  // Phase two, as soon as the public address is known: hairpin, within what is left.
  // A private mapped address means a STUN server inside the NAT: nothing to hairpin against.
  const auto public_mapped =
      [](const client::BindingReport& r) -> std::optional<stun::TransportAddress> {
    const auto* ok = r.last_success();
    if (!ok || !ok->facts.mapped || net::is_private_or_local(*ok->facts.mapped))
      return std::nullopt;
    return ok->facts.mapped;
  };
  std::optional<stun::TransportAddress> external = cmd.external_ip;
  if (!external) external = public_mapped(m.udp);
  m.tcp = tcp.get();
  if (!external) external = public_mapped(m.tcp);
  // The public address and RTT the bindings measured: hairpin reuses them instead of asking
  // the server again (no mapping check of its own, no fixed wait for silence).
  const client::BindingAttempt* bound =
      m.udp.last_success() ? m.udp.last_success() : m.tcp.last_success();
  if (external) {
    hairpin::HairpinOptions h;
    h.external_ip = *external;
    h.external_ip.port = 0;
    h.hostname = cmd.hostname;
    // UDP hairpin on the ports the router forwards for the --for servers (their media ranges),
    // not a fixed 50000-60000 that e.g. BigBlueButton (16384-32768) does not forward.
    if (cmd.targets.size() < std::size(kMediaServers)) {
      for (const auto& r : udp_media_ranges(cmd.targets)) h.udp_sample_ranges.emplace_back(r.first, r.last);
    }
    if (bound && bound->facts.mapped && bound->facts.mapped->family == h.external_ip.family) {
      h.measured_public = bound->facts.mapped;
    }
    if (m.udp.last_success()) h.rtt_hint = m.udp.last_success()->rtt;
    const auto left =
        std::chrono::duration_cast<Duration>(start + cmd.timeout - stun::Clock::now());
    h.timeout = std::clamp<Duration>(left, std::chrono::milliseconds(200), std::chrono::seconds(1));
    try {
      m.hairpin = hairpin::run_hairpin(h);
    } catch (const std::exception& e) {
      m.hairpin_error = e.what();
    }
  } else {
    const auto* ok = m.udp.last_success() ? m.udp.last_success() : m.tcp.last_success();
    m.hairpin_error = ok && ok->facts.mapped
                          ? "no public address known (the STUN server saw the private address " +
                                ok->facts.mapped->ip_string() + "; give --external-ip)"
                          : "no public address known (no STUN answer; give --external-ip)";
  }
  if (udp6.valid()) m.udp6 = udp6.get();
  m.nat = nat.get();
  m.ice = ice_run.get();
  m.turn_check = turn_run.get();
  // Phase three, alone: the port check listens on every media port (hairpin, which binds
  // some of them, is done by now).
  if (!cmd.via.empty()) measure_ports(cmd, m);
  m.elapsed = std::chrono::duration_cast<Duration>(stun::Clock::now() - start);
  return m;
}

ProfileFacts facts_of(const ProfileCommand& cmd, const Measured& m) {
  ProfileFacts f;
  const auto* udp_ok = m.udp.last_success();
  const auto* tcp_ok = m.tcp.last_success();
  f.udp = udp_ok != nullptr;
  if (!udp_ok && !m.udp.attempts.empty() && m.udp.attempts.back().failure != client::Failure::kNone)
    f.udp_error = std::string(client::failure_name(m.udp.attempts.back().failure));
  // Hosts rate-limit ICMP errors (Linux: about one a second per destination): when nat's tests,
  // sent at once to the same server, got the refusal and the binding only silence, the refusal
  // and its sender are what was measured.
  if (f.udp_error == "timeout" && m.nat.port_unreachable && m.nat.icmp_from && m.udp.server)
    f.udp_error = m.nat.icmp_from->same_ip(*m.udp.server) ? "refused-by-server" : "refused-on-path";
  f.tcp = tcp_ok != nullptr;
  f.default_servers = cmd.default_servers;
  if (!udp_ok && !tcp_ok) {
    const std::string why = !m.udp.error.empty()      ? m.udp.error
                            : !m.udp.attempts.empty() ? m.udp.attempts.back().error
                                                      : "";
    if (!why.empty()) f.stun_error = why;
  }
  const client::BindingAttempt* any = udp_ok ? udp_ok : tcp_ok;
  if (any && any->local) f.local_ipv4 = any->local->ip_string();
  if (any && any->facts.mapped) {
    const auto& mapped = *any->facts.mapped;
    if (net::is_private_or_local(mapped)) {
      // The server is on this side of the NAT: what the Internet sees is not known.
      f.mapped_private = mapped.ip_string();
    } else {
      f.public_ipv4 = mapped.ip_string();
      // Against the socket's own source address, not every interface: the public address on
      // lo or a dummy NIC (natdiag's own hairpin advice) does not make this host un-NATed.
      if (any->local) f.behind_nat = !any->local->same_ip(mapped);
    }
  }
  if (const auto v6 = net::global_ipv6_address()) f.host_ipv6 = v6->ip_string();
  if (m.udp6) {
    const auto* ok6 = m.udp6->last_success();
    f.ipv6_udp = ok6 != nullptr;
    if (ok6 && ok6->facts.mapped && !net::is_private_or_local(*ok6->facts.mapped)) {
      f.public_ipv6 = ok6->facts.mapped->ip_string();
      f.ipv6_behind_nat =
          ok6->local ? std::optional<bool>(!ok6->local->same_ip(*ok6->facts.mapped)) : std::nullopt;
    }
  }
  // A global IPv6 address on an interface is public and routed unless a test shows otherwise.
  if (!f.public_ipv6 && f.ipv6_udp != false) f.public_ipv6 = f.host_ipv6;
  f.mapping = behaviour_name(m.nat.mapping);
  for (const auto b : m.nat.mapping_candidates)
    f.mapping_candidates.emplace_back(behaviour_name(b));
  if (m.nat.mapping == stun::rfc5780::Behaviour::kUnknown) {
    const auto why = stun::rfc5780::unknown_why_name(m.nat.mapping_unknown);
    f.mapping_unknown = why.empty() ? "no-answer" : std::string(why);
  }
  f.filtering = behaviour_name(m.nat.filtering);
  if (m.udp.server) f.stun_server_ip = m.udp.server->ip_string();
  f.stun_server_port = cmd.servers.front().port;
  f.hostname = cmd.hostname;
  if (cmd.external_ip) f.hairpin_target = cmd.external_ip->ip_string();
  if (m.hairpin) {
    const auto& h = *m.hairpin;
    const std::string v(hairpin::verdict_name(h.verdict));
    f.hairpin =
        v == "not-needed" ? std::optional<std::string>("supported") : std::optional<std::string>(v);
    f.dummy_nic_present = h.local.on_interface.has_value();
    for (const auto& c : h.checks) {
      if (c.decides_verdict && c.setup_failed && c.setup_error == EACCES) {
        f.hairpin_untested.push_back(
            std::string(c.protocol == hairpin::Protocol::kTcp ? "TCP " : "UDP ") +
            std::to_string(c.port));
      }
    }
    // To persist it: the detected stack's way, or, when none was found, the BigBlueButton
    // guide's ifupdown lines (as natdiag hairpin suggests too). advise --from makes the same
    // commands from the same two facts.
    f.external_ip = h.external_ip.ip_string();
    f.network_stack = std::string(hairpin::stack_name(h.stack.stack));
    f.dummy_nic_commands = dummy_nic_commands_for(h.external_ip, h.stack.stack);
    if (h.hostname) {
      // Against the measured public address, not a --external-ip that may differ from it.
      const auto& resolved = h.hostname->resolves_to;
      const auto first_v4 = std::find_if(
          resolved.begin(), resolved.end(),
          [](const stun::TransportAddress& a) { return a.family == stun::Family::kIPv4; });
      f.hostname_resolves_to_public =
          f.public_ipv4 && first_v4 != resolved.end() && first_v4->ip_string() == *f.public_ipv4;
      if (h.hostname->first_entry) {
        f.etc_hosts_line = h.hostname->first_entry->line;
        f.etc_hosts_ip = h.hostname->first_entry->ip.ip_string();
      }
    }
  }
  if (m.ice && !m.ice->stun.empty() && m.ice->stun.front().probed &&
      m.ice->stun.front().udp_mapped) {
    // libnice 0.1.21's own srflx came from an RFC 3489 request: that counts as answered too.
    f.stun_rfc3489 = !ice::refuses_classic_stun(m.ice->stun.front());
  }
  if (cmd.turn) {
    f.turn_configured = true;
    if (m.ice) {
      bool relay = false;
      for (const auto& c : m.ice->gather.candidates) {
        if (c.type == ice::CandidateType::kRelayed) {
          relay = true;
          if (!f.relay_address) f.relay_address = c.address.ip_string();
        }
      }
      f.turn_relay = relay;
      if (!relay && !m.ice->turn.empty())
        f.turn_problem = std::string(client::turn_verdict_name(m.ice->turn.front().verdict()));
    }
  }
  if (!m.ports_error.empty()) f.ports_error = ports_error_kind(m.ports_error);
  if (m.ports) {
    for (const auto& run : m.ports->runs) {
      if (!run.report) continue;
      const std::string family = run.family == stun::Family::kIPv4 ? "ipv4" : "ipv6";
      for (const auto& [protocol, p] :
           {std::pair{"tcp", &run.report->tcp}, std::pair{"udp", &run.report->udp}}) {
        for (const auto& r : p->ranges) {
          f.ports_measured.push_back({family, protocol, r.range.first, r.range.last,
                                      std::string(ports::state_name(r.state))});
        }
      }
    }
  }
  return f;
}

}  // namespace natdiag::cli
