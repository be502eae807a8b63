#include "src/profile/config/check_support.hpp"

#include <algorithm>
#include <charconv>

#include "stun/net/endpoint.hpp"

namespace natdiag::profile::config {

std::optional<stun::TransportAddress> plain_ip(std::string_view text) {
  if (text.empty() || text.find_first_of("[]/ ") != std::string_view::npos) return std::nullopt;
  auto parsed = stun::TransportAddress::parse(text);
  // One colon after an IPv4 address is a port, not part of the address.
  if (!parsed ||
      (parsed->family == stun::Family::kIPv4 && text.find(':') != std::string_view::npos))
    return std::nullopt;
  return parsed;
}

bool is_private(const stun::TransportAddress& ip) {
  return net::is_private_or_local(ip);
}

std::optional<std::uint16_t> port_number(std::string_view text) {
  unsigned value = 0;
  const auto* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || p != end || value == 0 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

ConfigFinding& FindingSink::add(std::string id, std::string severity, int line, std::string key,
                                std::optional<std::string> current,
                                std::optional<std::string> expected, std::string why) {
  ConfigFinding f;
  f.id = std::move(id);
  f.severity = std::move(severity);
  f.server = server_;
  f.file = file_.path;
  f.line = line;
  f.setting = std::move(key);
  f.current = std::move(current);
  f.expected = std::move(expected);
  f.why = std::move(why);
  out_.push_back(std::move(f));
  return out_.back();
}

ConfigFinding& FindingSink::missing(std::string id, std::string severity, std::string key,
                                    std::optional<std::string> expected,
                                    std::optional<std::string> value_text, std::string why) {
  std::vector<LineEdit> edits;
  if (value_text) {
    // Written but empty ("nat_1_1_mapping = \"\""): change that line; a second one would be a
    // duplicate key, which libconfig, Go's YAML and boost's ini reader all refuse.
    if (const Setting* empty = file_.find(key)) {
      std::string bare = *value_text;
      if (bare.size() >= 2 && (bare.front() == '"' || bare.front() == '\'') &&
          bare.back() == bare.front()) {
        bare = bare.substr(1, bare.size() - 2);
      }
      auto& f =
          add(std::move(id), std::move(severity), *empty, std::move(expected), std::move(why));
      f.edits.push_back(replace_value(file_, *empty, bare));
      return f;
    }
    edits = insert_setting(file_, key, *value_text);
  }
  // The line the setting goes after (1 when it goes first): where a reader looks for it.
  const int line = edits.empty() ? 0 : std::max(1, edits.front().line);
  auto& f = add(std::move(id), std::move(severity), line, std::move(key), std::nullopt,
                std::move(expected), std::move(why));
  f.edits = std::move(edits);
  return f;
}

bool check_public_ipv4(FindingSink& sink, const Setting& s, const ConfigFacts& facts,
                       const std::string& prefix, std::string_view what) {
  return check_public_ipv4_part(sink, s, s.value, facts, prefix, what,
                                [](const std::string& pub) { return pub; });
}

bool check_public_ipv4_part(FindingSink& sink, const Setting& s, std::string_view part,
                            const ConfigFacts& facts, const std::string& prefix,
                            std::string_view what,
                            const std::function<std::string(const std::string&)>& rewrite) {
  const auto& pub = facts.profile.public_ipv4;
  const std::optional<std::string> expected =
      pub ? std::optional<std::string>(rewrite(*pub)) : std::nullopt;
  const auto with_fix = [&](ConfigFinding& f) {
    if (expected) f.edits.push_back(replace_value(sink.file(), s, *expected));
  };
  const std::string value(part);
  const auto ip = plain_ip(value);
  const std::string measured = pub ? " natdiag measured the public address " + *pub + "."
                                   : " natdiag has not measured the public address (no STUN "
                                     "answer), so it cannot say which one is right.";
  if (!ip || ip->family != stun::Family::kIPv4) {
    with_fix(
        sink.add(prefix + "-not-ip", "critical", s, expected,
                 std::string(what) + " must be an IPv4 address, not '" + value + "'." + measured));
    return true;
  }
  if (is_private(*ip)) {
    with_fix(sink.add(prefix + "-private", "critical", s, expected,
                      std::string(what) + " " + value +
                          " is a private address: peers on the Internet cannot reach it." +
                          measured));
    return true;
  }
  if (pub && ip->ip_string() != *pub) {
    with_fix(sink.add(prefix + "-stale", "critical", s, expected,
                      std::string(what) + " " + value +
                          " is not this host's public address (an old one, or another "
                          "host's): natdiag measured " +
                          *pub + ", and peers are told the wrong address."));
    return true;
  }
  return false;
}

std::optional<std::string> ports_not_open(const ConfigFacts& facts, const cli::PortRange& range,
                                          bool udp) {
  return ports_not_open(udp ? facts.udp_ports : facts.tcp_ports, range);
}

std::optional<std::string> ports_not_open(const std::vector<MeasuredPorts>& measured,
                                          const cli::PortRange& range) {
  std::string out;
  std::uint32_t count = 0;
  for (const auto& m : measured) {
    if (m.state == "open" || !m.range.overlaps(range)) continue;
    const cli::PortRange part{std::max(m.range.first, range.first),
                              std::min(m.range.last, range.last)};
    out += (out.empty() ? "" : ", ") + part.text() + " " + m.state;
    count += part.size();
  }
  if (out.empty()) return std::nullopt;
  return out + " (" + std::to_string(count) + " of " + std::to_string(range.size()) + " ports)";
}

void check_port_range(FindingSink& sink, const Setting* start, const Setting* end,
                      const ConfigFacts& facts, const std::string& prefix, std::string_view what) {
  if (start == nullptr || end == nullptr) return;
  const auto first = port_number(start->value);
  const auto last = port_number(end->value);
  if (!first || !last) {
    const Setting& bad = first ? *end : *start;
    sink.add(prefix + "-invalid", "warning", bad, std::nullopt,
             std::string(what) + ": '" + bad.value + "' is not a port number 1-65535.");
    return;
  }
  if (*first > *last) {
    sink.add(prefix + "-inverted", "warning", *start, std::nullopt,
             std::string(what) + " starts at " + start->value + " and ends at " + end->value +
                 ": the start is above the end.");
    return;
  }
  const cli::PortRange range{*first, *last};
  if (auto closed = ports_not_open(facts, range, true)) {
    sink.add(prefix + "-not-open", "warning", start->line, start->key, range.text(), std::nullopt,
             std::string(what) + " " + range.text() +
                 " is not open from the Internet as natdiag measured it: " + *closed +
                 ". Media on those ports never arrives: open and forward them to this host.");
  }
}

void check_port(FindingSink& sink, const Setting& s, const ConfigFacts& facts, bool udp,
                const std::string& prefix, std::string_view what) {
  const auto port = port_number(s.value);
  if (!port) {
    sink.add(prefix + "-invalid", "warning", s, std::nullopt,
             std::string(what) + ": '" + s.value + "' is not a port number 1-65535.");
    return;
  }
  if (auto closed = ports_not_open(facts, {*port, *port}, udp)) {
    sink.add(prefix + "-not-open", "warning", s, std::nullopt,
             std::string(what) + " " + s.value + (udp ? "/udp" : "/tcp") +
                 " is not open from the Internet as natdiag measured it: " + *closed +
                 ". Open and forward it to this host.");
  }
}

std::optional<bool> stun_answered(const ConfigFacts& facts, std::string_view host,
                                  std::uint16_t port) {
  const auto& p = facts.profile;
  if (p.stun_server_ip && *p.stun_server_ip == host && p.stun_server_port == port && p.udp == true)
    return true;
  const auto it = facts.stun_answers.find(std::string(host) + ":" + std::to_string(port));
  if (it == facts.stun_answers.end()) return std::nullopt;
  return it->second;
}

}  // namespace natdiag::profile::config
