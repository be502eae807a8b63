// What the config check tests share: the lab's measured facts, the test files, and checking a
// text as one server's file.
#pragma once

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "src/profile/config/config_check.hpp"
#include "src/profile/config/unified_diff.hpp"

namespace natdiag::test {

using profile::config::ConfigFacts;
using profile::config::ConfigFinding;
using profile::config::ParsedFile;

/// The lab's media server as profile measured it: behind the lab NAT, 203.0.113.1 public,
/// 10.77.0.10 local, the STUN server 203.0.113.10:3478 answers (also in RFC 3489 form).
inline ConfigFacts lab_facts() {
  ConfigFacts f;
  f.profile.public_ipv4 = "203.0.113.1";
  f.profile.local_ipv4 = "10.77.0.10";
  f.profile.behind_nat = true;
  f.profile.udp = true;
  f.profile.tcp = true;
  f.profile.stun_server_ip = "203.0.113.10";
  f.profile.stun_server_port = 3478;
  f.profile.stun_rfc3489 = true;
  return f;
}

/// A file under tests/data/config (or tests/data).
inline std::string data_file(const std::string& relative) {
  std::ifstream in(std::string(NATDIAG_DATA) + "/" + relative, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// `text` with the first `from` replaced by `to` (the test fails loudly when it is not there).
inline std::string with(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  if (at == std::string::npos) return "<<" + from + " not in the file>>";
  return text.replace(at, from.size(), to);
}

/// The 1-based line of the first line that contains `needle` (0: none).
inline int line_of(const std::string& text, const std::string& needle) {
  const auto at = text.find(needle);
  if (at == std::string::npos) return 0;
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
}

/// The findings of `text` checked as `server`'s file named `name` (picks the table entry).
inline std::vector<ConfigFinding> check_text(const std::string& server, const std::string& name,
                                             const std::string& text, const ConfigFacts& facts) {
  const auto* kind = profile::config::kind_for(server, name);
  const auto parsed = profile::config::parse_config(name, kind->syntax, text);
  auto findings = profile::config::check_file(parsed, *kind, facts);
  profile::config::sort_findings(findings);
  return findings;
}

/// The text after every finding's edits.
inline std::string fixed_text(const std::string& server, const std::string& name,
                              const std::string& text, const std::vector<ConfigFinding>& findings) {
  const auto* kind = profile::config::kind_for(server, name);
  const auto parsed = profile::config::parse_config(name, kind->syntax, text);
  std::vector<profile::config::LineEdit> edits;
  for (const auto& f : findings) edits.insert(edits.end(), f.edits.begin(), f.edits.end());
  return profile::config::apply_edits(parsed.lines, edits);
}

/// The finding with `id`, or nullptr.
inline const ConfigFinding* find_id(const std::vector<ConfigFinding>& findings,
                                    const std::string& id) {
  const auto it = std::find_if(findings.begin(), findings.end(),
                               [&](const ConfigFinding& f) { return f.id == id; });
  return it == findings.end() ? nullptr : &*it;
}

/// Findings above info.
inline std::size_t serious(const std::vector<ConfigFinding>& findings) {
  return static_cast<std::size_t>(
      std::count_if(findings.begin(), findings.end(),
                    [](const ConfigFinding& f) { return f.severity != "info"; }));
}

}  // namespace natdiag::test
