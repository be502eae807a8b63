#include "src/profile/advice_rules.hpp"

#include "stun/proto/types.hpp"

namespace natdiag::cli {

bool is(const std::optional<std::string>& value, std::string_view wanted) {
  return value && *value == wanted;
}

bool hostname_is_ip(const ProfileFacts& f) {
  return f.hostname && stun::TransportAddress::parse(*f.hostname).has_value();
}

// /etc/hosts maps the host name to another address on its first matching line.
bool etc_hosts_maps_elsewhere(const ProfileFacts& f) {
  return f.etc_hosts_line && f.etc_hosts_ip && f.public_ipv4 && *f.etc_hosts_ip != *f.public_ipv4;
}

// The host name needs an /etc/hosts change (never for an IP literal).
bool etc_hosts_needed(const ProfileFacts& f) {
  return f.public_ipv4 && f.hostname && !hostname_is_ip(f) &&
         (f.hostname_resolves_to_public == false || etc_hosts_maps_elsewhere(f));
}

// The dummy NIC is needed: hairpin to the measured public address is missing and the address
// is not on this host. Never for an address natdiag did not measure as this host's.
bool dummy_nic_wanted(const ProfileFacts& f) {
  return f.public_ipv4 && !f.hairpin_target_not_public() && f.dummy_nic_present != true &&
         (is(f.hairpin, "not-supported") || is(f.hairpin, "partial"));
}

// The commands that add the public IPv4 as a dummy NIC now (and persist it).
std::vector<std::string> dummy_nic_lines(const ProfileFacts& f) {
  if (!f.public_ipv4) return {};
  // The hairpin plan was for --external-ip, not this address: only the command for the address.
  if (!f.dummy_nic_commands.empty() && !f.hairpin_target_not_public()) return f.dummy_nic_commands;
  return {"ip addr add " + *f.public_ipv4 + "/32 dev lo"};
}

// Why a server's range moved, for the finding and the advice note.
std::string moved_text(const RangeChoice& c) {
  const auto* m = find_media_server_ports(c.name);
  const std::string name = m ? std::string(m->display) : std::string(c.name);
  return name + "'s default UDP range " + c.default_range.text() + " overlaps " + std::string(c.clashes_with) +
         "'s " + c.clash_range.text() + " on this host, so natdiag gives " + name + " " + c.range.text() +
         ": two programs cannot share a port range (whichever binds a port first gets it, the other's "
         "calls or relays fail at random) and a router forwards each port to one place only.";
}

}  // namespace natdiag::cli
