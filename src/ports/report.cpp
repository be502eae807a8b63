#include "src/ports/report.hpp"

#include <cmath>
#include <iomanip>
#include <sstream>

#include "src/profile/media_ports.hpp"

namespace natdiag::ports {
namespace {

/// Above this many ranges a protocol's summary gives counts per state instead.
constexpr std::size_t kMaxListedRanges = 6;

/// Ranges that follow each other with the same state, evidence and owner: one row for people.
struct Row {
  std::vector<PortRange> ranges;
  State state;
  std::string evidence;
  std::string owner;
  std::uint32_t count = 0;
};

std::vector<Row> rows_of(const ProtocolReport& p) {
  std::vector<Row> rows;
  for (const auto& r : p.ranges) {
    if (!rows.empty() && rows.back().state == r.state && rows.back().evidence == r.evidence &&
        rows.back().owner == r.owner) {
      rows.back().ranges.push_back(r.range);
      rows.back().count += r.range.size();
      continue;
    }
    rows.push_back({{r.range}, r.state, r.evidence, r.owner, r.range.size()});
  }
  return rows;
}

std::string ranges_text(const std::vector<PortRange>& ranges, std::string_view separator = ", ") {
  std::string out;
  for (const auto& r : ranges) {
    if (!out.empty()) out += separator;
    out += range_text(r);
  }
  return out;
}

std::uint32_t count_in(const ProtocolReport& p, State s) {
  return ports_in_state(p.ranges, s).size();
}

bool problem(State s) {
  return s == State::kClosed || s == State::kFiltered || s == State::kAnsweredByOther;
}

/// "50000-54999 open, 55000-60000 filtered (5,001 ports)" or counts when there are many ranges.
std::string protocol_summary(const ProtocolReport& p) {
  const auto rows = rows_of(p);
  if (rows.size() > kMaxListedRanges) {
    std::string out;
    for (auto s : {State::kOpen, State::kClosed, State::kFiltered, State::kAnsweredByOther,
                   State::kInUse, State::kUntested}) {
      const auto n = count_in(p, s);
      if (n == 0) continue;
      if (!out.empty()) out += ", ";
      out += with_thousands(n) + " " + std::string(state_name(s));
    }
    return out + " (in " + with_thousands(p.ranges.size()) + " ranges)";
  }
  std::string out;
  for (const auto& row : rows) {
    if (!out.empty()) out += ", ";
    out += ranges_text(row.ranges) + " " + std::string(state_name(row.state));
    if (row.state != State::kOpen && row.count > 1)
      out += " (" + with_thousands(row.count) + " ports)";
  }
  return out;
}

/// The --for servers that need any of `ports`.
std::vector<const ServerNeed*> needing(const PortsReport& r, const PortSet& ports, bool udp) {
  std::vector<const ServerNeed*> out;
  for (const auto& s : r.servers) {
    const auto& need = udp ? s.udp : s.tcp;
    for (auto p : ports.ports()) {
      if (need.contains(p)) {
        out.push_back(&s);
        break;
      }
    }
  }
  return out;
}

/// ": the router forwards only part of livekit's range" for the verdict line.
std::string udp_hint(const PortsReport& r) {
  const auto open = ports_in_state(r.udp.ranges, State::kOpen);
  for (const auto& s : r.servers) {
    if (s.udp.empty()) continue;
    std::uint32_t open_here = 0;
    for (const auto& range : s.udp.ranges()) {
      for (std::uint32_t p = range.first; p <= range.last; ++p)
        open_here += open.contains(static_cast<std::uint16_t>(p));
    }
    if (open_here > 0 && open_here < s.udp.size()) {
      return ": only part of " + s.name + "'s UDP range (" + s.udp.to_string() + ") gets through";
    }
    if (open_here == 0)
      return ": none of " + s.name + "'s UDP range (" + s.udp.to_string() + ") gets through";
  }
  return "";
}

std::string seconds_text(std::chrono::microseconds d) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(2) << static_cast<double>(d.count()) / 1e6 << " s";
  return s.str();
}

nlohmann::ordered_json protocol_json(const ProtocolReport& p) {
  nlohmann::ordered_json j;
  j["tested"] = p.tested.to_string();
  j["count"] = p.tested.size();
  nlohmann::ordered_json counts;
  for (auto s : {State::kOpen, State::kClosed, State::kFiltered, State::kInUse,
                 State::kAnsweredByOther, State::kUntested}) {
    counts[std::string(state_name(s))] = count_in(p, s);
  }
  j["counts"] = counts;
  j["ranges"] = nlohmann::ordered_json::array();
  for (const auto& r : p.ranges) {
    nlohmann::ordered_json range;
    range["first"] = r.range.first;
    range["last"] = r.range.last;
    range["count"] = r.range.size();
    range["state"] = state_name(r.state);
    range["evidence"] = r.evidence;
    range["owner"] =
        r.owner.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.owner);
    j["ranges"].push_back(range);
  }
  return j;
}

}  // namespace

