// libconfig through libconfig++: Janus' janus.jcfg and its plugin files.
#include <algorithm>
#include <libconfig.h++>

#include "src/profile/config/parsers.hpp"

namespace natdiag::profile::config {
namespace {

constexpr int kMaxDepth = 64;

std::string scalar_text(const libconfig::Setting& s) {
  switch (s.getType()) {
    case libconfig::Setting::TypeString: return s.c_str();
    case libconfig::Setting::TypeBoolean: return static_cast<bool>(s) ? "true" : "false";
    case libconfig::Setting::TypeInt: return std::to_string(static_cast<int>(s));
    case libconfig::Setting::TypeInt64: return std::to_string(static_cast<long long>(s));
    case libconfig::Setting::TypeFloat: return std::to_string(static_cast<double>(s));
    default: return {};
  }
}

void flatten(const libconfig::Setting& s, const std::string& path, int depth, ParsedFile& out) {
  if (depth > kMaxDepth) return;
  if (s.isAggregate()) {
    for (int i = 0; i < s.getLength(); ++i) {
      const auto& child = s[i];
      const std::string name = child.getName() != nullptr ? child.getName() : std::to_string(i);
      flatten(child, path.empty() ? name : path + "." + name, depth + 1, out);
    }
    return;
  }
  out.settings.push_back({path, scalar_text(s), static_cast<int>(s.getSourceLine())});
}

}  // namespace

void parse_libconfig(const std::string& text, ParsedFile& out) {
  // libconfig reads a C string: it would stop at a NUL byte and parse only the text before it.
  if (const auto nul = text.find('\0'); nul != std::string::npos) {
    out.error = ParseError{
        1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(nul), '\n')),
        "a NUL byte (libconfig would stop reading there)"};
    return;
  }
  libconfig::Config config;
  try {
    config.readString(text);
    flatten(config.getRoot(), "", 0, out);
  } catch (const libconfig::ParseException& e) {
    out.settings.clear();
    out.error = ParseError{e.getLine(), e.getError()};
  } catch (const libconfig::ConfigException& e) {
    out.settings.clear();
    out.error = ParseError{0, e.what()};
  }
}

}  // namespace natdiag::profile::config
