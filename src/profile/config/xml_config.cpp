#include "src/profile/config/xml_config.hpp"

#include <algorithm>
#include <pugixml.hpp>

#include "src/profile/config/announced.hpp"

namespace natdiag::profile::config {
namespace {

int line_at(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
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
    if (is_name_char(c) && !is_name_char(text[i - 1]) &&
        text.substr(i, attribute.size()) == attribute &&
        (i + attribute.size() == text.size() || !is_name_char(text[i + attribute.size()]))) {
      std::size_t j = i + attribute.size();
      while (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\n' || text[j] == '\r')) ++j;
      if (j < text.size() && text[j] == '=') {
        ++j;
        while (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\n' || text[j] == '\r')) ++j;
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

struct Walker {
  std::string_view text;
  ParsedFile& file;

  int line_of(const pugi::xml_node& node, std::string_view attribute) const {
    const auto offset = node.offset_debug();
    if (offset < 0) return 0;
    const auto value = attribute_value_offset(text, static_cast<std::size_t>(offset), attribute);
    return line_at(text, value.value_or(static_cast<std::size_t>(offset)));
  }

  void walk(const pugi::xml_node& node) {
    for (const auto& child : node.children()) {
      if (child.type() != pugi::node_element) continue;
      const std::string_view name = child.name();
      if (name == "X-PRE-PROCESS") {
        const std::string_view cmd = child.attribute("cmd").value();
        const std::string_view data = child.attribute("data").value();
        const auto eq = data.find('=');
        if ((cmd == "set" || cmd == "stun-set") && eq != std::string_view::npos && eq > 0) {
          file.settings.push_back({std::string(data.substr(0, eq)), std::string(data.substr(eq + 1)),
                                   line_of(child, "data")});
        }
      } else if (child.attribute("name") && child.attribute("value")) {
        file.settings.push_back({std::string(node.name()) + "." + std::string(name) + "." +
                                     child.attribute("name").value(),
                                 child.attribute("value").value(), line_of(child, "value")});
      }
      walk(child);
    }
  }
};

}  // namespace

ParsedFile parse_xml(std::string path, std::string_view text) {
  ParsedFile file;
  file.path = std::move(path);
  file.syntax = "xml";
  file.lines = split_lines(text);
  pugi::xml_document doc;
  const auto result = doc.load_buffer(text.data(), text.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!result) {
    file.error = ParseError{line_at(text, static_cast<std::size_t>(std::max<std::ptrdiff_t>(result.offset, 0))),
                            result.description()};
    return file;
  }
  Walker{text, file}.walk(doc);
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
