// A HOCON subset (Jitsi Videobridge's jvb.conf, ice4j's settings), read by hand: nested
// objects `a { b { c = v } }`, dotted keys `a.b.c = v`, '=' or ':', '#' and '//' comments,
// quoted and unquoted strings, arrays `[ ... ]` over several lines (of scalars or objects),
// `include` lines (noted, not followed). Substitutions `${...}`, `+=`, triple-quoted strings
// and value concatenation are outside the subset: a ParseError with the line, never a guess.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "src/profile/config/config_model.hpp"

namespace natdiag::profile::config {

/// The scalars of the file (syntax "hocon") with their full dotted paths: "a.b.c"; array
/// elements by index: "ice4j.harvest.mapping.stun.addresses.0",
/// "ice4j.harvest.mapping.static-mappings.0.public-address". An `include` line is the setting
/// "include" whose value is what the line includes (natdiag does not read that file).
[[nodiscard]] ParsedFile parse_hocon(std::string path, std::string_view text);

/// `line` with the scalar `old_value` of setting `key` replaced by `value` (quoted when the
/// old one was or when the new one needs it); nullopt when the line does not hold exactly
/// one such scalar.
[[nodiscard]] std::optional<std::string> hocon_replace_value(std::string_view line,
                                                             std::string_view key,
                                                             std::string_view old_value,
                                                             std::string_view value);

}  // namespace natdiag::profile::config
