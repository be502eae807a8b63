#include "src/profile/config/line_edits.hpp"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <optional>

namespace natdiag::profile::config {
namespace {

std::string_view last_component(std::string_view key) {
  const auto dot = key.rfind('.');
  return dot == std::string_view::npos ? key : key.substr(dot + 1);
}

std::string leading_space(std::string_view line) {
  std::size_t n = 0;
  while (n < line.size() && (line[n] == ' ' || line[n] == '\t')) ++n;
  return std::string(line.substr(0, n));
}

// Real lines of the file: without the "" that stands for a final newline.
int line_count(const ParsedFile& f) {
  const auto n = static_cast<int>(f.lines.size());
  return !f.lines.empty() && f.lines.back().empty() ? n - 1 : n;
}

// Where the value starts on `line`: after the key and its separator (ini/coturn '=' or
// blanks, YAML ':', libconfig '=' or ':'), past the blanks that follow.
std::optional<std::size_t> value_start(const std::string& line, std::string_view name,
                                       std::string_view syntax) {
  std::size_t pos = line.find(name);
  while (pos != std::string::npos) {
    const bool starts_word =
        pos == 0 ||
        !(std::isalnum(static_cast<unsigned char>(line[pos - 1])) || line[pos - 1] == '_');
    std::size_t p = pos + name.size();
    if (starts_word) {
      while (p < line.size() && (line[p] == ' ' || line[p] == '\t')) ++p;
      const bool sep = p < line.size() && (line[p] == '=' || line[p] == ':');
      if (sep || (syntax == "coturn" && p > pos + name.size())) {
        if (sep) ++p;
        while (p < line.size() && (line[p] == ' ' || line[p] == '\t')) ++p;
        return p;
      }
    }
    pos = line.find(name, pos + 1);
  }
  return std::nullopt;
}

// Where the value ends: before a trailing comment (YAML " #", libconfig '#', "//", ';').
std::size_t value_end(const std::string& line, std::size_t start, std::string_view syntax) {
  if (syntax == "ini" || syntax == "coturn") return line.size();
  if (start < line.size() && (line[start] == '"' || line[start] == '\'')) {
    const char quote = line[start];
    for (std::size_t p = start + 1; p < line.size(); ++p) {
      if (line[p] == '\\' && quote == '"') {
        ++p;
      } else if (line[p] == quote) {
        return p + 1;
      }
    }
    return line.size();
  }
  std::size_t end = line.size();
  for (std::size_t p = start; p < line.size(); ++p) {
    const bool yaml_comment = syntax == "yaml" && line[p] == '#' && p > start &&
                              (line[p - 1] == ' ' || line[p - 1] == '\t');
    const bool cfg_end =
        syntax == "libconfig" && (line[p] == ';' || line[p] == ',' || line[p] == '#' ||
                                  (line[p] == '/' && p + 1 < line.size() && line[p + 1] == '/'));
    if (yaml_comment || cfg_end) {
      end = p;
      break;
    }
  }
  while (end > start && (line[end - 1] == ' ' || line[end - 1] == '\t')) --end;
  return end;
}

std::vector<LineEdit> insert_flat(const ParsedFile& f, std::string_view key,
                                  std::string_view value_text) {
  // After the file's own commented-out example ("#external-ip=...", ";externalIPv4=..."), the
  // place its authors gave the setting; else at the end.
  int after = line_count(f);
  for (int i = 0; i < line_count(f); ++i) {
    const std::string& line = f.lines[static_cast<std::size_t>(i)];
    std::size_t p = line.find_first_not_of(" \t");
    if (p == std::string::npos || (line[p] != '#' && line[p] != ';')) continue;
    p = line.find_first_not_of("#; \t", p);
    if (p != std::string::npos && line.compare(p, key.size(), key) == 0 &&
        p + key.size() < line.size() &&
        (line[p + key.size()] == '=' || line[p + key.size()] == ' ')) {
      after = i + 1;
    }
  }
  return {{LineEdit::Kind::insert_after, after, std::string(key) + "=" + std::string(value_text)}};
}

std::vector<LineEdit> insert_libconfig(const ParsedFile& f, std::string_view key,
                                       std::string_view value_text) {
  const auto dot = key.find('.');
  const std::string_view name = last_component(key);
  const std::string assignment = std::string(name) + " = " + std::string(value_text);
  if (dot == std::string_view::npos)
    return {{LineEdit::Kind::insert_after, line_count(f), assignment}};
  const std::string group(key.substr(0, dot));
  if (group.find('.') != std::string::npos || key.find('.', dot + 1) != std::string_view::npos)
    return {};
  for (int i = 0; i < line_count(f); ++i) {
    const std::string& line = f.lines[static_cast<std::size_t>(i)];
    const auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line.compare(start, group.size(), group) != 0) continue;
    auto p = line.find_first_not_of(" \t", start + group.size());
    if (p == std::string::npos || (line[p] != ':' && line[p] != '=')) continue;
    // The group's opening brace: on this line or the next non-empty one.
    int brace = -1;
    for (int j = i; j < line_count(f) && j <= i + 1; ++j) {
      if (f.lines[static_cast<std::size_t>(j)].find('{') != std::string::npos) brace = j;
      if (brace >= 0) break;
    }
    if (brace < 0) return {};
    int close = brace;
    int depth = 0;
    for (int j = brace; j < line_count(f); ++j) {
      for (char ch : f.lines[static_cast<std::size_t>(j)])
        depth += ch == '{' ? 1 : ch == '}' ? -1 : 0;
      if (depth <= 0) {
        close = j;
        break;
      }
    }
    // Inside the group: after its commented-out example of this setting, else first.
    int after = brace + 1;
    std::string indent = "\t";
    if (brace + 1 < line_count(f) && brace + 1 != close)
      indent = leading_space(f.lines[static_cast<std::size_t>(brace + 1)]);
    for (int j = brace + 1; j < close; ++j) {
      const std::string& l = f.lines[static_cast<std::size_t>(j)];
      const auto q = l.find_first_not_of(" \t");
      if (q == std::string::npos || l[q] != '#') continue;
      const auto r = l.find_first_not_of("# \t", q);
      if (r != std::string::npos && l.compare(r, name.size(), name) == 0) {
        after = j + 1;
        indent = leading_space(l);
      }
    }
    return {{LineEdit::Kind::insert_after, after, indent + assignment}};
  }
  return {{LineEdit::Kind::insert_after, line_count(f), group + ": {"},
          {LineEdit::Kind::insert_after, line_count(f), "\t" + assignment},
          {LineEdit::Kind::insert_after, line_count(f), "}"}};
}

std::vector<std::string> split_key(std::string_view key) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    parts.emplace_back(
        key.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return parts;
    start = dot + 1;
  }
}

