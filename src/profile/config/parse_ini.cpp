// ini (Kurento's *.conf.ini) and coturn's turnserver.conf: both line based and simple enough
// to read by hand, as their own readers do.
#include <cctype>

#include "src/profile/config/parsers.hpp"

namespace natdiag::profile::config {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A value written in double quotes means the text between them.
std::string unquote(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"')
    return std::string(v.substr(1, v.size() - 2));
  return std::string(v);
}

}  // namespace

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (true) {
    const auto nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      lines.emplace_back(text.substr(start));
      return lines;
    }
    lines.emplace_back(text.substr(start, nl - start));
    start = nl + 1;
  }
}

void parse_ini(const std::string& text, ParsedFile& out) {
  const auto lines = split_lines(text);
  std::string section;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const int number = static_cast<int>(i) + 1;
    std::string_view line = trim(lines[i]);
    if (line.empty() || line.front() == ';' || line.front() == '#') continue;
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3) {
        out.error = ParseError{number, "a section header must be '[name]'"};
        return;
      }
      section = std::string(trim(line.substr(1, line.size() - 2)));
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      out.error = ParseError{number, "expected key=value, a [section], or a ';' comment"};
      return;
    }
    const auto key = trim(line.substr(0, eq));
    if (key.empty()) {
      out.error = ParseError{number, "a setting has no key before '='"};
      return;
    }
    out.settings.push_back({section.empty() ? std::string(key) : section + "." + std::string(key),
                            unquote(trim(line.substr(eq + 1))), number});
  }
}

void parse_coturn(const std::string& text, ParsedFile& out) {
  const auto lines = split_lines(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = trim(lines[i]);
    if (line.empty() || line.front() == '#') continue;
    // coturn's own reader: a leading "--" is allowed (the file takes the command-line options).
    if (line.starts_with("--")) line.remove_prefix(2);
    const auto sep = line.find_first_of("= \t");
    const auto key = line.substr(0, sep);
    std::string_view value;
    if (sep != std::string_view::npos) value = trim(line.substr(sep + 1));
    if (!value.empty() && value.front() == '=') value = trim(value.substr(1));
    if (key.empty() || !(std::isalnum(static_cast<unsigned char>(key.front())))) {
      out.error = ParseError{static_cast<int>(i) + 1,
                             "expected an option name (key=value, key value or key)"};
      return;
    }
    out.settings.push_back({std::string(key), unquote(value), static_cast<int>(i) + 1});
  }
}

}  // namespace natdiag::profile::config
