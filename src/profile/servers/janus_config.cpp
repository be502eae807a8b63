// Janus' janus.jcfg (libconfig) against the measured network: what it announces (nat_1_1_mapping,
// STUN), which interfaces it gathers on, and its RTP port range.
#include <algorithm>

#include "src/profile/config/check_support.hpp"
#include "src/profile/servers/config_checkers.hpp"

namespace natdiag::profile::config {
namespace {

std::vector<std::string> comma_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

// Janus matches its ice lists by prefix against interface names and addresses: an item of
// digits and dots (or hex and colons) is an address prefix.
bool address_prefix(const std::string& item) {
  return item.find_first_not_of("0123456789.") == std::string::npos ||
         (item.find(':') != std::string::npos &&
          item.find_first_not_of("0123456789abcdefABCDEF:") == std::string::npos);
}

void check_stun(FindingSink& sink, const ParsedFile& file, const ConfigFacts& facts,
                std::optional<bool>& usable) {
  const auto& p = facts.profile;
  const auto* stun = file.find("nat.stun_server");
  if (stun == nullptr || stun->value.empty()) return;
  const auto* port_setting = file.find("nat.stun_port");
  const auto port =
      port_setting ? port_number(port_setting->value) : std::optional<std::uint16_t>(3478);
  if (!port) {
    sink.add("janus-stun-port-invalid", "warning", *port_setting, std::nullopt,
             "stun_port '" + port_setting->value + "' is not a port number 1-65535.");
    return;
  }
  const auto answered = stun_answered(facts, stun->value, *port);
  if (answered == false) {
    const bool other = p.udp == true && p.stun_server_ip && *p.stun_server_ip != stun->value;
    auto& f = sink.add("janus-stun-unanswered", "critical", *stun,
                       other ? p.stun_server_ip : std::nullopt,
                       "The STUN server " + stun->value + ":" + std::to_string(*port) +
                           " did not answer natdiag. Janus asks it at start-up and refuses to "
                           "start when it does not "
                           "answer (unless ignore_unreachable_ice_server = true), and gets no "
                           "public address from it." +
                           (other ? " The STUN server " + *p.stun_server_ip + ":" +
                                        std::to_string(p.stun_server_port) + " answered natdiag."
                                  : std::string()));
    if (other) {
      f.edits.push_back(replace_value(file, *stun, *p.stun_server_ip));
      if (port_setting && *port != p.stun_server_port) {
        f.edits.push_back(replace_value(file, *port_setting, std::to_string(p.stun_server_port)));
      } else if (!port_setting && p.stun_server_port != 3478) {
        for (auto& e : insert_setting(file, "nat.stun_port", std::to_string(p.stun_server_port)))
          f.edits.push_back(e);
      }
    }
    usable = false;
    return;
  }
  usable = answered;
  if (answered == true && p.stun_server_ip == stun->value && p.stun_rfc3489 == false) {
    sink.add("janus-stun-no-classic", "warning", *stun, std::nullopt,
             "The STUN server " + stun->value +
                 " answers only RFC 5389 Binding requests, and libnice before 0.1.23 "
                 "(Debian 12's Janus uses 0.1.21) asks in the RFC 3489 form: Janus gets no srflx "
                 "candidate from it.");
    usable = false;
  }
}

void check_ice_lists(FindingSink& sink, const ParsedFile& file, const ConfigFacts& facts) {
  const auto& local = facts.profile.local_ipv4;
  if (!local) return;
  const auto* enforce = file.find("nat.ice_enforce_list");
  if (enforce && !enforce->value.empty()) {
    const auto items = comma_list(enforce->value);
    const bool all_addresses = std::all_of(items.begin(), items.end(), address_prefix);
    const bool matches = std::any_of(items.begin(), items.end(),
                                     [&](const std::string& i) { return local->starts_with(i); });
    if (all_addresses && !matches) {
      sink.add("janus-ice-enforce-excludes-local", "critical", *enforce, std::nullopt,
               "ice_enforce_list names only addresses that " + *local +
                   " (this host's address on the way out, as measured) does not start with: Janus "
                   "gathers no "
                   "candidate on it.");
    }
    return;  // Janus does not use the ignore list when an enforce list is set
  }
  const auto* ignore = file.find("nat.ice_ignore_list");
  if (ignore == nullptr) return;
  for (const auto& item : comma_list(ignore->value)) {
    if (address_prefix(item) && local->starts_with(item)) {
      sink.add("janus-ice-ignore-local", "critical", *ignore, std::nullopt,
               "ice_ignore_list has '" + item + "', which matches " + *local +
                   " (this host's address on the way out, as measured): Janus gathers no candidate "
                   "on it.");
      return;
    }
  }
}

void check_port_range_text(FindingSink& sink, const ParsedFile& file, const ConfigFacts& facts) {
  const auto* range = file.find("media.rtp_port_range");
  if (range == nullptr) return;
  const auto dash = range->value.find('-');
  const auto first =
      dash == std::string::npos ? std::nullopt : port_number(range->value.substr(0, dash));
  const auto last =
      dash == std::string::npos ? std::nullopt : port_number(range->value.substr(dash + 1));
  if (!first || !last || *first > *last) {
    sink.add("janus-rtp-port-range-invalid", "warning", *range, std::nullopt,
             "rtp_port_range '" + range->value +
                 "' is not FIRST-LAST with 1 <= FIRST <= LAST <= 65535.");
    return;
  }
  const cli::PortRange r{*first, *last};
  if (auto closed = ports_not_open(facts, r, true)) {
    sink.add("janus-rtp-port-range-not-open", "warning", *range, std::nullopt,
             "rtp_port_range " + r.text() +
                 " is not open from the Internet as natdiag measured it: " + *closed +
                 ". Media on those ports never arrives: open and forward them to this host.");
  }
}

}  // namespace

void check_janus(const ParsedFile& file, const ConfigFacts& facts, const ConfigFileKind& kind,
                 std::vector<ConfigFinding>& out) {
  FindingSink sink(file, kind.server, out);
  const auto& p = facts.profile;
  std::optional<bool> stun_usable;
  check_stun(sink, file, facts, stun_usable);
  const auto* mapping = file.find("nat.nat_1_1_mapping");
  const auto* turn = file.find("nat.turn_server");
  const auto* turn_api = file.find("nat.turn_rest_api");
  const bool has_turn = (turn && !turn->value.empty()) || (turn_api && !turn_api->value.empty());
  if (mapping && !mapping->value.empty()) {
    const auto items = comma_list(mapping->value);
    if (items.size() == 1) {
      check_public_ipv4(sink, *mapping, facts, "janus-nat-1-1-mapping", "nat_1_1_mapping");
    } else if (p.public_ipv4 &&
               std::find(items.begin(), items.end(), *p.public_ipv4) == items.end()) {
      sink.add("janus-nat-1-1-mapping-stale", "critical", *mapping, std::nullopt,
               "None of the addresses in nat_1_1_mapping is this host's public address " +
                   *p.public_ipv4 + " (measured): peers are told addresses that do not reach it.");
    }
  } else if (p.behind_nat == true && stun_usable != true && !has_turn) {
    const std::string local = p.local_ipv4 ? " (" + *p.local_ipv4 + ")" : "";
    const std::string why =
        "This host is behind NAT and Janus has no nat_1_1_mapping" +
        std::string(file.find("nat.stun_server")
                        ? ", no STUN server that gives it the public address"
                        : ", no stun_server") +
        " and no TURN server: it will announce only its private address" + local +
        " in its ICE candidates, which peers on the Internet cannot reach." +
        (p.public_ipv4
             ? " nat_1_1_mapping makes it announce the measured public address " + *p.public_ipv4 +
                   "."
             : " natdiag has not measured the public address, so it cannot say what to write.");
    sink.missing(
        "janus-private-only", "critical", "nat.nat_1_1_mapping", p.public_ipv4,
        p.public_ipv4 ? std::optional<std::string>("\"" + *p.public_ipv4 + "\"") : std::nullopt,
        why);
  }
  const auto* keep = file.find("nat.keep_private_host");
  if (keep && keep->value == "true" && !(mapping && !mapping->value.empty())) {
    sink.add("janus-keep-private-host-unused", "info", *keep, std::nullopt,
             "keep_private_host only matters with nat_1_1_mapping, which is not set.");
  }
  // janus.jcfg: "keep ICE Lite disabled [with a 1:1 NAT], as it's not strictly speaking a
  // publicly reachable server, and a NAT is still involved".
  const auto* lite = file.find("nat.ice_lite");
  if (lite && lite->value == "true" && p.behind_nat == true) {
    auto& f = sink.add("janus-ice-lite-behind-nat", "warning", *lite, std::string("false"),
                       "ice_lite is on, but this host is behind NAT (measured): an ICE Lite agent "
                       "never sends connectivity checks, so it cannot open the NAT towards peers; "
                       "Janus' own janus.jcfg says to keep ICE Lite disabled behind a NAT.");
    f.edits.push_back(replace_value(file, *lite, "false"));
  }
  check_ice_lists(sink, file, facts);
  check_port_range_text(sink, file, facts);
}

}  // namespace natdiag::profile::config
