#include "src/profile/config/xml_config.hpp"

#include <algorithm>
#include <cctype>
#include <pugixml.hpp>

#include "src/profile/config/parsers.hpp"

namespace natdiag::profile::config {
namespace {

int line_at(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<int>(std::count(text.begin(),
                                         text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == ':' || c == '.';
}

// Where the value of `attribute` starts inside the tag that begins at or before `from`, as an
// offset into `text`; quotes are skipped so a '>' inside a value does not end the tag.
std::optional<std::size_t> attribute_value_offset(std::string_view text, std::size_t from,
                                                  std::string_view attribute) {
  std::size_t i = from;
  while (i < text.size() && text[i] != '>') {
    const char c = text[i];
    if (c == '"' || c == '\'') {
      const auto close = text.find(c, i + 1);
      if (close == std::string_view::npos) return std::nullopt;
      i = close + 1;
      continue;
    }
    if (is_name_char(c) && (i == 0 || !is_name_char(text[i - 1])) &&
        text.substr(i, attribute.size()) == attribute &&
        (i + attribute.size() == text.size() || !is_name_char(text[i + attribute.size()]))) {
      std::size_t j = i + attribute.size();
      while (j < text.size() &&
             (text[j] == ' ' || text[j] == '\t' || text[j] == '\n' || text[j] == '\r'))
        ++j;
      if (j < text.size() && text[j] == '=') {
        ++j;
        while (j < text.size() &&
               (text[j] == ' ' || text[j] == '\t' || text[j] == '\n' || text[j] == '\r'))
          ++j;
        if (j < text.size() && (text[j] == '"' || text[j] == '\'')) return j + 1;
      }
    }
    ++i;
  }
  return std::nullopt;
}

std::string xml_escape(std::string_view value) {
  std::string out;
  for (const char c : value) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// Elements nest at most this deep (FreeSWITCH's files: 5); deeper is an error, never a stack
// overflow in the walk below.
constexpr int kMaxDepth = 64;

struct Walker {
  std::string_view text;
  ParsedFile& file;
  int depth = 0;

  int line_of(const pugi::xml_node& node, std::string_view attribute) const {
    const auto offset = node.offset_debug();
    if (offset < 0) return 0;
    const auto value = attribute_value_offset(text, static_cast<std::size_t>(offset), attribute);
    return line_at(text, value.value_or(static_cast<std::size_t>(offset)));
  }

  void walk(const pugi::xml_node& node) {
    if (++depth > kMaxDepth) {
      const auto offset = node.offset_debug();
      file.error =
          ParseError{offset < 0 ? 0 : line_at(text, static_cast<std::size_t>(offset)),
                     "elements nested deeper than " + std::to_string(kMaxDepth) + " levels"};
      return;
    }
    for (const auto& child : node.children()) {
      if (file.error) return;
      if (child.type() != pugi::node_element) continue;
      const std::string_view name = child.name();
      // X-PRE-PROCESS lines were read before, as FreeSWITCH reads them.
      if (name != "X-PRE-PROCESS" && child.attribute("name") && child.attribute("value")) {
        file.settings.push_back({std::string(node.name()) + "." + std::string(name) + "." +
                                     child.attribute("name").value(),
                                 child.attribute("value").value(), line_of(child, "value")});
      }
      walk(child);
    }
    --depth;
  }
};

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The quoted value after `name` = in `line` from `from`, as FreeSWITCH's pre-processor finds
// it (the first '"' after the first '=' after the name); `end` is set past the closing quote.
std::optional<std::string> quoted_after(const std::string& low, std::string_view line,
                                        std::string_view name, std::size_t from, std::size_t& end) {
  const auto at = low.find(name, from);
  if (at == std::string::npos) return std::nullopt;
  const auto eq = line.find('=', at + name.size());
  if (eq == std::string_view::npos) return std::nullopt;
  const auto open = line.find('"', eq);
  if (open == std::string_view::npos) return std::nullopt;
  const auto close = line.find('"', open + 1);
  end = close == std::string_view::npos ? line.size() : close + 1;
  return std::string(
      line.substr(open + 1, (close == std::string_view::npos ? line.size() : close) - open - 1));
}

std::string trim_spaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return std::string(s);
}

// FreeSWITCH's pre-processor (switch_xml.c, preprocess()) runs before the XML parser, one line
// at a time, and acts on every line holding "<X-PRE-PROCESS" -- inside a comment too (vars.xml:
// "YOU CAN NOT COMMENT OUT AN X-PRE-PROCESS line"). set and stun-set split their data at the
// first '=' and trim the spaces around it.
void preprocess_lines(ParsedFile& file) {
  for (std::size_t i = 0; i < file.lines.size(); ++i) {
    const std::string& line = file.lines[i];
    const std::string low = lower(line);
    const auto tag = low.find("x-pre-process");
    if (tag == std::string::npos || tag == 0 || line[tag - 1] != '<') continue;
    std::size_t end = 0;
    const auto cmd = quoted_after(low, line, "cmd", tag, end);
    if (!cmd) continue;
    const auto data = quoted_after(low, line, "data", end, end);
    const std::string command = lower(*cmd);
    if (!data || (command != "set" && command != "stun-set")) continue;
    const auto eq = data->find('=');
    if (eq == std::string::npos || eq == 0) continue;
    file.settings.push_back({trim_spaces(std::string_view(*data).substr(0, eq)),
                             trim_spaces(std::string_view(*data).substr(eq + 1)),
                             static_cast<int>(i) + 1});
  }
}

}  // namespace

bool xml_line_in_comment(const ParsedFile& file, int line) {
  bool in_comment = false;
  for (int i = 0; i < line && i < static_cast<int>(file.lines.size()); ++i) {
    std::string_view rest = file.lines[static_cast<std::size_t>(i)];
    bool inside_here = in_comment;
    while (!rest.empty()) {
      const auto mark = rest.find(in_comment ? "-->" : "<!--");
      if (mark == std::string_view::npos) break;
      in_comment = !in_comment;
      inside_here = inside_here || in_comment;
      rest.remove_prefix(mark + (in_comment ? 4 : 3));
    }
    if (i == line - 1) return inside_here;
  }
  return false;
}

ParsedFile parse_xml(std::string path, std::string_view text) {
  ParsedFile file;
  file.path = std::move(path);
  file.syntax = "xml";
  file.lines = split_lines(text);
  pugi::xml_document doc;
  const auto result =
      doc.load_buffer(text.data(), text.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!result) {
    file.error = ParseError{
        line_at(text, static_cast<std::size_t>(std::max<std::ptrdiff_t>(result.offset, 0))),
        result.description()};
    return file;
  }
  preprocess_lines(file);
  Walker{text, file}.walk(doc);
  if (file.error) {
    file.settings.clear();
    return file;
  }
  std::stable_sort(file.settings.begin(), file.settings.end(),
                   [](const Setting& a, const Setting& b) { return a.line < b.line; });
  return file;
}

std::vector<std::string> freeswitch_var_refs(std::string_view value) {
  std::vector<std::string> names;
  std::size_t at = 0;
  while ((at = value.find("$${", at)) != std::string_view::npos) {
    const auto close = value.find('}', at + 3);
    if (close == std::string_view::npos) break;
    names.emplace_back(value.substr(at + 3, close - at - 3));
    at = close + 1;
  }
  return names;
}

std::optional<std::string> resolve_freeswitch_vars(std::string_view value, const ParsedFile& vars) {
  std::string out;
  std::size_t at = 0;
  while (true) {
    const auto ref = value.find("$${", at);
    const auto close = ref == std::string_view::npos ? ref : value.find('}', ref + 3);
    if (close == std::string_view::npos) {
      out += value.substr(at);
      return out;
    }
    const auto* set = vars.find(value.substr(ref + 3, close - ref - 3));
    if (!set) return std::nullopt;
    out += value.substr(at, ref - at);
    out += set->value;
    at = close + 1;
  }
}

std::optional<std::string> xml_replace_attribute(std::string_view line, std::string_view attribute,
                                                 std::string_view value) {
  // The tag may have opened on an earlier line: look from the line's start.
  std::string padded(" ");
  padded.append(line);
  const auto begin = attribute_value_offset(padded, 0, attribute);
  if (!begin) return std::nullopt;
  const std::size_t start = *begin - 1;
  const char quote = line[start - 1];
  const auto end = line.find(quote, start);
  if (end == std::string_view::npos) return std::nullopt;
  return std::string(line.substr(0, start)) + xml_escape(value) + std::string(line.substr(end));
}

}  // namespace natdiag::profile::config
