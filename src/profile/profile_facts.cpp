#include "src/profile/profile_facts.hpp"

#include <algorithm>
#include <cctype>
#include <span>

#include "hairpin/advice.hpp"
#include "src/cli_common.hpp"
#include "stun/net/endpoint.hpp"

namespace natdiag::cli {
namespace {

template <typename T>
nlohmann::json opt(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

constexpr std::string_view kBehaviours[] = {"endpoint-independent", "address-dependent",
                                            "address-and-port-dependent", "direct", "unknown"};
// What facts_of writes: hairpin's verdict, "not-needed" read as "supported".
// rfc5780::unknown_why_name's values.
constexpr std::string_view kUnknownWhy[] = {"no-answer",        "time-ran-out",   "no-other-address",
                                            "alternate-silent", "recheck-disagrees", "recheck-failed",
                                            "one-server",       "servers-share-ip", "need-second-port"};
constexpr std::string_view kUdpErrors[] = {"timeout", "refused-by-server", "refused-on-path", "other"};
constexpr std::string_view kHairpinResults[] = {"supported", "partial", "not-supported", "inconclusive"};
constexpr std::string_view kStacks[] = {"ifupdown", "netplan", "systemd-networkd", "networkmanager", "unknown"};
constexpr std::string_view kTurnProblems[] = {"ok", "auth-failed", "refused", "unreachable"};
constexpr std::string_view kPortsErrors[] = {"unreachable", "refused", "unresolved", "cannot-listen", "failed"};
constexpr std::size_t kMaxTextLength = 500;

// An IP address alone: no port, no brackets.
bool is_plain_ip(const std::string& text) {
  const auto parsed = stun::TransportAddress::parse(text);
  // One colon before an IPv4 address is a port; ::ffff:a.b.c.d has more and is a.b.c.d.
  return parsed && text.find_first_of("[]") == std::string::npos &&
         (parsed->family == stun::Family::kIPv6 || std::count(text.begin(), text.end(), ':') != 1);
}

// Reads one fact at a time from the saved `facts` object; every getter validates and names the
// field on failure. The value quoted in a message is its JSON form, cut short: a newline or a
// quote from the file never reaches the terminal raw.
class FactReader {
 public:
  explicit FactReader(const nlohmann::json& facts) : facts_(facts) {}

  std::optional<bool> optional_bool(const char* key) const {
    const auto& v = present(key);
    if (v.is_null()) return std::nullopt;
    if (!v.is_boolean()) fail(key, "must be true, false or null", v);
    return v.get<bool>();
  }
  bool required_bool(const char* key) const {
    const auto v = optional_bool(key);
    if (!v) fail(key, "must be true or false", present(key));
    return *v;
  }
  std::optional<std::string> optional_enum(const char* key, std::span<const std::string_view> allowed) const {
    const auto& v = present(key);
    if (v.is_null()) return std::nullopt;
    const auto* text = v.get_ptr<const std::string*>();
    if (text == nullptr || std::find(allowed.begin(), allowed.end(), *text) == allowed.end()) {
      std::string list;
      for (const auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      fail(key, "must be one of " + list + " or null", v);
    }
    return *text;
  }
  std::string required_enum(const char* key, std::span<const std::string_view> allowed) const {
    const auto v = optional_enum(key, allowed);
    if (!v) fail(key, "must not be null", present(key));
    return *v;
  }
  /// An IP address without a port, in the family asked for (nullopt: either), as inet_pton
  /// reads it; returned in its canonical form.
  std::optional<std::string> optional_ip(const char* key, std::optional<stun::Family> family) const {
    const auto& v = present(key);
    if (v.is_null()) return std::nullopt;
    const auto* text = v.get_ptr<const std::string*>();
    const auto parsed = text && is_plain_ip(*text) ? stun::TransportAddress::parse(*text) : std::nullopt;
    if (!parsed || (family && parsed->family != *family)) {
      fail(key, std::string("must be an ") + (!family ? "IP" : *family == stun::Family::kIPv4 ? "IPv4" : "IPv6") +
                    " address or null",
           v);
    }
    return parsed->ip_string();
  }
  /// A host name (RFC 1123 syntax) or an IP address, as --hostname takes it.
  std::optional<std::string> optional_host(const char* key) const {
    const auto& v = present(key);
    if (v.is_null()) return std::nullopt;
    const auto* text = v.get_ptr<const std::string*>();
    if (text == nullptr || !(net::is_host_name(*text) || is_plain_ip(*text))) {
      fail(key, "must be a host name (letters, digits, '-', '.') or null", v);
    }
    return *text;
  }
  /// One line of text for people (an error message): no control characters.
  std::optional<std::string> optional_text(const char* key) const {
    const auto& v = present(key);
    if (v.is_null()) return std::nullopt;
    const auto* text = v.get_ptr<const std::string*>();
    const bool ok = text && text->size() <= kMaxTextLength &&
                    std::none_of(text->begin(), text->end(), [](char c) {
                      const auto u = static_cast<unsigned char>(c);
                      return u < 0x20 || u == 0x7f;
                    });
    if (!ok) fail(key, "must be one line of text (at most 500 characters) or null", v);
    return *text;
  }
  /// A list of at most 5 values from `allowed` (null reads as empty).
  std::vector<std::string> enum_list(const char* key, std::span<const std::string_view> allowed) const {
    const auto& v = present(key);
    if (v.is_null()) return {};
    if (!v.is_array() || v.size() > 5) fail(key, "must be a list of behaviour names", v);
    std::vector<std::string> out;
    for (const auto& item : v) {
      const auto* text = item.get_ptr<const std::string*>();
      if (text == nullptr || std::find(allowed.begin(), allowed.end(), *text) == allowed.end()) {
        fail(key, "must hold behaviour names only", item);
      }
      out.push_back(*text);
    }
    return out;
  }
  /// The port states `profile --via` measured: at most 1,024 ranges of
  /// {family, protocol, first, last, state}, each field validated.
  std::vector<MeasuredPortRange> port_ranges(const char* key) const {
    static constexpr std::string_view kFamilies[] = {"ipv4", "ipv6"};
    static constexpr std::string_view kProtocols[] = {"tcp", "udp"};
    static constexpr std::string_view kStates[] = {
        "open", "closed", "filtered", "in-use", "answered-by-other", "untested"};
    const auto& v = present(key);
    if (!v.is_array() || v.size() > 1024) fail(key, "must be a list of at most 1024 port ranges", v);
    auto one_of = [&](const nlohmann::json& item, const char* field, std::span<const std::string_view> allowed) {
      const auto* text = item.contains(field) ? item[field].get_ptr<const std::string*>() : nullptr;
      if (text == nullptr || std::find(allowed.begin(), allowed.end(), *text) == allowed.end()) {
        fail(key, std::string("entries need a valid '") + field + "'", item);
      }
      return *text;
    };
    auto port = [&](const nlohmann::json& item, const char* field) {
      if (!item.contains(field) || !item[field].is_number_integer() || item[field].get<std::int64_t>() < 1 ||
          item[field].get<std::int64_t>() > 65535) {
        fail(key, std::string("entries need '") + field + "' from 1 to 65535", item);
      }
      return static_cast<std::uint16_t>(item[field].get<std::int64_t>());
    };
    std::vector<MeasuredPortRange> out;
    for (const auto& item : v) {
      if (!item.is_object()) fail(key, "entries must be objects", item);
      MeasuredPortRange r{one_of(item, "family", kFamilies), one_of(item, "protocol", kProtocols),
                          port(item, "first"), port(item, "last"), one_of(item, "state", kStates)};
      if (r.last < r.first) fail(key, "a range must not go down", item);
      out.push_back(std::move(r));
    }
    return out;
  }
  /// A positive whole number or null (a line number).
  std::optional<int> optional_line(const char* key) const {
    const auto& v = present(key);
    if (v.is_null()) return std::nullopt;
    if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > 1000000) {
      fail(key, "must be a line number from 1 or null", v);
    }
    return static_cast<int>(v.get<std::int64_t>());
  }
  /// A list of "TCP 443" / "UDP 3478": protocol and port, validated and written anew.
  std::vector<std::string> protocol_ports(const char* key) const {
    const auto& v = present(key);
    if (!v.is_array() || v.size() > 16) fail(key, "must be a list of at most 16 \"TCP 443\" entries", v);
    std::vector<std::string> out;
    for (const auto& item : v) {
      const auto* text = item.get_ptr<const std::string*>();
      std::optional<std::string> entry;
      if (text != nullptr && text->size() >= 5 && text->size() <= 9 && (text->starts_with("TCP ") || text->starts_with("UDP "))) {
        const std::string digits = text->substr(4);
        const bool numeric = std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (numeric && digits.size() <= 5) {
          const long port = std::stol(digits);
          if (port >= 1 && port <= 65535) entry = text->substr(0, 4) + std::to_string(port);
        }
      }
      if (!entry) fail(key, "must hold entries like \"TCP 443\"", item);
      out.push_back(*entry);
    }
    return out;
  }
  std::uint16_t port(const char* key) const {
    const auto& v = present(key);
    if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > 65535) {
      fail(key, "must be a port from 1 to 65535", v);
    }
    return static_cast<std::uint16_t>(v.get<std::int64_t>());
  }

 private:
  const nlohmann::json& present(const char* key) const {
    const auto it = facts_.find(key);
    if (it == facts_.end()) {
      throw UsageError(ErrorKind::kBadValue,
                       std::string("saved profile: facts.") + key + " is missing (an incomplete or older file: run natdiag profile --json again)",
                       std::string("facts.") + key);
    }
    return *it;
  }
  // The bad value, quoted when it is short and harmless to print (a number, a word, an address);
  // otherwise only what it is: text from the file never reaches the output unvalidated.
  static std::string describe(const nlohmann::json& value) {
    if (value.is_string()) {
      const auto& text = value.get_ref<const std::string&>();
      const bool plain = !text.empty() && text.size() <= 64 && std::all_of(text.begin(), text.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == ':' || c == '-' || c == '_';
      });
      return plain ? "\"" + text + "\"" : "a string of " + std::to_string(text.size()) + " characters that is not one";
    }
    if (value.is_array()) return "an array";
    if (value.is_object()) return "an object";
    return value.dump();  // a number, true, false or null
  }
  [[noreturn]] static void fail(const char* key, const std::string& problem, const nlohmann::json& value) {
    const std::string shown = describe(value);
    throw UsageError(ErrorKind::kBadValue, std::string("saved profile: facts.") + key + " " + problem + ", got " + shown,
                     shown);
  }