bool all_open(const PortsReport& r) {
  for (const auto* p : {&r.tcp, &r.udp}) {
    for (const auto& range : p->ranges) {
      if (problem(range.state) || range.state == State::kUntested) return false;
    }
  }
  return true;
}

bool any_problem(const PortsReport& r) {
  for (const auto* p : {&r.tcp, &r.udp}) {
    for (const auto& range : p->ranges) {
      if (problem(range.state)) return true;
    }
  }
  return false;
}

std::string verdict_line(const PortsReport& r) {
  const auto tested = r.tcp.tested.size() + r.udp.tested.size();
  const bool listen = r.mode == "listen";
  if (all_open(r)) {
    const auto in_use = count_in(r.tcp, State::kInUse) + count_in(r.udp, State::kInUse);
    std::string line =
        listen ? "Every port got natdiag's probe from outside"
               : "All " + with_thousands(tested - in_use) + " ports tested are open from outside";
    if (in_use > 0)
      line += " (" + with_thousands(in_use) + " held by another program here: not tested)";
    return line;
  }
  std::string line = listen            ? "Not every port got natdiag's probe:"
                     : !any_problem(r) ? "Not every port could be tested:"
                                       : "Not every port is open from outside:";
  bool first = true;
  for (const auto& [name, p] : {std::pair{"TCP", &r.tcp}, std::pair{"UDP", &r.udp}}) {
    if (p->tested.empty()) continue;
    line += std::string(first ? " " : "; ") + name + " " + protocol_summary(*p);
    first = false;
  }
  return line + udp_hint(r);
}

std::vector<std::string> advice_lines(const PortsReport& r) {
  std::vector<std::string> out;
  PortSet bad_tcp, bad_udp;
  for (auto s : {State::kClosed, State::kFiltered, State::kAnsweredByOther}) {
    bad_tcp.add(ports_in_state(r.tcp.ranges, s));
    bad_udp.add(ports_in_state(r.udp.ranges, s));
  }
  if (bad_tcp.empty() && bad_udp.empty()) return out;
  const bool behind_nat = r.public_ip && r.local_ip && *r.public_ip != *r.local_ip;
  for (const auto& [name, bad, udp] :
       {std::tuple{"TCP", &bad_tcp, false}, std::tuple{"UDP", &bad_udp, true}}) {
    if (bad->empty()) continue;
    std::string who;
    for (const auto* s : needing(r, *bad, udp)) {
      who += (who.empty() ? "" : "; ") + s->name + " needs it: without it " +
             cli::what_breaks(s->name, udp);
    }
    const std::string ports = std::string(name) + " " + bad->to_string();
    if (behind_nat) {
      out.push_back("Forward " + ports + " to " + *r.local_ip +
                    " on the router (port forwarding / virtual server)" +
                    (who.empty() ? "" : " (" + who + ")") + ".");
    } else {
      out.push_back("Open " + ports + " in the firewalls between the Internet and this host" +
                    (who.empty() ? "" : " (" + who + ")") + ".");
    }
  }
  out.push_back("If a firewall runs on this host, open the same ports there:");
  if (!bad_tcp.empty()) out.push_back("    ufw allow " + bad_tcp.to_string(':') + "/tcp");
  if (!bad_udp.empty()) {
    for (const auto& range : bad_udp.ranges()) {
      PortSet one;
      one.add(range.first, range.last);
      if (bad_udp.ranges().size() <= 8)
        out.push_back("    ufw allow " + one.to_string(':') + "/udp");
    }
    if (bad_udp.ranges().size() > 8)
      out.push_back("    ufw allow " + PortSet(bad_udp).to_string(':', "/udp; ufw allow ") +
                    "/udp");
  }
  if (!bad_tcp.empty())
    out.push_back("    nft add rule inet filter input tcp dport { " + bad_tcp.to_string('-', ", ") +
                  " } accept");
  if (!bad_udp.empty())
    out.push_back("    nft add rule inet filter input udp dport { " + bad_udp.to_string('-', ", ") +
                  " } accept");
  return out;
}

