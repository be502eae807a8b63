// How a checker writes a fix into a file without disturbing it: change one value on its own
// line (the key, the spacing, the quotes and a trailing comment stay), or add a setting where
// the syntax wants it (after the file's commented-out example of it, inside its section, or at
// the end). Pure: the file's lines in, LineEdits out.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "src/profile/config/config_model.hpp"

namespace natdiag::profile::config {

/// The line of `setting` with its value replaced by `value`. The original's quotes are kept
/// (a quoted value stays quoted); `value` is the bare value.
[[nodiscard]] LineEdit replace_value(const ParsedFile& file, const Setting& setting,
                                     std::string_view value);

/// The edits that add `key` (a config_model.hpp path) with `value_text` written exactly as
/// given (with its quotes where the syntax needs them). Empty when natdiag cannot place it
/// safely (a YAML flow mapping, a sequence on the way): the finding then has no edit.
[[nodiscard]] std::vector<LineEdit> insert_setting(const ParsedFile& file, std::string_view key,
                                                   std::string_view value_text);

}  // namespace natdiag::profile::config