  const nlohmann::json& facts_;
};

}  // namespace

std::optional<hairpin::NetworkStack> parse_network_stack(std::string_view name) {
  for (const auto stack : {hairpin::NetworkStack::kUnknown, hairpin::NetworkStack::kIfupdown,
                           hairpin::NetworkStack::kNetplan, hairpin::NetworkStack::kSystemdNetworkd,
                           hairpin::NetworkStack::kNetworkManager}) {
    if (hairpin::stack_name(stack) == name) return stack;
  }
  return std::nullopt;
}

std::vector<std::string> dummy_nic_commands_for(const stun::TransportAddress& ip, hairpin::NetworkStack stack) {
  auto plan = hairpin::dummy_nic_plan(ip, stack);
  std::vector<std::string> out = plan.commands;
  auto persist = plan.persist;
  if (!persist) persist = hairpin::dummy_nic_plan(ip, hairpin::NetworkStack::kIfupdown).persist;
  if (persist) {
    if (!persist->file.empty()) {
      out.push_back("# to keep it after a reboot, in " + persist->file +
                    (persist->where.empty() ? "" : ", " + persist->where) + ":");
      for (const auto& line : persist->lines) out.push_back(line);
    }
    for (const auto& c : persist->commands) out.push_back(c);
  }
  return out;
}