void print_report(std::ostream& out, const PortsReport& r) {
  out << verdict_line(r) << "\n\n";
  for (const auto& [name, p] : {std::pair{"TCP", &r.tcp}, std::pair{"UDP", &r.udp}}) {
    for (const auto& row : rows_of(*p)) {
      std::string ports = ranges_text(row.ranges);
      if (ports.size() > 40) ports = ports.substr(0, 37) + "...";
      out << "  " << name << " " << std::left << std::setw(22) << ports << " " << std::setw(18)
          << state_name(row.state) << row.evidence;
      if (!row.owner.empty()) out << "; held by " << row.owner;
      if (row.count > 1) out << " (" << with_thousands(row.count) << " ports)";
      out << "\n";
    }
  }
  out << "\n";
  if (r.public_ip) {
    out << "  Public address: " << *r.public_ip;
    if (r.local_ip && *r.local_ip != *r.public_ip)
      out << " (this host: " << *r.local_ip << ", behind NAT)";
    out << "\n";
  }
  if (r.far_end) out << "  Far end:        " << *r.far_end << "\n";
  if (r.rounds > 0) {
    out << "  Probes:         " << with_thousands(r.probes_sent) << " sent, " << r.rounds
        << " UDP round" << (r.rounds == 1 ? "" : "s") << "\n";
  }
  out << "  Time:           " << seconds_text(r.elapsed) << "\n";
  for (const auto& note : r.notes) out << "  Note: " << note << "\n";
  const auto advice = advice_lines(r);
  if (!advice.empty()) {
    out << "\nWhat to do:\n";
    for (const auto& line : advice)
      out << (line.starts_with("    ") ? "  " + line : "  - " + line) << "\n";
  }
}

void report_to_json(const PortsReport& r, nlohmann::ordered_json& out) {
  auto opt = [](const std::optional<std::string>& s) {
    return s ? nlohmann::ordered_json(*s) : nlohmann::ordered_json(nullptr);
  };
  out["mode"] = r.mode;
  out["verdict"] = all_open(r) ? "open" : any_problem(r) ? "not-open" : "untested";
  out["summary"] = verdict_line(r);
  out["far_end"] = opt(r.far_end);
  out["family"] = r.family ? nlohmann::ordered_json(*r.family == "IPv4" ? "ipv4" : "ipv6") : nlohmann::ordered_json(nullptr);
  out["public_ip"] = opt(r.public_ip);
  out["local_ip"] = opt(r.local_ip);
  out["tcp"] = protocol_json(r.tcp);
  out["udp"] = protocol_json(r.udp);
  out["servers"] = nlohmann::ordered_json::array();
  for (const auto& s : r.servers) {
    out["servers"].push_back(
        {{"name", s.name}, {"tcp", s.tcp.to_string()}, {"udp", s.udp.to_string()}});
  }
  out["rounds"] = r.rounds;
  out["probes_sent"] = r.probes_sent;
  out["elapsed_ms"] = std::round(static_cast<double>(r.elapsed.count()) / 10.0) / 100.0;
  out["notes"] = r.notes;
  out["advice"] = advice_lines(r);
}

}  // namespace natdiag::ports
