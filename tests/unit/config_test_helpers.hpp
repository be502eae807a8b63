// Shared by the config parser and checker tests: the lab's measured facts, the test data
// files, line surgery on a file's text, and applying a checker's LineEdits the way `patch`
// would apply natdiag's diff.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "src/advice.hpp"
#include "src/profile/config/config_model.hpp"

namespace natdiag::test {

using profile::config::ConfigFinding;
using profile::config::LineEdit;
using profile::config::ParsedFile;

// The lab's media server behind NAT: public 203.0.113.1, private 10.77.0.10, the STUN
// server 203.0.113.10:3478 answered, --hostname bbb.example.com resolves to the public IP.
inline cli::ProfileFacts lab_facts() {
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
inline cli::ProfileFacts unmeasured_facts() {
  cli::ProfileFacts f;
  f.local_ipv4 = "10.77.0.10";
  f.udp = false;
  f.tcp = false;
  f.stun_error = "no answer within 2 s";
  return f;
}

inline std::string read_config(const std::string& relative) {
  std::ifstream in(std::string(NATDIAG_DATA) + "/config/" + relative, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "missing test data " << relative);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// 1-based number of the first line holding `needle` (0: none).
inline int line_with(const std::string& text, const std::string& needle) {
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find(needle) != std::string::npos) return n;
  }
  return 0;
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

inline const ConfigFinding* find_finding(const std::vector<ConfigFinding>& findings,
                                         const std::string& id) {
  const auto it = std::find_if(findings.begin(), findings.end(),
                               [&](const ConfigFinding& f) { return f.id == id; });
  return it == findings.end() ? nullptr : &*it;
}

inline std::string ids(const std::vector<ConfigFinding>& findings) {
  std::string out;
  for (const auto& f : findings) out += f.id + "@" + f.file + ":" + std::to_string(f.line) + " ";
  return out;
}

// The file after the edits of the findings about it: replacements by original line number,
// insertions after a line; two different replacements of one line fail the test.
inline std::string apply_edits(const ParsedFile& file, const std::vector<ConfigFinding>& findings) {
  std::map<int, std::string> replace;
  std::map<int, std::vector<std::string>> insert;
  for (const auto& f : findings) {
    if (f.file != file.path) continue;
    for (const auto& e : f.edits) {
      REQUIRE(e.line >= 0);
      REQUIRE(e.line <= static_cast<int>(file.lines.size()));
      if (e.kind == LineEdit::Kind::insert_after) {
        insert[e.line].push_back(e.text);
      } else {
        REQUIRE(e.line >= 1);
        const auto [it, fresh] = replace.emplace(e.line, e.text);
        REQUIRE_MESSAGE((fresh || it->second == e.text), "two edits of line " << e.line);
      }
    }
  }
  std::vector<std::string> lines = insert[0];
  for (int n = 1; n <= static_cast<int>(file.lines.size()); ++n) {
    const auto r = replace.find(n);
    lines.push_back(r == replace.end() ? file.lines[static_cast<std::size_t>(n) - 1] : r->second);
    for (const auto& t : insert[n]) lines.push_back(t);
  }
  // The lines end where the text did: joined with '\n' they give the file back.
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) out += (i == 0 ? "" : "\n") + lines[i];
  return out;
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

}  // namespace natdiag::test

namespace natdiag::test {

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
