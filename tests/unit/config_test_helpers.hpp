// What the config check tests share: the lab's measured facts, the test files, checking a text
// as one server's file, line surgery on a file's text, and applying a checker's LineEdits the
// way `patch` applies natdiag's diff.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "src/profile/advice.hpp"
#include "src/profile/config/config_check.hpp"
#include "src/profile/config/unified_diff.hpp"

namespace natdiag::test {

using profile::config::ConfigFacts;
using profile::config::ConfigFinding;
using profile::config::LineEdit;
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

// The same lab as cli::ProfileFacts alone, for the checkers that take them so: --hostname
// bbb.example.com resolves to the public IP, no dummy NIC.
inline cli::ProfileFacts lab_profile_facts() {
  cli::ProfileFacts f;
  f.public_ipv4 = "203.0.113.1";
  f.local_ipv4 = "10.77.0.10";
  f.behind_nat = true;
  f.mapping = "endpoint-independent";
  f.udp = true;
  f.tcp = true;
  f.stun_server_ip = "203.0.113.10";
  f.stun_server_port = 3478;
  f.hostname = "bbb.example.com";
  f.hostname_resolves_to_public = true;
  f.dummy_nic_present = false;
  return f;
}

// No STUN server answered: nothing about the public address is known.
inline cli::ProfileFacts unmeasured_profile_facts() {
  cli::ProfileFacts f;
  f.local_ipv4 = "10.77.0.10";
  f.udp = false;
  f.tcp = false;
  f.stun_error = "no answer within 2 s";
  return f;
}

// A file under tests/data/config; the test stops when it is missing.
inline std::string read_config(const std::string& relative) {
  const std::string text = data_file("config/" + relative);
  REQUIRE_MESSAGE(!text.empty(), "missing test data " << relative);
  return text;
}

// `text` with every occurrence of `from` replaced by `to` (at least one must exist).
inline std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, "'" << from << "' not in the test text");
  for (auto pos = at; pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

inline std::string ids(const std::vector<ConfigFinding>& findings) {
  std::string out;
  for (const auto& f : findings) out += f.id + "@" + f.file + ":" + std::to_string(f.line) + " ";
  return out;
}

// The file after the edits of the findings about it, as the diff writer applies them (what
// `patch` gets); two different replacements of one line fail the test.
inline std::string apply_edits(const ParsedFile& file, const std::vector<ConfigFinding>& findings) {
  std::vector<LineEdit> edits;
  std::map<int, std::string> replace;
  for (const auto& f : findings) {
    if (f.file != file.path) continue;
    for (const auto& e : f.edits) {
      REQUIRE(e.line >= 0);
      REQUIRE(e.line <= static_cast<int>(file.lines.size()));
      if (e.kind == LineEdit::Kind::replace) {
        REQUIRE(e.line >= 1);
        const auto [it, fresh] = replace.emplace(e.line, e.text);
        REQUIRE_MESSAGE((fresh || it->second == e.text), "two edits of line " << e.line);
      }
      edits.push_back(e);
    }
  }
  return profile::config::apply_edits(file.lines, edits);
}

// The edits change only what they must: the new line differs from the old one in the value.
inline void check_edits_keep_layout(const ParsedFile& file, const ConfigFinding& f) {
  for (const auto& e : f.edits) {
    if (e.kind != LineEdit::Kind::replace) continue;
    const std::string& old = file.lines[static_cast<std::size_t>(e.line) - 1];
    REQUIRE(f.current.has_value());
    REQUIRE(f.expected.has_value());
    CHECK_MESSAGE(old.find(*f.current) != std::string::npos, old);
    CHECK_MESSAGE(e.text.find(*f.expected) != std::string::npos, e.text);
    // Everything before the old value is kept as written (indentation, key, quotes).
    const auto at = old.find(*f.current);
    CHECK(e.text.substr(0, at) == old.substr(0, at));
  }
}

// Deterministic damage to a config text for the no-crash tests: every prefix (cut anywhere,
// mid-token too) and `flips` single-byte changes to bytes that matter to the syntaxes.
template <typename Parse>
void survives_damage(const std::string& text, Parse parse, int flips = 400) {
  for (std::size_t cut = 0; cut <= text.size(); cut += 7) {
    const auto file = parse(text.substr(0, cut));
    if (file.error) CHECK(file.error->line >= 0);
  }
  static constexpr char kNasty[] = "\"'<>=:{}[],\\#!/$\n\r&;-";
  std::uint32_t state = 12345;
  for (int i = 0; i < flips && !text.empty(); ++i) {
    state = state * 1103515245U + 12345U;  // a fixed LCG: the same damage on every run
    std::string damaged = text;
    damaged[(state >> 8) % damaged.size()] = kNasty[(state >> 3) % (sizeof(kNasty) - 1)];
    const auto file = parse(damaged);
    if (file.error) {
      CHECK(file.error->line >= 1);
      CHECK(file.error->line <= static_cast<int>(file.lines.size()) + 1);
    }
    for (const auto& s : file.settings) {
      CHECK(s.line >= 1);
      CHECK(s.line <= static_cast<int>(file.lines.size()));
    }
  }
}

}  // namespace natdiag::test
