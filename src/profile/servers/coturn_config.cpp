// coturn's turnserver.conf against the measured network: the relay address it gives clients
// (external-ip behind NAT), the addresses it binds, its relay port range.
#include "src/profile/config/check_support.hpp"
#include "src/profile/servers/config_checkers.hpp"

namespace natdiag::profile::config {

void check_coturn(const ParsedFile& file, const ConfigFacts& facts, const ConfigFileKind& kind,
                  std::vector<ConfigFinding>& out) {
  FindingSink sink(file, kind.server, out);
  const auto& p = facts.profile;
  const auto external = file.find_all("external-ip");
  // "PUBLIC/PRIVATE" when the public address is not on this host (coturn maps one to the other).
  const std::optional<std::string> wanted =
      p.public_ipv4
          ? std::optional<std::string>(
                *p.public_ipv4 + (p.behind_nat == true && p.local_ipv4 ? "/" + *p.local_ipv4 : ""))
          : std::nullopt;
  bool has_ipv4 = false;
  for (const auto* s : external) {
    const auto slash = s->value.find('/');
    const std::string pub_part = s->value.substr(0, slash);
    const std::string priv_part = slash == std::string::npos ? "" : s->value.substr(slash + 1);
    const auto ip = plain_ip(pub_part);
    if (ip && ip->family == stun::Family::kIPv6) continue;  // coturn takes one IPv6 external-ip too
    has_ipv4 = true;
    const bool found = check_public_ipv4_part(
        sink, *s, pub_part, facts, "coturn-external-ip", "external-ip's public address",
        [&](const std::string& pub) { return pub + (priv_part.empty() ? "" : "/" + priv_part); });
    if (!found && !priv_part.empty() && p.local_ipv4 && priv_part != *p.local_ipv4 &&
        p.behind_nat == true) {
      auto& f = sink.add("coturn-external-ip-private-mismatch", "warning", *s, wanted,
                         "external-ip maps to the private address " + priv_part +
                             ", but this host's address on the way out is " + *p.local_ipv4 +
                             " (measured): coturn relays on an address it does not have.");
      if (wanted) f.edits.push_back(replace_value(file, *s, *wanted));
    }
  }
  if (!has_ipv4 && p.behind_nat == true) {
    sink.missing(
        "coturn-external-ip-missing", "critical", "external-ip", wanted, wanted,
        "This host is behind NAT and turnserver.conf has no external-ip: coturn gives clients "
        "relay addresses "
        "on its private address" +
            (p.local_ipv4 ? " " + *p.local_ipv4 : std::string()) +
            ", which peers on the Internet cannot reach." +
            (wanted ? " external-ip=" + *wanted + " maps it to the measured public address."
                    : " natdiag has not measured the public address, so it cannot say what to "
                      "write."));
  }
  // The public address behind NAT is not on this host (unless a dummy NIC holds it): coturn
  // cannot bind it.
  for (const char* key : {"listening-ip", "relay-ip"}) {
    for (const auto* s : file.find_all(key)) {
      if (!(p.behind_nat == true && p.public_ipv4 && s->value == *p.public_ipv4 &&
            p.dummy_nic_present != true))
        continue;
      auto& f = sink.add(std::string("coturn-") + key + "-not-local", "critical", *s, p.local_ipv4,
                         std::string(key) + " " + s->value +
                             " is the public address, which is not on this host (it is "
                             "behind NAT): coturn cannot bind it. Bind the private address and map "
                             "it with external-ip.");
      if (p.local_ipv4) f.edits.push_back(replace_value(file, *s, *p.local_ipv4));
    }
  }
  check_port_range(sink, file.find("min-port"), file.find("max-port"), facts, "coturn-relay-range",
                   "min-port-max-port");
  if (const auto* s = file.find("listening-port"))
    check_port(sink, *s, facts, true, "coturn-listening-port", "listening-port");
}

}  // namespace natdiag::profile::config
