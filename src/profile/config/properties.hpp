// Java properties files (java.util.Properties.load): BigBlueButton's bbb-web.properties,
// Jitsi's sip-communicator.properties. Read by hand: '#' and '!' comment lines, `key=value`,
// `key: value` and `key value`, a trailing backslash continues the line, \uXXXX and the other
// escapes. Pure: text in, settings out.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "src/profile/config/config_model.hpp"

namespace natdiag::profile::config {

/// Every key=value of the file (syntax "properties"); a setting's line is the line its key is
/// on, also when the value continues on the next lines. A malformed \uXXXX escape is an error
/// with its line (Properties.load throws on it too).
[[nodiscard]] ParsedFile parse_properties(std::string path, std::string_view text);

/// `line` (one setting's first line) with its value replaced by `value`, escaped as the
/// syntax needs; the key, the separator and the spaces around it stay. nullopt when the line
/// holds no setting or its value continues on the next line (one line cannot carry the edit).
[[nodiscard]] std::optional<std::string> properties_replace_value(std::string_view line,
                                                                  std::string_view value);

}  // namespace natdiag::profile::config