std::vector<LineEdit> insert_yaml(const ParsedFile& f, std::string_view key,
                                  std::string_view value_text) {
  std::string text;
  for (int i = 0; i < line_count(f); ++i) text += f.lines[static_cast<std::size_t>(i)] + "\n";
  YAML::Node node;
  try {
    node = YAML::Load(text);
  } catch (const YAML::Exception&) {
    return {};
  }
  const auto parts = split_key(key);
  // Walk down the path as far as it exists; remember the key that led to each mapping.
  int key_line = -1;  // 0-based line of the key that led to `node`; -1: none
  int key_column = 0;
  std::size_t depth = 0;
  for (; depth + 1 < parts.size(); ++depth) {
    if (node.IsSequence()) {
      const auto& part = parts[depth];
      if (part.empty() || part.size() > 6 ||
          part.find_first_not_of("0123456789") != std::string::npos)
        return {};
      const auto index = std::stoul(part);
      if (index >= node.size()) return {};
      node = node[index];
      key_line = -1;
      continue;
    }
    if (!node.IsMap()) return {};
    bool found = false;
    for (const auto& kv : node) {
      if (kv.first.IsScalar() && kv.first.Scalar() == parts[depth]) {
        key_line = kv.first.Mark().line;
        key_column = kv.first.Mark().column;
        node = kv.second;
        found = true;
        break;
      }
    }
    if (!found) break;
  }
  std::vector<LineEdit> out;
  if (node.IsNull() && key_line >= 0 && depth > 0) {
    // "rtc:" with nothing under it yet: the new keys go right after it, one level deeper.
    std::string indent(static_cast<std::size_t>(key_column) + 2, ' ');
    for (std::size_t i = depth; i < parts.size(); ++i) {
      if (parts[i].find_first_not_of("0123456789") == std::string::npos) return {};
      const bool leaf = i + 1 == parts.size();
      out.push_back({LineEdit::Kind::insert_after, key_line + 1,
                     indent + parts[i] + ":" + (leaf ? " " + std::string(value_text) : "")});
      indent += "  ";
    }
    return out;
  }
  if (!node.IsMap() || node.size() == 0) return {};
  if (node.Style() == YAML::EmitterStyle::Flow) return {};
  // The indentation of this mapping's keys, and the line to add after.
  const auto first = node.begin();
  const int column = first->first.Mark().column;
  const int first_line = first->first.Mark().line + 1;
  int after = 0;
  if (depth == 0) {
    after = line_count(f);
  } else if (key_line >= 0 && key_line + 1 < first_line) {
    after = key_line + 1;  // block mapping under "key:": right after that line
  } else if (first->second.IsScalar() && first->second.Mark().line + 1 == first_line) {
    after = first_line;  // a sequence item "- ip: 0.0.0.0": after its first scalar entry
  } else {
    return {};
  }
  std::string indent(static_cast<std::size_t>(column), ' ');
  for (std::size_t i = depth; i < parts.size(); ++i) {
    if (parts[i].find_first_not_of("0123456789") == std::string::npos)
      return {};  // a sequence to create
    const bool leaf = i + 1 == parts.size();
    out.push_back({LineEdit::Kind::insert_after, after,
                   indent + parts[i] + ":" + (leaf ? " " + std::string(value_text) : "")});
    indent += "  ";
  }
  return out;
}

}  // namespace

LineEdit replace_value(const ParsedFile& f, const Setting& s, std::string_view value) {
  const std::string& line = f.lines.at(static_cast<std::size_t>(s.line - 1));
  const std::string_view name = last_component(s.key);
  const auto start = value_start(line, name, f.syntax);
  if (!start) return {LineEdit::Kind::replace, s.line, line};  // cannot place it: no change
  const auto end = value_end(line, *start, f.syntax);
  std::string quoted(value);
  if (*start < line.size() && (line[*start] == '"' || line[*start] == '\'')) {
    quoted = line[*start] + quoted + line[*start];
  }
  // "key:" with nothing after it: YAML needs a blank between the colon and the value.
  const std::string gap = f.syntax == "yaml" && *start > 0 && line[*start - 1] == ':' ? " " : "";
  return {LineEdit::Kind::replace, s.line,
          line.substr(0, *start) + gap + quoted + line.substr(end)};
}

std::vector<LineEdit> insert_setting(const ParsedFile& f, std::string_view key,
                                     std::string_view value_text) {
  if (f.syntax == "yaml") return insert_yaml(f, key, value_text);
  if (f.syntax == "libconfig") return insert_libconfig(f, key, value_text);
  return insert_flat(f, key, value_text);
}

}  // namespace natdiag::profile::config
