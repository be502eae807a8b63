// What this host already has: EXTERNAL_IP on an interface (a "dummy NIC"), the server's host
// name in /etc/hosts, and which network stack would persist an address across reboots. Files
// are read below an injectable root directory so unit tests can use a fake tree.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stun/net/interfaces.hpp"
#include "stun/proto/retransmit.hpp"
#include "stun/proto/types.hpp"

namespace natdiag::hairpin {

using stun::TransportAddress;

/// Where EXTERNAL_IP sits on this host, if anywhere.
struct LocalAddressFacts {
  std::optional<net::InterfaceAddress> on_interface;  ///< the interface that carries it
  /// On lo or a dummy interface: the BigBlueButton "dummy NIC" workaround is in place.
  [[nodiscard]] bool dummy_nic() const noexcept;
  /// On an ordinary interface: this host owns the public address, no NAT in between.
  [[nodiscard]] bool direct() const noexcept { return on_interface && !dummy_nic(); }
};

/// Looks EXTERNAL_IP up among this host's interface addresses.
[[nodiscard]] LocalAddressFacts find_external_ip(const TransportAddress& external_ip);

/// The tools that configure addresses at boot.
enum class NetworkStack : std::uint8_t {
  kUnknown,
  kIfupdown,
  kNetplan,
  kSystemdNetworkd,
  kNetworkManager
};

/// "ifupdown", "netplan", "systemd-networkd", "networkmanager"; "unknown".
[[nodiscard]] std::string_view stack_name(NetworkStack stack) noexcept;

/// The detected stack and what gave it away.
struct StackFacts {
  NetworkStack stack = NetworkStack::kUnknown;
  std::string evidence;  ///< "/etc/netplan/50-cloud-init.yaml exists", for --explain
};

/// Detects the stack from files below `root` ("/" on a real host). Netplan wins when present
/// (it renders for NetworkManager or networkd), then a running NetworkManager, networkd
/// .network files, ifupdown stanzas, and an installed NetworkManager.
[[nodiscard]] StackFacts detect_network_stack(const std::filesystem::path& root);

/// Whether the stack's configuration below `root` mentions `ip` (so it survives a reboot);
/// nullopt when the stack is unknown or its files cannot be read.
[[nodiscard]] std::optional<bool> address_persisted(const std::filesystem::path& root,
                                                    NetworkStack stack, const TransportAddress& ip);

/// One line of /etc/hosts.
struct HostsEntry {
  TransportAddress ip;
  std::vector<std::string> names;  ///< canonical name first, then aliases
  int line = 0;                    ///< 1-based line number in the file
};

/// Parses /etc/hosts text (hosts(5)): comments, blank and malformed lines are skipped.
[[nodiscard]] std::vector<HostsEntry> parse_hosts(std::string_view text);
/// The addresses /etc/hosts gives `name` (case-insensitive), in file order.
[[nodiscard]] std::vector<TransportAddress> hosts_addresses(const std::vector<HostsEntry>& entries,
                                                            std::string_view name);

/// How --hostname resolves on this host.
struct HostnameFacts {
  std::string name;
  std::vector<TransportAddress> resolves_to;  ///< getaddrinfo's answer (/etc/hosts, then DNS)
  std::vector<TransportAddress> etc_hosts;    ///< what /etc/hosts alone says
  /// The first /etc/hosts line that names it with an address of EXTERNAL_IP's family: the one
  /// the resolver uses (the first match wins).
  std::optional<HostsEntry> first_entry;
  std::string error;                          ///< when it does not resolve at all
  bool ok = false;  ///< its first address of EXTERNAL_IP's family is EXTERNAL_IP
  bool is_ip = false;                         ///< the "name" is an IP address literal
};

/// Resolves `name` (getaddrinfo, which reads /etc/hosts first) and reads `root`/etc/hosts.
[[nodiscard]] HostnameFacts check_hostname(const std::string& name,
                                           const TransportAddress& external_ip,
                                           const std::filesystem::path& root,
                                           stun::TimePoint deadline);

}  // namespace natdiag::hairpin
