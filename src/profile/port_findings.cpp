#include "src/profile/port_findings.hpp"

#include <algorithm>
#include <charconv>

#include "src/profile/media_ports.hpp"

namespace natdiag::cli {
namespace {

/// Closed, filtered or answered by another machine: measured as not getting through.
bool not_open(const MeasuredPortRange& r) {
  return r.state != "open" && r.state != "in-use" && r.state != "untested";
}

std::string family_label(const std::string& family) { return family == "ipv4" ? "IPv4" : "IPv6"; }

std::string range_text(const MeasuredPortRange& r) {
  return r.first == r.last ? std::to_string(r.first) : std::to_string(r.first) + "-" + std::to_string(r.last);
}

std::string thousands(std::uint32_t n) {
  std::string digits = std::to_string(n);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(static_cast<std::size_t>(i), ",");
  return digits;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(c - ('a' <= c && c <= 'z' ? 'a' - 'A' : 0));
  return s;
}

/// "50000-60000" or "443" from the port table.
std::optional<PortRange> parse_range(const std::string& text) {
  PortRange r;
  const auto dash = text.find('-');
  const std::string a = text.substr(0, dash);
  const std::string b = dash == std::string::npos ? a : text.substr(dash + 1);
  if (std::from_chars(a.data(), a.data() + a.size(), r.first).ec != std::errc{} ||
      std::from_chars(b.data(), b.data() + b.size(), r.last).ec != std::errc{}) {
    return std::nullopt;
  }
  return r;
}

/// The targets whose ports (the same table ports --for used) overlap `r`.
std::vector<std::string> needing(const MeasuredPortRange& r, const std::vector<std::string>& targets) {
  std::vector<std::string> out;
  const PortRange measured{r.first, r.last};
  for (const auto& name : targets) {
    const auto table = firewall_ports_of(name, targets);
    const auto& list = r.protocol == "udp" ? table.udp : table.tcp;
    const bool needs = std::any_of(list.begin(), list.end(), [&](const std::string& text) {
      const auto p = parse_range(text);
      return p && p->overlaps(measured);
    });
    if (needs) out.push_back(name);
  }
  return out;
}

}  // namespace

std::vector<Finding> port_findings(const ProfileFacts& f, const std::vector<std::string>& targets) {
  std::vector<Finding> out;
  if (f.ports_error) {
    const std::string& k = *f.ports_error;
    const std::string why =
        k == "unreachable"   ? "no natdiag serve --probe-back answered at the --via address"
        : k == "refused"     ? "the natdiag serve there refused the request (its --probe-secret, or its per-IP budget)"
        : k == "unresolved"  ? "the --via host name did not resolve"
        : k == "cannot-listen" ? "this host could not open a socket on every port (file descriptors, or ports it may not bind)"
                               : "it failed";
    out.push_back({"ports-untested", "warning",
                   "The port check from outside (--via) could not run: " + why +
                       ". The firewall advice lists the servers' documented ports, not what gets through.",
                   k == "refused" ? "Give --probe-secret, or wait a minute and run it again."
                                  : "Run natdiag serve --probe-back on a host outside this network and pass it with --via."});
    return out;
  }
  if (f.ports_measured.empty()) return out;
  std::vector<std::string> open, held, untested;
  for (const auto& r : f.ports_measured) {
    const std::string what = family_label(r.family) + " " + upper(r.protocol) + " " + range_text(r);
    if (r.state == "open") open.push_back(what);
    if (r.state == "in-use") held.push_back(what);
    if (r.state == "untested") untested.push_back(what);
    if (!not_open(r)) continue;
    const auto servers = needing(r, targets);
    std::string who;
    for (const auto& s : servers) {
      who += (who.empty() ? "" : "; ") + s + " needs it: " + what_breaks(s, r.protocol == "udp");
    }
    const std::uint32_t count = r.last - r.first + 1U;
    const std::string ports = upper(r.protocol) + " " + range_text(r);
    const bool forward = r.family == "ipv4" && f.behind_nat == true && f.local_ipv4;
    out.push_back({"ports-not-open", "critical",
                   "From outside over " + family_label(r.family) + ", " + ports + " is " + r.state +
                       (count > 1 ? " (" + thousands(count) + " ports)" : std::string()) +
                       (who.empty() ? "." : ": " + who + "."),
                   forward ? "Forward " + ports + " to " + *f.local_ipv4 +
                                 " on the router and open it in the host's firewall (see the firewall advice)."
                           : "Open " + ports + " in the firewalls on the way (see the firewall advice)."});
  }
  if (!held.empty()) {
    std::string list;
    for (const auto& h : held) list += (list.empty() ? "" : ", ") + h;
    out.push_back({"ports-in-use", "info",
                   list + ": held by another program on this host, so not tested from outside.",
                   "Run natdiag ports --via with that service stopped to test them, or trust its own logs."});
  }
  if (!untested.empty()) {
    std::string list;
    for (const auto& u : untested) list += (list.empty() ? "" : ", ") + u;
    out.push_back({"ports-untested", "warning",
                   list + ": natdiag serve could not send its probes there (its own firewall or "
                          "routing), so these were not tested from outside.",
                   "Run natdiag ports --via against another natdiag serve --probe-back, or fix "
                   "that host's outgoing firewall."});
  }
  if (untested.empty() &&
      std::none_of(f.ports_measured.begin(), f.ports_measured.end(), not_open)) {
    std::string list;
    for (const auto& o : open) list += (list.empty() ? "" : ", ") + o;
    out.push_back({"ports-open", "info", "Every media port tested gets through from outside: " + list + ".", ""});
  }
  return out;
}

std::optional<Advice> measured_firewall_advice(const ProfileFacts& f) {
  if (f.ports_measured.empty()) return std::nullopt;
  Advice fw{"ufw, or /etc/nftables.conf (table inet filter, chain input)", {},
            "Measured from outside (natdiag ports): only these did not get through."};
  std::vector<std::string> forwards;
  for (const auto& r : f.ports_measured) {
    if (!not_open(r)) continue;
    const std::string colon = r.first == r.last ? std::to_string(r.first)
                                                : std::to_string(r.first) + ":" + std::to_string(r.last);
    const std::string line = "ufw allow " + colon + "/" + r.protocol;
    if (std::find(fw.lines.begin(), fw.lines.end(), line) == fw.lines.end()) fw.lines.push_back(line);
    const std::string nft = "nft add rule inet filter input " + r.protocol + " dport " + range_text(r) + " accept";
    if (std::find(fw.lines.begin(), fw.lines.end(), nft) == fw.lines.end()) fw.lines.push_back(nft);
    if (r.family == "ipv4" && f.behind_nat == true && f.local_ipv4) {
      forwards.push_back("on the router: forward " + upper(r.protocol) + " " + range_text(r) + " to " + *f.local_ipv4);
    }
  }
  for (auto& line : forwards) fw.lines.push_back(std::move(line));
  if (fw.lines.empty()) fw.note = "Measured from outside (natdiag ports): every port tested gets through.";
  return fw;
}

}  // namespace natdiag::cli
