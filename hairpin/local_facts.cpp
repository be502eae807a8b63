#include "hairpin/local_facts.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <system_error>

#include "stun/net/resolver.hpp"

namespace natdiag::hairpin {
namespace {

namespace fs = std::filesystem;

/// `root` joined with an absolute path such as "/etc/hosts".
fs::path under(const fs::path& root, std::string_view absolute) {
  return root / fs::path(absolute).relative_path();
}

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Regular files in `dir` whose name ends in one of `suffixes` (all of them when empty), sorted.
std::vector<fs::path> files_in(const fs::path& dir,
                               std::initializer_list<std::string_view> suffixes) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const auto name = it->path().filename().string();
    const bool match =
        suffixes.size() == 0 || std::any_of(suffixes.begin(), suffixes.end(),
                                            [&](std::string_view s) { return name.ends_with(s); });
    if (match) out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

/// interfaces(5): a stanza starts with iface, auto, allow-*, mapping or source.
bool has_ifupdown_stanza(std::string_view text) {
  std::istringstream lines{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    std::istringstream words(line);
    std::string first;
    words >> first;
    if (first == "iface" || first == "auto" || first.starts_with("allow-")) return true;
  }
  return false;
}

std::string shown(const fs::path& root, const fs::path& path) {
  std::string out = path.lexically_relative(root).string();
  out.insert(out.begin(), '/');  // (not "/" + string: GCC 12 warns a false -Wrestrict there)
  return out;
}

}  // namespace

bool LocalAddressFacts::dummy_nic() const noexcept {
  return on_interface && (on_interface->loopback || on_interface->interface.starts_with("dummy"));
}

LocalAddressFacts find_external_ip(const TransportAddress& external_ip) {
  return {net::find_local_address(external_ip)};
}

std::string_view stack_name(NetworkStack stack) noexcept {
  switch (stack) {
    case NetworkStack::kIfupdown: return "ifupdown";
    case NetworkStack::kNetplan: return "netplan";
    case NetworkStack::kSystemdNetworkd: return "systemd-networkd";
    case NetworkStack::kNetworkManager: return "networkmanager";
    case NetworkStack::kUnknown: break;
  }
  return "unknown";
}

StackFacts detect_network_stack(const fs::path& root) {
  std::error_code ec;
  if (auto yaml = files_in(under(root, "/etc/netplan"), {".yaml", ".yml"}); !yaml.empty()) {
    return {NetworkStack::kNetplan, shown(root, yaml.front()) + " exists"};
  }
  if (fs::is_directory(under(root, "/run/NetworkManager"), ec)) {
    return {NetworkStack::kNetworkManager,
            "NetworkManager is running (/run/NetworkManager exists)"};
  }
  if (auto units = files_in(under(root, "/etc/systemd/network"), {".network"}); !units.empty()) {
    return {NetworkStack::kSystemdNetworkd, shown(root, units.front()) + " exists"};
  }
  const auto interfaces = under(root, "/etc/network/interfaces");
  if (auto text = read_file(interfaces); text && has_ifupdown_stanza(*text)) {
    return {NetworkStack::kIfupdown, "/etc/network/interfaces configures interfaces"};
  }
  if (!files_in(under(root, "/etc/network/interfaces.d"), {}).empty()) {
    return {NetworkStack::kIfupdown, "/etc/network/interfaces.d/ has files"};
  }
  if (fs::exists(under(root, "/etc/NetworkManager/NetworkManager.conf"), ec) ||
      !files_in(under(root, "/etc/NetworkManager/system-connections"), {}).empty()) {
    return {NetworkStack::kNetworkManager, "NetworkManager is installed (/etc/NetworkManager)"};
  }
  return {NetworkStack::kUnknown,
          "none of /etc/netplan/*.yaml, /run/NetworkManager, /etc/systemd/network/*.network, "
          "/etc/network/interfaces stanzas or /etc/NetworkManager was found"};
}

std::optional<bool> address_persisted(const fs::path& root, NetworkStack stack,
                                      const TransportAddress& ip) {
  std::vector<fs::path> files;
  switch (stack) {
    case NetworkStack::kIfupdown:
      files = files_in(under(root, "/etc/network/interfaces.d"), {});
      files.insert(files.begin(), under(root, "/etc/network/interfaces"));
      break;
    case NetworkStack::kNetplan:
      files = files_in(under(root, "/etc/netplan"), {".yaml", ".yml"});
      break;
    case NetworkStack::kSystemdNetworkd:
      files = files_in(under(root, "/etc/systemd/network"), {".network"});
      break;
    case NetworkStack::kNetworkManager:
      files = files_in(under(root, "/etc/NetworkManager/system-connections"), {});
      break;
    case NetworkStack::kUnknown: return std::nullopt;
  }
  const std::string needle = ip.ip_string();
  bool readable = false;
  for (const auto& file : files) {
    const auto text = read_file(file);
    if (!text) continue;
    readable = true;
    // "203.0.113.1" must not match inside "203.0.113.10".
    for (auto at = text->find(needle); at != std::string::npos; at = text->find(needle, at + 1)) {
      const auto after = at + needle.size();
      const bool left_ok = at == 0 || !(std::isalnum(static_cast<unsigned char>((*text)[at - 1])) ||
                                        (*text)[at - 1] == '.' || (*text)[at - 1] == ':');
      const bool right_ok =
          after >= text->size() ||
          !(std::isalnum(static_cast<unsigned char>((*text)[after])) || (*text)[after] == ':' ||
            ((*text)[after] == '.' && after + 1 < text->size() &&
             std::isdigit(static_cast<unsigned char>((*text)[after + 1]))));
      if (left_ok && right_ok) return true;
    }
  }
  if (!readable) return std::nullopt;
  return false;
}

std::vector<HostsEntry> parse_hosts(std::string_view text) {
  std::vector<HostsEntry> entries;
  std::istringstream lines{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    std::istringstream words(line);
    std::string address;
    if (!(words >> address)) continue;
    const auto ip = TransportAddress::parse(address);
    if (!ip || address.find(']') != std::string::npos ||
        (ip->family == stun::Family::kIPv4 && address.find(':') != std::string::npos))
      continue;
    HostsEntry entry{*ip, {}, number};
    for (std::string name; words >> name;) entry.names.push_back(name);
    if (!entry.names.empty()) entries.push_back(std::move(entry));
  }
  return entries;
}

std::vector<TransportAddress> hosts_addresses(const std::vector<HostsEntry>& entries,
                                              std::string_view name) {
  std::vector<TransportAddress> out;
  const auto wanted = lowercase(name);
  for (const auto& entry : entries) {
    for (const auto& n : entry.names) {
      if (lowercase(n) == wanted) {
        out.push_back(entry.ip);
        break;
      }
    }
  }
  return out;
}

HostnameFacts check_hostname(const std::string& name, const TransportAddress& external_ip,
                             const fs::path& root, stun::TimePoint deadline) {
  HostnameFacts facts;
  facts.name = name;
  facts.is_ip = TransportAddress::parse(name).has_value();
  if (auto text = read_file(under(root, "/etc/hosts"))) {
    const auto entries = parse_hosts(*text);
    facts.etc_hosts = hosts_addresses(entries, name);
    const auto wanted = lowercase(name);
    for (const auto& entry : entries) {
      if (entry.ip.family != external_ip.family) continue;
      const bool names_it = std::any_of(entry.names.begin(), entry.names.end(),
                                        [&](const std::string& n) { return lowercase(n) == wanted; });
      if (names_it) {
        facts.first_entry = entry;
        break;
      }
    }
  }
  const auto resolution = net::resolve(name, 0, net::FamilyPreference::kAny, deadline);
  for (auto a : resolution.addresses) {
    a.port = 0;
    if (std::find(facts.resolves_to.begin(), facts.resolves_to.end(), a) == facts.resolves_to.end())
      facts.resolves_to.push_back(a);
  }
  facts.error = resolution.error;
  // Clients connect to the first address of the family (the first /etc/hosts line that names
  // it comes first): a right address further down does not help them.
  const auto first = std::find_if(facts.resolves_to.begin(), facts.resolves_to.end(),
                                  [&](const TransportAddress& a) { return a.family == external_ip.family; });
  facts.ok = first != facts.resolves_to.end() && first->same_ip(external_ip);
  return facts;
}

}  // namespace natdiag::hairpin
