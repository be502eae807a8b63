#include "src/profile/servers/jitsi_config.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "src/profile/config/announced.hpp"
#include "src/profile/config/hocon.hpp"
#include "src/profile/config/properties.hpp"
#include "src/profile/servers/config_checkers.hpp"

namespace natdiag::profile {
namespace {

using config::ConfigFinding;
using config::LineEdit;
using config::Setting;

constexpr std::string_view kLocalKey = "org.ice4j.ice.harvest.NAT_HARVESTER_LOCAL_ADDRESS";
constexpr std::string_view kPublicKey = "org.ice4j.ice.harvest.NAT_HARVESTER_PUBLIC_ADDRESS";
constexpr std::string_view kStunKey = "org.ice4j.ice.harvest.STUN_MAPPING_HARVESTER_ADDRESSES";
constexpr std::string_view kPortKey = "org.jitsi.videobridge.SINGLE_PORT_HARVESTER_PORT";
constexpr std::string_view kMappings = "ice4j.harvest.mapping.static-mappings.";
constexpr std::string_view kStunAddresses = "ice4j.harvest.mapping.stun.addresses.";

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// STUN_MAPPING_HARVESTER_ADDRESSES: "host:port" entries separated by commas.
std::vector<std::string> split_list(std::string_view value) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= value.size()) {
    const auto comma = value.find(',', start);
    auto entry = trim(value.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (!entry.empty()) out.push_back(std::move(entry));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

// One STUN server the mapping harvester asks, and the setting that names it.
struct StunEntry {
  const Setting* setting;
  std::string address;
};

class Checker {
 public:
  Checker(const config::ParsedFile& file, const cli::ProfileFacts& facts,
          const config::Measurements& measured)
      : file_(file), f_(facts), m_(measured) {}

  std::vector<ConfigFinding> run() {
    if (file_.error) return {};
    if (file_.syntax == "hocon") {
      hocon();
    } else {
      const Setting* local = file_.find(kLocalKey);
      const Setting* pub = file_.find(kPublicKey);
      if (local || pub) mapping(local, pub, std::string(kLocalKey), std::string(kPublicKey));
      if (const Setting* s = file_.find(kStunKey)) {
        std::vector<StunEntry> entries;
        for (auto& entry : split_list(s->value)) entries.push_back({s, std::move(entry)});
        stun(entries);
      }
      if (const Setting* s = file_.find(kPortKey)) port(*s);
    }
    return std::move(out_);
  }

 private:
  void hocon() {
    std::map<int, std::pair<const Setting*, const Setting*>> mappings;
    std::vector<StunEntry> entries;
    for (const Setting& s : file_.settings) {
      const std::string_view key = s.key;
      if (key.starts_with(kMappings)) {
        const auto rest = key.substr(kMappings.size());
        const auto dot = rest.find('.');
        if (dot == std::string_view::npos) continue;
        int i = 0;
        const auto digits = rest.substr(0, dot);
        if (std::from_chars(digits.data(), digits.data() + digits.size(), i).ptr !=
            digits.data() + digits.size()) {
          continue;
        }
        if (rest.substr(dot + 1) == "local-address") mappings[i].first = &s;
        if (rest.substr(dot + 1) == "public-address") mappings[i].second = &s;
      } else if (key.starts_with(kStunAddresses) &&
                 key.substr(kStunAddresses.size()).find('.') == std::string_view::npos) {
        entries.push_back({&s, s.value});
      } else if (key == "videobridge.ice.udp.port") {
        port(s);
      } else if (key == "include") {
        out_.push_back({"jitsi-include-not-followed",
                        "info",
                        "jitsi",
                        file_.path,
                        s.line,
                        s.key,
                        s.value,
                        std::nullopt,
                        "This file includes " + s.value +
                            "; natdiag did not read it, so settings made there are not checked.",
                        {}});
      }
    }
    for (const auto& [index, pair] : mappings) {
      const std::string base = std::string(kMappings) + std::to_string(index) + ".";
      mapping(pair.first, pair.second, base + "local-address", base + "public-address");
    }
    stun(entries);
  }

  std::optional<LineEdit> edit(const Setting& s, const std::string& value) const {
    const auto index = static_cast<std::size_t>(s.line) - 1;
    if (s.line < 1 || index >= file_.lines.size()) return std::nullopt;
    const auto text = file_.syntax == "hocon"
                          ? config::hocon_replace_value(file_.lines[index], s.key, s.value, value)
                          : config::properties_replace_value(file_.lines[index], value);
    if (!text) return std::nullopt;
    return LineEdit{LineEdit::Kind::replace, s.line, *text};
  }

  void add(const Setting& s, std::string id, std::string severity,
           std::optional<std::string> expected, std::string why,
           std::optional<std::string> written = std::nullopt) {
    ConfigFinding x{std::move(id), std::move(severity), "jitsi",        file_.path, s.line, s.key,
                    s.value,       std::move(expected), std::move(why), {}};
    if (x.expected) {
      if (auto e = edit(s, written.value_or(*x.expected))) x.edits.push_back(*e);
    }
    out_.push_back(std::move(x));
  }

  // A static NAT mapping: ice4j gives every host candidate on `local` a srflx twin on `pub`.
  void mapping(const Setting* local, const Setting* pub, const std::string& local_key,
               const std::string& public_key) {
    if (local && config::plain_ip(local->value) && f_.local_ipv4 &&
        local->value != *f_.local_ipv4) {
      add(*local, "jitsi-nat-local-address-wrong", "warning", f_.local_ipv4,
          local_key + " is " + local->value + ", but this host's address on the way out is " +
              *f_.local_ipv4 + ": ice4j maps only candidates on " + local->value +
              ", so no candidate gets the public address.");
    }
    if (pub) {
      if (const auto p = config::check_announced_ipv4(pub->value, f_)) {
        add(*pub, "jitsi-nat-public-address-" + p->kind, p->severity, f_.public_ipv4,
            public_key + " announces " + p->why);
      }
    }
    if (static_cast<bool>(local) == static_cast<bool>(pub)) return;
    const Setting& present = local ? *local : *pub;
    const std::string& missing_key = local ? public_key : local_key;
    const auto missing = local ? f_.public_ipv4 : f_.local_ipv4;
    ConfigFinding x{
        "jitsi-nat-mapping-incomplete",
        "warning",
        "jitsi",
        file_.path,
        present.line,
        missing_key,
        std::nullopt,
        missing,
        present.key + " is set but " + missing_key +
            " is not: ice4j uses a mapping only with both addresses, so it announces no "
            "public address." +
            (missing ? " natdiag measured " + *missing + "." : ""),
        {}};
    // A properties file takes the missing line after the present one; in jvb.conf the
    // object's layout is not known from one line, so only the value is given.
    if (missing && file_.syntax == "properties") {
      const std::string& line = file_.lines[static_cast<std::size_t>(present.line) - 1];
      const bool crlf = !line.empty() && line.back() == '\r';  // the new line ends like the others
      x.edits.push_back({LineEdit::Kind::insert_after, present.line,
                         missing_key + "=" + *missing + (crlf ? "\r" : "")});
    }
    out_.push_back(std::move(x));
  }

  // The mapping harvester's STUN servers: fine when one is the server that answered here.
  void stun(const std::vector<StunEntry>& entries) {
    if (entries.empty()) return;
    std::optional<config::StunProblem> problem;
    std::string names;
    for (const auto& e : entries) {
      const auto hp = config::split_host_port(e.address);
      auto p = config::check_stun_server(hp.host, hp.port, f_, m_);
      if (!p) return;
      // The worst of them speaks for the list: one that did not answer over one not asked.
      if (!problem || (p->severity == "warning" && problem->severity != "warning")) {
        problem = std::move(p);
      }
      names += (names.empty() ? "" : ", ") + e.address;
    }
    // Replaced only when none of them answered natdiag: one it did not ask may well answer.
    const auto answered =
        problem->kind == "unanswered" ? config::answered_stun_server(f_) : std::nullopt;
    const Setting& first = *entries.front().setting;
    std::optional<std::string> written;
    if (answered && file_.syntax == "properties") {
      // The first entry of the list becomes the server that answered; the others stay.
      const auto comma = first.value.find(',');
      written = *answered + (comma == std::string::npos ? "" : first.value.substr(comma));
    }
    add(first, "jitsi-stun-" + problem->kind, problem->severity, answered,
        "ice4j's mapping harvester asks " + names + " for the public address. " + problem->why,
        written);
  }

  // The videobridge's UDP port: against the ports `natdiag ports` measured; when it did not
  // run, against the port the firewall advice opens.
  void port(const Setting& s) {
    const auto table = config::firewall_media_range("jitsi");
    const auto value = config::port_number(s.value);
    if (!table || !value) return;
    if (!m_.udp_ports.empty()) {
      if (const auto closed = config::ports_not_open(m_.udp_ports, {*value, *value})) {
        add(s, "jitsi-udp-port-not-open", "warning", std::nullopt,
            "The videobridge's UDP port " + s.value +
                " is not open from the Internet as natdiag measured it: " + *closed +
                ". Open and forward it to this host.");
      }
      return;
    }
    if (*value >= table->first && *value <= table->last) return;
    add(s, "jitsi-udp-port-outside-firewall", "info", std::to_string(table->first),
        "The videobridge's UDP port is " + s.value +
            ", but the firewall and port-forward advice natdiag gives (natdiag ports --for "
            "jitsi) opens UDP " +
            table->text() + " (Jitsi's documented port); media gets through only if " + s.value +
            " is opened too. natdiag did not measure the ports here (natdiag ports would).");
  }

  const config::ParsedFile& file_;
  const cli::ProfileFacts& f_;
  const config::Measurements& m_;
  std::vector<ConfigFinding> out_;
};

}  // namespace

std::vector<config::ConfigFinding> check_jitsi(const config::ParsedFile& file,
                                               const cli::ProfileFacts& facts,
                                               const config::Measurements& measured) {
  return Checker(file, facts, measured).run();
}

std::vector<std::pair<std::string, std::uint16_t>> jitsi_stun_servers(
    const config::ParsedFile& file) {
  std::vector<std::string> entries;
  if (const Setting* s = file.find(kStunKey)) entries = split_list(s->value);
  for (const Setting& s : file.settings) {
    const std::string_view key = s.key;
    if (key.starts_with(kStunAddresses) &&
        key.substr(kStunAddresses.size()).find('.') == std::string_view::npos) {
      entries.push_back(s.value);
    }
  }
  std::vector<std::pair<std::string, std::uint16_t>> out;
  for (const auto& e : entries) {
    const auto hp = config::split_host_port(e);
    if (hp.host.empty() || hp.bad_port) continue;
    const std::pair<std::string, std::uint16_t> server{hp.host, hp.port.value_or(3478)};
    if (std::find(out.begin(), out.end(), server) == out.end()) out.push_back(server);
  }
  return out;
}

}  // namespace natdiag::profile

namespace natdiag::profile::config {

void check_jitsi_file(const ParsedFile& file, const ConfigFacts& facts, const ConfigFileKind& kind,
                      std::vector<ConfigFinding>& out) {
  for (auto& f : profile::check_jitsi(file, facts.profile, measurements_of(facts))) {
    f.server = kind.server;
    out.push_back(std::move(f));
  }
}

}  // namespace natdiag::profile::config