void facts_to_json(const ProfileFacts& f, nlohmann::ordered_json& out) {
  out["facts"] = {{"public_ipv4", opt(f.public_ipv4)},
                  {"mapped_private", opt(f.mapped_private)},
                  {"public_ipv6", opt(f.public_ipv6)},
                  {"local_ipv4", opt(f.local_ipv4)},
                  {"behind_nat", opt(f.behind_nat)},
                  {"mapping", f.mapping},
                  {"mapping_candidates", f.mapping_candidates},
                  {"mapping_unknown", opt(f.mapping_unknown)},
                  {"filtering", f.filtering},
                  {"udp", opt(f.udp)},
                  {"udp_error", opt(f.udp_error)},
                  {"tcp", opt(f.tcp)},
                  {"hairpin", opt(f.hairpin)},
                  {"dummy_nic_present", opt(f.dummy_nic_present)},
                  {"external_ip", opt(f.external_ip)},
                  {"network_stack", opt(f.network_stack)},
                  {"stun_error", opt(f.stun_error)},
                  {"default_servers", f.default_servers},
                  {"stun_server_ip", opt(f.stun_server_ip)},
                  {"stun_server_port", f.stun_server_port},
                  {"hostname", opt(f.hostname)},
                  {"hostname_resolves_to_public", opt(f.hostname_resolves_to_public)},
                  {"turn_configured", f.turn_configured},
                  {"turn_relay", opt(f.turn_relay)},
                  {"turn_problem", opt(f.turn_problem)},
                  {"relay_address", opt(f.relay_address)},
                  {"stun_rfc3489", opt(f.stun_rfc3489)},
                  {"host_ipv6", opt(f.host_ipv6)},
                  {"ipv6_udp", opt(f.ipv6_udp)},
                  {"ipv6_behind_nat", opt(f.ipv6_behind_nat)},
                  {"hairpin_target", opt(f.hairpin_target)},
                  {"hairpin_untested", f.hairpin_untested},
                  {"etc_hosts_line", opt(f.etc_hosts_line)},
                  {"etc_hosts_ip", opt(f.etc_hosts_ip)},
                  {"ports_measured", nlohmann::ordered_json::array()},
                  {"ports_error", opt(f.ports_error)}};
  for (const auto& r : f.ports_measured) {
    out["facts"]["ports_measured"].push_back(
        {{"family", r.family}, {"protocol", r.protocol}, {"first", r.first}, {"last", r.last}, {"state", r.state}});
  }
}

