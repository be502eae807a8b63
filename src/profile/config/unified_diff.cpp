#include "src/profile/config/unified_diff.hpp"

#include <algorithm>
#include <map>
#include <optional>

namespace natdiag::profile::config {
namespace {

constexpr int kContext = 3;

// One line of the edit script: ' ' kept, '-' removed, '+' added, with its line numbers.
struct Op {
  char kind = ' ';
  std::string text;
  int old_no = 0;  ///< 1-based in the original; 0 for '+'
  int new_no = 0;  ///< 1-based in the result; 0 for '-'
};

struct Script {
  std::vector<Op> ops;
  int old_lines = 0;
  int new_lines = 0;
  bool final_newline = true;
};

Script build(const std::vector<std::string>& lines, const std::vector<LineEdit>& edits) {
  Script s;
  const bool ends_with_newline = !lines.empty() && lines.back().empty();
  const int n = static_cast<int>(lines.size()) - (ends_with_newline ? 1 : 0);
  // An empty file has no last line to lack a newline: what is added to it ends with one.
  s.final_newline = ends_with_newline || n == 0;
  // A file with CRLF line ends gets CRLF on the lines natdiag writes too.
  const bool crlf = n > 0 && !lines[0].empty() && lines[0].back() == '\r';
  const auto line_end = [crlf](std::string text) {
    if (crlf && (text.empty() || text.back() != '\r')) text += '\r';
    return text;
  };
  std::map<int, std::string> replaced;
  std::map<int, std::vector<std::string>> inserted;
  for (const auto& e : edits) {
    if (e.line < 0 || e.line > n) continue;  // not a line of this file: nothing to anchor it to
    if (e.kind == LineEdit::Kind::replace) {
      if (e.line >= 1) replaced[e.line] = line_end(e.text);
    } else {
      inserted[e.line].push_back(line_end(e.text));
    }
  }
  int new_no = 0;
  const auto add = [&](const std::string& text) { s.ops.push_back({'+', text, 0, ++new_no}); };
  for (const auto& t : inserted[0]) add(t);
  for (int i = 1; i <= n; ++i) {
    const std::string& old = lines[static_cast<std::size_t>(i - 1)];
    auto r = replaced.find(i);
    // The last line without a newline gains one when a line follows it: that is a change too.
    const bool gains_newline = i == n && !s.final_newline && inserted.count(i) > 0;
    if ((r != replaced.end() && r->second != old) || gains_newline) {
      s.ops.push_back({'-', old, i, 0});
      add(r != replaced.end() ? r->second : old);
    } else {
      s.ops.push_back({' ', old, i, ++new_no});
    }
    for (const auto& t : inserted[i]) add(t);
  }
  s.old_lines = n;
  s.new_lines = new_no;
  return s;
}

std::string range_text(int start, int count) {
  return std::to_string(start) + (count == 1 ? "" : "," + std::to_string(count));
}

}  // namespace

std::string apply_edits(const std::vector<std::string>& lines, const std::vector<LineEdit>& edits) {
  const Script s = build(lines, edits);
  std::string out;
  for (const auto& op : s.ops) {
    if (op.kind == '-') continue;
    out += op.text;
    if (op.new_no < s.new_lines || s.final_newline) out += '\n';
  }
  return out;
}

std::string unified_diff(const std::vector<std::string>& lines, const std::vector<LineEdit>& edits,
                         std::string_view label) {
  const Script s = build(lines, edits);
  std::vector<std::size_t> changes;
  for (std::size_t i = 0; i < s.ops.size(); ++i) {
    if (s.ops[i].kind != ' ') changes.push_back(i);
  }
  if (changes.empty()) return {};
  std::string out = "--- a/" + std::string(label) + "\n+++ b/" + std::string(label) + "\n";
  const auto no_newline_after = [&](const Op& op) {
    if (s.final_newline) return false;
    return (op.kind != '+' && op.old_no == s.old_lines) ||
           (op.kind != '-' && op.new_no == s.new_lines);
  };
  std::size_t c = 0;
  while (c < changes.size()) {
    // One hunk: from 3 lines before a change to 3 after the last change whose context touches it.
    std::size_t last = c;
    while (last + 1 < changes.size() && changes[last + 1] - changes[last] <= 2 * kContext + 1)
      ++last;
    const std::size_t begin = changes[c] >= kContext ? changes[c] - kContext : 0;
    const std::size_t end = std::min(s.ops.size(), changes[last] + kContext + 1);
    int old_count = 0, new_count = 0;
    std::optional<int> old_start, new_start;
    int old_before = 0, new_before = 0;  // the last numbers before the hunk, for an empty side
    for (std::size_t i = 0; i < begin; ++i) {
      if (s.ops[i].kind != '+') old_before = s.ops[i].old_no;
      if (s.ops[i].kind != '-') new_before = s.ops[i].new_no;
    }
    for (std::size_t i = begin; i < end; ++i) {
      const auto& op = s.ops[i];
      if (op.kind != '+') {
        ++old_count;
        if (!old_start) old_start = op.old_no;
      }
      if (op.kind != '-') {
        ++new_count;
        if (!new_start) new_start = op.new_no;
      }
    }
    out += "@@ -" + range_text(old_start.value_or(old_before), old_count) + " +" +
           range_text(new_start.value_or(new_before), new_count) + " @@\n";
    for (std::size_t i = begin; i < end; ++i) {
      const auto& op = s.ops[i];
      out += op.kind + op.text + "\n";
      if (no_newline_after(op)) out += "\\ No newline at end of file\n";
    }
    c = last + 1;
  }
  return out;
}

}  // namespace natdiag::profile::config
