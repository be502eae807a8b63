#include "src/ports/families.hpp"

#include <algorithm>
#include <utility>

#include "src/ports/control.hpp"
#include "src/ports/listener.hpp"
#include "src/profile/advice.hpp"

namespace natdiag::ports {

std::string family_label(stun::Family family) {
  return family == stun::Family::kIPv4 ? "IPv4" : "IPv6";
}

FarEnds far_end_addresses(const std::vector<FarEndName>& names, net::FamilyPreference family,
                          stun::TimePoint deadline, bool host_has_ipv6, std::string_view hint) {
  FarEnds out;
  std::optional<TransportAddress> v4, v6;
  for (const auto& [host, port] : names) {
    const auto resolution = net::resolve(host, port, family, deadline);
    if (resolution.addresses.empty()) {
      out.error = "'" + host + "' does not resolve: " + resolution.error;
      return out;
    }
    bool added = false;
    for (const auto& a : resolution.addresses) {
      auto& slot = a.family == stun::Family::kIPv4 ? v4 : v6;
      if (!slot) {
        slot = a;
        added = true;
      }
    }
    if (!added) {
      out.same_family = true;
      out.addresses.clear();
      out.error = "'" + host + "' adds no address family to '" + names.front().host +
                  "' (give the far end's IPv4 address once and its IPv6 address once)";
      return out;
    }
  }
  if (v4) out.addresses.push_back(*v4);
  if (v6) {
    if (family == net::FamilyPreference::kAny && v4 && !host_has_ipv6) {
      out.untested.push_back("IPv6 not tested: this host has no global IPv6 address");
    } else {
      out.addresses.push_back(*v6);
    }
  } else if (family == net::FamilyPreference::kAny && host_has_ipv6) {
    out.untested.push_back("IPv6 not tested: '" + names.front().host + "' has no IPv6 address (" +
                           std::string(hint) + ")");
  }
  return out;
}

std::vector<PortSet> split(const PortSet& ports, std::uint32_t most) {
  std::vector<PortSet> out;
  PortSet current;
  std::uint32_t count = 0;
  for (const auto& r : ports.ranges()) {
    std::uint32_t first = r.first;
    while (first <= r.last) {
      if (count == most) {
        out.push_back(std::move(current));
        current = PortSet{};
        count = 0;
      }
      const std::uint32_t last = std::min<std::uint32_t>(r.last, first + (most - count) - 1);
      current.add(static_cast<std::uint16_t>(first), static_cast<std::uint16_t>(last));
      count += last - first + 1;
      first = last + 1;
    }
  }
  if (count > 0 || out.empty()) out.push_back(std::move(current));
  return out;
}

namespace {

/// Adds one request's report to the family's: ports tested, states, counts and notes.
void merge_into(PortsReport& total, PortsReport part) {
  auto merge = [](ProtocolReport& into, const ProtocolReport& from) {
    into.tested.add(from.tested);
    std::vector<PortOutcome> outcomes;
    for (const std::vector<StateRange>* list : {&std::as_const(into.ranges), &from.ranges}) {
      for (const auto& r : *list) {
        for (std::uint32_t p = r.range.first; p <= r.range.last; ++p) {
          outcomes.push_back({static_cast<std::uint16_t>(p), r.state, r.evidence, r.owner});
        }
      }
    }
    into.ranges = collapse(std::move(outcomes));
  };
  merge(total.tcp, part.tcp);
  merge(total.udp, part.udp);
  total.rounds = std::max(total.rounds, part.rounds);
  total.probes_sent += part.probes_sent;
  total.elapsed += part.elapsed;
  for (auto& n : part.notes) {
    if (std::find(total.notes.begin(), total.notes.end(), n) == total.notes.end()) total.notes.push_back(std::move(n));
  }
}

}  // namespace

FamiliesResult run_via_families(const ViaOptions& base, const std::vector<TransportAddress>& far_ends) {
  FamiliesResult result;
  // serve takes at most kMaxRequestUdpPorts UDP ports a request, and this host may hold fewer
  // sockets at once: more (BigBlueButton and LiveKit together, or every server) go as several
  // requests, one after the other, each with its own listener.
  const std::size_t fds = descriptor_budget();
  const std::size_t room = fds > base.tcp.size() + 1000 ? fds - base.tcp.size() : 1000;
  const auto chunks = split(base.udp, static_cast<std::uint32_t>(std::min<std::size_t>(kMaxRequestUdpPorts, room)));
  for (const auto& address : far_ends) {
    FamilyRun run;
    run.family = address.family;
    bool unroutable = false;
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      ViaOptions o = base;
      o.host = address.ip_string();
      o.port = address.port;
      o.family = address.family == stun::Family::kIPv4 ? net::FamilyPreference::kIPv4Only
                                                       : net::FamilyPreference::kIPv6Only;
      o.udp = chunks[i];
      if (i > 0) o.tcp = PortSet{};
      auto via = run_via(o);
      if (!via.error.empty()) {
        run.report.reset();
        run.error = via.error;
        unroutable = via.no_route && far_ends.size() > 1;
        break;
      }
      via.report.family = family_label(address.family);
      if (!run.report) {
        run.report = std::move(via.report);
      } else {
        merge_into(*run.report, std::move(via.report));
      }
    }
    if (unroutable) {
      // This host has no route to that family: not tested, which is not a failure.
      result.untested.push_back(family_label(address.family) + " not tested: " + run.error);
    } else {
      result.runs.push_back(std::move(run));
    }
  }
  return result;
}

