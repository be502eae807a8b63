#include "hairpin/advice.hpp"

#include <algorithm>
#include <cerrno>

#include "stun/net/endpoint.hpp"

namespace natdiag::hairpin {
namespace {

/// A new file sorts after the distribution's own (netplan and networkd merge in name order).
constexpr std::string_view kNetplanFile = "/etc/netplan/99-dummy-nic.yaml";
constexpr std::string_view kNetworkdFile = "/etc/systemd/network/99-dummy-nic-lo.network";

bool decides(const CheckResult& c) {
  return c.decides_verdict && (c.result == Result::kSupported || c.result == Result::kNotSupported);
}

std::string port_label(const CheckResult& c) {
  return (c.protocol == Protocol::kTcp ? "TCP " : "UDP ") + std::to_string(c.port);
}

std::string join_labels(const std::vector<CheckResult>& checks, Result wanted) {
  std::string out;
  for (const auto& c : checks) {
    if (!c.decides_verdict || c.result != wanted) continue;
    out += (out.empty() ? "" : ", ") + port_label(c);
  }
  return out;
}

PersistPlan ifupdown_plan(const std::string& prefix) {
  return {
      NetworkStack::kIfupdown,
      "/etc/network/interfaces",
      "under the lo stanza (\"iface lo inet loopback\"; add \"auto lo\" and that line first if the "
      "file has none)",
      {"post-up ip addr add " + prefix + " dev lo", "pre-down ip addr del " + prefix + " dev lo"},
      {}};
}

/// The persistence advice for a plan, as sentences with their lines.
void add_persist_advice(std::vector<Advice>& out, const TransportAddress& ip,
                        const std::optional<PersistPlan>& persist, const std::string& lead) {
  if (!persist) {
    const auto fallback = ifupdown_plan(host_prefix(ip));
    out.push_back({lead +
                       " with whatever configures this host's network at boot: natdiag found no "
                       "ifupdown, netplan, "
                       "systemd-networkd or NetworkManager configuration. With ifupdown (the "
                       "BigBlueButton guide's way), "
                       "add to /etc/network/interfaces " +
                       fallback.where + ":",
                   fallback.lines});
    return;
  }
  const std::string name(stack_name(persist->stack));
  if (persist->file.empty()) {
    out.push_back({lead + " (" + name + "): " + persist->where + ":", persist->commands});
    return;
  }
  out.push_back({lead + " (" + name + "): in " + persist->file + ", " + persist->where + ":",
                 persist->lines});
  if (!persist->commands.empty()) out.push_back({"Then apply it:", persist->commands});
}

std::string addresses_text(const std::vector<TransportAddress>& addresses) {
  std::string out;
  for (const auto& a : addresses) out += (out.empty() ? "" : ", ") + a.ip_string();
  return out;
}

}  // namespace

std::string_view verdict_name(Verdict verdict) noexcept {
  switch (verdict) {
    case Verdict::kSupported: return "supported";
    case Verdict::kPartial: return "partial";
    case Verdict::kNotSupported: return "not-supported";
    case Verdict::kInconclusive: return "inconclusive";
    case Verdict::kNotNeeded: return "not-needed";
  }
  return "inconclusive";
}

void not_known_forwarded(CheckResult& check) {
  if (check.protocol != Protocol::kUdp || check.result != Result::kNotSupported) return;
  check.result = Result::kInconclusive;
  check.detail += " (not forwarded? natdiag picked this port from the media range; name forwarded ports with --udp)";
  check.why += " natdiag picked UDP " + std::to_string(check.port) +
               " itself, and nothing says the router forwards it to this host: without a forward the datagram "
               "cannot come back whether the router hairpins or not, so this check does not decide.";
}

Verdict overall_verdict(const std::vector<CheckResult>& checks, const LocalAddressFacts& local) {
  if (local.on_interface) return Verdict::kNotNeeded;
  int supported = 0;
  int not_supported = 0;
  for (const auto& c : checks) {
    if (!decides(c)) continue;
    (c.result == Result::kSupported ? supported : not_supported)++;
  }
  if (supported + not_supported == 0) return Verdict::kInconclusive;
  if (not_supported == 0) return Verdict::kSupported;
  return supported == 0 ? Verdict::kNotSupported : Verdict::kPartial;
}

std::optional<bool> dummy_nic_needed(Verdict verdict, const LocalAddressFacts& local) {
  if (local.on_interface) return false;
  switch (verdict) {
    case Verdict::kNotSupported:
    case Verdict::kPartial: return true;
    case Verdict::kInconclusive: return std::nullopt;
    default: return false;
  }
}

Health assess(const std::vector<CheckResult>& checks, Verdict verdict,
              const LocalAddressFacts& local) {
  bool any_setup_failed = false;
  bool any_ran = false;
  bool any_failed = false;
  for (const auto& c : checks) {
    if (!c.decides_verdict) continue;
    any_setup_failed = any_setup_failed || c.setup_failed;
    any_ran = any_ran || (!c.setup_failed && c.result != Result::kSkipped);
    any_failed = any_failed || c.result == Result::kNotSupported;
  }
  if (any_setup_failed && !any_ran) return Health::kCannotRun;
  if (local.on_interface) return any_failed ? Health::kProblem : Health::kHealthy;
  return verdict == Verdict::kSupported ? Health::kHealthy : Health::kProblem;
}

std::string host_prefix(const TransportAddress& ip) {
  return ip.ip_string() + (ip.family == stun::Family::kIPv4 ? "/32" : "/128");
}

DummyNicPlan dummy_nic_plan(const TransportAddress& ip, NetworkStack stack) {
  const std::string prefix = host_prefix(ip);
  DummyNicPlan plan;
  plan.commands = {"ip addr add " + prefix + " dev lo"};
  switch (stack) {
    case NetworkStack::kIfupdown: plan.persist = ifupdown_plan(prefix); break;
    case NetworkStack::kNetplan:
      // The netplan documentation's loopback example: lo matched by name, extra addresses.
      plan.persist = PersistPlan{stack,
                                 std::string(kNetplanFile),
                                 "a new file",
                                 {"network:", "  version: 2",
                                  "  ethernets:", "    lo:", "      match:", "        name: lo",
                                  "      addresses:", "        - " + prefix},
                                 {"chmod 600 " + std::string(kNetplanFile), "netplan apply"}};
      break;
    case NetworkStack::kSystemdNetworkd:
      // Once networkd manages lo it owns all of lo's addresses, so the loopback ones are listed
      // too.
      plan.persist = PersistPlan{stack,
                                 std::string(kNetworkdFile),
                                 "a new file",
                                 {"[Match]", "Name=lo", "", "[Network]", "Address=127.0.0.1/8",
                                  "Address=::1/128", "Address=" + prefix},
                                 {"networkctl reload", "networkctl reconfigure lo"}};
      break;
    case NetworkStack::kNetworkManager: {
      // NetworkManager before 1.42 does not manage lo; a dummy interface is its dummy NIC.
      const bool v4 = ip.family == stun::Family::kIPv4;
      const std::string addressing =
          v4 ? "ipv4.method manual ipv4.addresses " + prefix + " ipv6.method ignore"
             : "ipv6.method manual ipv6.addresses " + prefix + " ipv4.method disabled";
      plan.persist = PersistPlan{
          stack,
          "",
          "a dummy interface, dummy0, that NetworkManager brings up at every boot and that takes "
          "the address over from lo",
          {},
          {"nmcli connection add type dummy ifname dummy0 con-name dummy-nic " + addressing,
           "ip addr del " + prefix + " dev lo"}};
      break;
    }
    case NetworkStack::kUnknown: break;
  }
  return plan;
}

std::optional<std::string> etc_hosts_line(const HostnameFacts& hostname,
                                          const TransportAddress& external_ip) {
  if (hostname.ok || hostname.is_ip) return std::nullopt;
  return external_ip.ip_string() + " " + hostname.name;
}

std::string not_this_host_headline(const TransportAddress& external_ip,
                                   const TransportAddress& measured_public) {
  return "Hairpin NAT: " + external_ip.ip_string() +
         " is not this host's public address \u2014 a STUN server sees this host as " +
         measured_public.ip_string();
}

std::string private_target_headline(const TransportAddress& external_ip) {
  return "Hairpin NAT: " + external_ip.ip_string() +
         " is a private address, not the public one peers on the Internet use \u2014 see below";
}

std::string headline(Verdict verdict, const TransportAddress& external_ip,
                     const LocalAddressFacts& local) {
  const std::string ip = external_ip.ip_string();
  switch (verdict) {
    case Verdict::kSupported:
      return "Hairpin NAT: supported \u2014 this host reaches its own public address " + ip +
             " through the router";
    case Verdict::kNotSupported:
      return "Hairpin NAT: not supported \u2014 this host cannot reach its own public address " +
             ip;
    case Verdict::kPartial:
      return "Hairpin NAT: partial \u2014 some ports of " + ip +
             " come back to this host, others do not";
    case Verdict::kInconclusive:
      return "Hairpin NAT: inconclusive \u2014 no check could decide whether " + ip +
             " comes back to this host";
    case Verdict::kNotNeeded: break;
  }
  const std::string interface = local.on_interface ? local.on_interface->interface : "?";
  if (local.dummy_nic()) {
    return "Hairpin NAT: not needed \u2014 " + ip + " is on " + interface +
           " (dummy NIC), so this host reaches its public address locally";
  }
  return "Hairpin NAT: not needed \u2014 " + ip + " is this host's own address on " + interface +
         " (no NAT in between)";
}

namespace {

std::string dummy_nic_warning(const std::string& ip) {
  return "Note: a dummy NIC only fixes this host. Other LAN hosts that connect to " + ip +
         " still need hairpin NAT on the router, and this host now reaches itself on every port "
         "of " +
         ip +
         ", also on ports the router forwards to other LAN machines (a separate TURN server, for "
         "example).";
}

/// Hairpin missing and EXTERNAL_IP not here: the dummy NIC, or hairpin NAT on the router.
void add_missing_hairpin(std::vector<Advice>& out, const AdviceInput& in,
                         const DummyNicPlan& plan) {
  const std::string ip = in.external_ip.ip_string();
  out.push_back({"Add " + ip +
                     " to this host as a dummy NIC (on lo), so that its own connections to the "
                     "public address stay here; now:",
                 plan.commands});
  add_persist_advice(out, in.external_ip, plan.persist, "Make it permanent");
  out.push_back(
      {"Or turn on hairpin NAT (NAT loopback, NAT reflection) on the router, with "
       "source NAT for LAN-to-LAN connections: that fixes every LAN host at once and no "
       "dummy NIC is needed.",
       {}});
  out.push_back({dummy_nic_warning(ip), {}});
}

/// EXTERNAL_IP already on lo or a dummy interface: keep it across reboots, and on every port.
void add_present_dummy_nic(std::vector<Advice>& out, const AdviceInput& in,
                           const DummyNicPlan& plan) {
  const std::string ip = in.external_ip.ip_string();
  const std::string& interface = in.local.on_interface->interface;
  if (in.persisted == false) {
    add_persist_advice(out, in.external_ip, plan.persist,
                       ip + " is on " + interface +
                           " now but not in the network configuration, so it is gone after a "
                           "reboot. Make it permanent");
  } else if (!in.persisted) {
    out.push_back({"Make sure " + ip + " is put on " + interface +
                       " at boot: natdiag cannot tell which network configuration does that here.",
                   {}});
  }
  if (const auto failing = join_labels(in.checks, Result::kNotSupported); !failing.empty()) {
    out.push_back({"Although " + ip + " is on this host, " + failing +
                       " did not answer on it: the service there listens on one address only; "
                       "let it listen on all addresses (0.0.0.0) or on " +
                       ip + " too.",
                   {}});
  }
  out.push_back({dummy_nic_warning(ip), {}});
}

/// The BigBlueButton guide's /etc/hosts line when --hostname does not resolve to EXTERNAL_IP.
void add_hostname(std::vector<Advice>& out, const HostnameFacts& h,
                  const TransportAddress& external_ip) {
  if (h.is_ip) {
    if (!h.ok) {
      out.push_back({"--hostname " + h.name + " is an IP address, not a name, and not " +
                         external_ip.ip_string() + ": nothing to put in /etc/hosts.",
                     {}});
    }
    return;
  }
  const auto line = etc_hosts_line(h, external_ip);
  if (!line) return;
  if (h.first_entry && !h.first_entry->ip.same_ip(external_ip)) {
    // The resolver takes the first line that names it: a line added below changes nothing.
    out.push_back({"Line " + std::to_string(h.first_entry->line) + " of /etc/hosts maps " +
                       h.name + " to " + h.first_entry->ip.ip_string() +
                       ", and the first matching line wins: change that line's address to " +
                       external_ip.ip_string() + " (or take " + h.name +
                       " off it), so that it reads:",
                   {*line}});
    return;
  }
  if (!h.etc_hosts.empty()) {
    out.push_back({"/etc/hosts gives " + h.name + " " + addresses_text(h.etc_hosts) +
                       "; point it at the public address instead, with the line:",
                   {*line}});
    return;
  }
  out.push_back({"Make " + h.name +
                     " resolve to the public address on this host (the BigBlueButton guide asks "
                     "for it); add to /etc/hosts:",
                 {*line}});
}

}  // namespace

std::vector<Advice> make_advice(const AdviceInput& in) {
  std::vector<Advice> out;
  if (in.measured_public && !in.measured_public->same_ip(in.external_ip)) {
    // Someone else's address: adding it here would cut this host off from its real owner.
    out.push_back({in.external_ip.ip_string() + " is not this host's public address: a STUN "
                       "server sees this host as " + in.measured_public->ip_string() +
                       ". natdiag gives no dummy-NIC command for " + in.external_ip.ip_string() +
                       " (adding it here would cut this host off from the machine that owns "
                       "it). Check the hairpin of the public address instead:",
                   {"natdiag hairpin " + in.measured_public->ip_string()}});
    if (in.hostname) add_hostname(out, *in.hostname, *in.measured_public);
    return out;
  }
  if (net::is_private_or_local(in.external_ip) && !in.local.on_interface) {
    // A LAN neighbour's address, perhaps: on lo here it would cut this host off from it.
    out.push_back(
        {in.external_ip.ip_string() +
             " is a private address, so it is not the public "
             "address peers on the Internet use, and hairpin NAT is about that one. "
             "natdiag gives no dummy-NIC command for it (it may be another LAN host's "
             "address). Learn the public address from a STUN server outside, then "
             "check it:",
         in.measured_public
             ? std::vector<std::string>{"natdiag hairpin " + in.measured_public->ip_string()}
             : std::vector<std::string>{"natdiag stun STUN_SERVER", "natdiag hairpin PUBLIC_IP"}});
    if (in.hostname && in.measured_public) add_hostname(out, *in.hostname, *in.measured_public);
    return out;
  }
  const auto plan = dummy_nic_plan(in.external_ip, in.stack.stack);
  if (in.verdict == Verdict::kPartial) {
    out.push_back({"Hairpin works for " + join_labels(in.checks, Result::kSupported) +
                       " but not for " + join_labels(in.checks, Result::kNotSupported) +
                       ": the router sends only some forwarded ports back to the LAN.",
                   {}});
  }
  if (dummy_nic_needed(in.verdict, in.local) == true) add_missing_hairpin(out, in, plan);
  if (in.local.dummy_nic()) add_present_dummy_nic(out, in, plan);
  if (in.verdict == Verdict::kInconclusive) {
    out.push_back(
        {"No check could decide; the details above say why (--explain for more). Try "
         "other ports with --tcp and --udp.",
         {}});
  }
  const auto lacks_privilege = [](const CheckResult& c) {
    return c.setup_failed && c.setup_error == EACCES;
  };
  if (std::any_of(in.checks.begin(), in.checks.end(), lacks_privilege)) {
    out.push_back(
        {"Run natdiag hairpin as root so it can listen on ports below 1024, or test "
         "ports above 1023 with --tcp and --udp.",
         {}});
  }
  if (in.hostname) add_hostname(out, *in.hostname, in.external_ip);
  const auto mapping_refused = [](const CheckResult& c) {
    return c.method == Method::kStunMapping && c.result == Result::kNotSupported;
  };
  if (std::any_of(in.checks.begin(), in.checks.end(), mapping_refused)) {
    out.push_back(
        {"The NAT does not hairpin UDP mappings (RFC 4787 REQ-9): LAN clients cannot "
         "use this server's srflx candidate; they connect by host candidates or "
         "through TURN.",
         {}});
  }
  return out;
}

}  // namespace natdiag::hairpin
