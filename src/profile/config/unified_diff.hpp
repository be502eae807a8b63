// The unified diff of `natdiag config check --diff`: line edits in, a patch that GNU
// `patch -p1` applies out. Every line the edits do not touch stays byte for byte (comments,
// indentation, a missing final newline). Pure: no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "src/profile/config/config_model.hpp"

namespace natdiag::profile::config {

/// The file's lines (split_lines: a last "" means the text ends with a newline) after `edits`,
/// as one text; a file without a final newline keeps lacking one.
[[nodiscard]] std::string apply_edits(const std::vector<std::string>& lines,
                                      const std::vector<LineEdit>& edits);

/// `--- a/LABEL` / `+++ b/LABEL` and the hunks (3 lines of context, POSIX/GNU unified format,
/// "\ No newline at end of file" where it applies) that turn `lines` into apply_edits(...).
/// Empty when the edits change nothing. `label` is the path relative to the directory the
/// patch is applied in (`patch -d DIR -p1`).
[[nodiscard]] std::string unified_diff(const std::vector<std::string>& lines,
                                       const std::vector<LineEdit>& edits, std::string_view label);

}  // namespace natdiag::profile::config
