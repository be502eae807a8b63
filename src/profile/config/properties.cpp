#include "src/profile/config/properties.hpp"

#include "src/profile/config/parsers.hpp"

namespace natdiag::profile::config {
namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\f';
}

// A line without its '\r' (the file may have CRLF endings).
std::string_view logical(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// Properties.load: an odd number of backslashes at the end continues the line.
bool continues(std::string_view line) {
  std::size_t n = 0;
  while (n < line.size() && line[line.size() - 1 - n] == '\\') ++n;
  return n % 2 == 1;
}

// Where the key ends and the value starts in `text` (comment and blank lines excluded):
// the key runs to the first unescaped '=', ':' or blank; blanks, then one '=' or ':', then
// blanks separate it from the value.
struct Split {
  std::size_t key_begin = 0;
  std::size_t key_end = 0;
  std::size_t value_begin = 0;
};
Split split_key(std::string_view text) {
  Split s;
  std::size_t i = 0;
  while (i < text.size() && is_blank(text[i])) ++i;
  s.key_begin = i;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      i += 2;
      continue;
    }
    if (c == '=' || c == ':' || is_blank(c)) break;
    ++i;
  }
  s.key_end = i;
  while (i < text.size() && is_blank(text[i])) ++i;
  if (i < text.size() && (text[i] == '=' || text[i] == ':')) {
    ++i;
    while (i < text.size() && is_blank(text[i])) ++i;
  }
  s.value_begin = i;
  return s;
}

// Resolves the escapes of Properties.load: \t \n \r \f, \uXXXX, and '\x' is 'x'. A bad
// \uXXXX gives nullopt. \u escapes become UTF-8.
std::optional<std::string> unescape(std::string_view raw) {
  std::string out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c != '\\' || i + 1 == raw.size()) {
      if (c != '\\') out += c;
      continue;
    }
    const char e = raw[++i];
    switch (e) {
      case 't': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 'f': out += '\f'; break;
      case 'u': {
        if (i + 4 >= raw.size()) return std::nullopt;
        unsigned cp = 0;
        for (int k = 1; k <= 4; ++k) {
          const char h = raw[i + k];
          cp <<= 4;
          if (h >= '0' && h <= '9')
            cp |= static_cast<unsigned>(h - '0');
          else if (h >= 'a' && h <= 'f')
            cp |= static_cast<unsigned>(h - 'a' + 10);
          else if (h >= 'A' && h <= 'F')
            cp |= static_cast<unsigned>(h - 'A' + 10);
          else
            return std::nullopt;
        }
        i += 4;
        if (cp < 0x80) {
          out += static_cast<char>(cp);
        } else if (cp < 0x800) {
          out += static_cast<char>(0xC0 | (cp >> 6));
          out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
          out += static_cast<char>(0xE0 | (cp >> 12));
          out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
          out += static_cast<char>(0x80 | (cp & 0x3F));
        }
        break;
      }
      default: out += e;
    }
  }
  return out;
}

}  // namespace

ParsedFile parse_properties(std::string path, std::string_view text) {
  ParsedFile file;
  file.path = std::move(path);
  file.syntax = "properties";
  file.lines = split_lines(text);
  std::size_t i = 0;
  while (i < file.lines.size()) {
    const int first_line = static_cast<int>(i) + 1;
    std::string_view line = logical(file.lines[i]);
    std::size_t lead = 0;
    while (lead < line.size() && is_blank(line[lead])) ++lead;
    // A comment line ends where it ends: a trailing backslash does not continue it.
    if (lead == line.size() || line[lead] == '#' || line[lead] == '!') {
      ++i;
      continue;
    }
    std::string joined(line.substr(lead));
    while (continues(joined) && i + 1 < file.lines.size()) {
      joined.pop_back();
      std::string_view next = logical(file.lines[++i]);
      while (!next.empty() && is_blank(next.front())) next.remove_prefix(1);
      joined += next;
    }
    if (continues(joined)) joined.pop_back();  // the last line of the file
    ++i;
    const Split s = split_key(joined);
    auto key = unescape(std::string_view(joined).substr(s.key_begin, s.key_end - s.key_begin));
    auto value = unescape(std::string_view(joined).substr(s.value_begin));
    if (!key || !value) {
      file.error = ParseError{first_line, "malformed \\uXXXX escape (four hex digits needed)"};
      return file;
    }
    file.settings.push_back({std::move(*key), std::move(*value), first_line});
  }
  return file;
}

std::optional<std::string> properties_replace_value(std::string_view line, std::string_view value) {
  const bool cr = !line.empty() && line.back() == '\r';
  const std::string_view text = logical(line);
  std::size_t lead = 0;
  while (lead < text.size() && is_blank(text[lead])) ++lead;
  if (lead == text.size() || text[lead] == '#' || text[lead] == '!' || continues(text)) {
    return std::nullopt;
  }
  const Split s = split_key(text);
  std::string out(text.substr(0, s.value_begin));
  for (std::size_t k = 0; k < value.size(); ++k) {
    const char c = value[k];
    // A leading blank would be taken for the separator's; a backslash starts an escape.
    if (c == '\\' || (k == 0 && is_blank(c))) out += '\\';
    out += c;
  }
  if (cr) out += '\r';
  return out;
}

}  // namespace natdiag::profile::config