ProfileFacts facts_from_json(const nlohmann::json& profile) {
  if (!profile.is_object() || profile.value("schema", "") != kSchema || profile.value("command", "") != "profile") {
    throw UsageError(ErrorKind::kBadValue,
                     "not a saved natdiag profile (expected \"schema\": \"natdiag/1\" and \"command\": \"profile\")");
  }
  if (!profile.contains("facts") || !profile["facts"].is_object()) {
    throw UsageError(ErrorKind::kBadValue, "saved profile has no 'facts' object", "facts");
  }
  const FactReader r(profile["facts"]);
  using stun::Family;
  ProfileFacts f;
  f.public_ipv4 = r.optional_ip("public_ipv4", Family::kIPv4);
  f.mapped_private = r.optional_ip("mapped_private", std::nullopt);
  // A private public address is what a STUN server inside the NAT reports: never advice.
  if (f.public_ipv4 && net::is_private_or_local(*stun::TransportAddress::parse(*f.public_ipv4))) {
    throw UsageError(ErrorKind::kBadValue,
                     "saved profile: facts.public_ipv4 " + *f.public_ipv4 +
                         " is a private address (a profile writes it as mapped_private)",
                     "facts.public_ipv4");
  }
  f.public_ipv6 = r.optional_ip("public_ipv6", Family::kIPv6);
  f.local_ipv4 = r.optional_ip("local_ipv4", Family::kIPv4);
  f.behind_nat = r.optional_bool("behind_nat");
  f.mapping = r.required_enum("mapping", kBehaviours);
  f.mapping_candidates = r.enum_list("mapping_candidates", kBehaviours);
  f.mapping_unknown = r.optional_enum("mapping_unknown", kUnknownWhy);
  f.filtering = r.required_enum("filtering", kBehaviours);
  f.udp = r.optional_bool("udp");
  f.udp_error = r.optional_enum("udp_error", kUdpErrors);
  f.tcp = r.optional_bool("tcp");
  f.hairpin = r.optional_enum("hairpin", kHairpinResults);
  f.dummy_nic_present = r.optional_bool("dummy_nic_present");
  f.external_ip = r.optional_ip("external_ip", std::nullopt);
  f.network_stack = r.optional_enum("network_stack", kStacks);
  f.stun_error = r.optional_text("stun_error");
  f.default_servers = r.required_bool("default_servers");
  f.stun_server_ip = r.optional_ip("stun_server_ip", std::nullopt);
  f.stun_server_port = r.port("stun_server_port");
  f.hostname = r.optional_host("hostname");
  f.hostname_resolves_to_public = r.optional_bool("hostname_resolves_to_public");
  f.turn_configured = r.required_bool("turn_configured");
  f.turn_relay = r.optional_bool("turn_relay");
  f.turn_problem = r.optional_enum("turn_problem", kTurnProblems);
  f.relay_address = r.optional_ip("relay_address", std::nullopt);
  f.stun_rfc3489 = r.optional_bool("stun_rfc3489");
  f.host_ipv6 = r.optional_ip("host_ipv6", Family::kIPv6);
  f.ipv6_udp = r.optional_bool("ipv6_udp");
  f.ipv6_behind_nat = r.optional_bool("ipv6_behind_nat");
  f.hairpin_target = r.optional_ip("hairpin_target", std::nullopt);
  f.hairpin_untested = r.protocol_ports("hairpin_untested");
  f.etc_hosts_line = r.optional_line("etc_hosts_line");
  f.etc_hosts_ip = r.optional_ip("etc_hosts_ip", std::nullopt);
  f.ports_measured = r.port_ranges("ports_measured");
  f.ports_error = r.optional_enum("ports_error", kPortsErrors);
  // A hairpin result comes with the address it was measured against and the stack the dummy
  // NIC commands are for: the commands are made here, from those two, never read.
  if (f.hairpin && (!f.external_ip || !f.network_stack)) {
    throw UsageError(ErrorKind::kBadValue,
                     std::string("saved profile: facts.hairpin is set but facts.") +
                         (!f.external_ip ? "external_ip" : "network_stack") + " is null",
                     !f.external_ip ? "facts.external_ip" : "facts.network_stack");
  }
  if (f.hairpin) {
    f.dummy_nic_commands = dummy_nic_commands_for(*stun::TransportAddress::parse(*f.external_ip),
                                                  *parse_network_stack(*f.network_stack));
  }
  return f;
}

}  // namespace natdiag::cli