bool all_open(const FamiliesResult& result) {
  return !result.runs.empty() && std::all_of(result.runs.begin(), result.runs.end(), [](const FamilyRun& r) {
    return r.report && all_open(*r.report);
  });
}

std::optional<std::string> settle(FamiliesResult& result) {
  std::vector<PortsReport*> reports;
  std::vector<const FamilyRun*> failures;
  for (auto& run : result.runs) {
    if (run.report) {
      reports.push_back(&*run.report);
    } else {
      failures.push_back(&run);
    }
  }
  if (reports.empty()) {
    if (failures.empty()) return result.untested.empty() ? "nothing was tested" : result.untested.front();
    std::string message = failures.front()->error;
    if (failures.size() > 1) {
      message = family_label(failures[0]->family) + ": " + message;
      for (std::size_t i = 1; i < failures.size(); ++i)
        message += "; " + family_label(failures[i]->family) + ": " + failures[i]->error;
    }
    return message;
  }
  auto& first = *reports.front();
  for (const auto* f : failures) first.notes.push_back(family_label(f->family) + " not tested: " + f->error);
  for (const auto& u : result.untested) first.notes.push_back(u);
  result.untested.clear();
  return std::nullopt;
}

namespace {

std::vector<const PortsReport*> reports_of(const FamiliesResult& result) {
  std::vector<const PortsReport*> out;
  for (const auto& run : result.runs) {
    if (run.report) out.push_back(&*run.report);
  }
  return out;
}

}  // namespace

void families_to_json(const FamiliesResult& result, nlohmann::ordered_json& out) {
  const auto reports = reports_of(result);
  if (reports.empty()) return;
  report_to_json(*reports.front(), out);
  if (reports.size() > 1) {
    nlohmann::ordered_json six;
    report_to_json(*reports[1], six);
    six.erase("mode");
    out["ipv6"] = six;
  } else {
    out["ipv6"] = nullptr;
  }
}

void print_families(std::ostream& out, const FamiliesResult& result) {
  const auto reports = reports_of(result);
  for (const auto* r : reports) {
    if (r != reports.front()) out << "\n";
    if (reports.size() > 1) out << r->family.value_or("") << ": ";
    print_report(out, *r);
  }
}

std::vector<ServerNeed> server_needs(const std::vector<std::string>& targets) {
  std::vector<ServerNeed> out;
  for (const auto& name : targets) {
    const auto table = cli::firewall_ports_of(name, targets);
    ServerNeed need{name, {}, {}};
    for (const auto& t : table.tcp) need.tcp.add(parse_port_set(t, "--for"));
    for (const auto& u : table.udp) need.udp.add(parse_port_set(u, "--for"));
    out.push_back(std::move(need));
  }
  return out;
}

}  // namespace natdiag::ports
