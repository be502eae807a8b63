// The parsers of `natdiag config check`, one per syntax. Each reads the whole text of one file
// into `out.settings` (keys joined with '.', config_model.hpp) or sets `out.error` with the
// line and the parser's message; `out.lines` is filled by the caller. Pure: no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "src/profile/config/config_model.hpp"

namespace natdiag::profile::config {

/// The text split on '\n' exactly: a text that ends with a newline gives a last element "",
/// so joining with '\n' gives the text back byte for byte (the diff writer relies on it).
[[nodiscard]] std::vector<std::string> split_lines(std::string_view text);

/// ini as Kurento reads it (boost property_tree): `;` and `#` comment lines, `[section]`,
/// `key=value`; keys outside a section stand alone, inside one they are "section.key".
void parse_ini(const std::string& text, ParsedFile& out);
/// coturn's turnserver.conf: `key=value`, `key value` and bare `key` (value "") lines, `#`
/// comments; a key may repeat (external-ip, listening-ip, ...).
void parse_coturn(const std::string& text, ParsedFile& out);
/// YAML through yaml-cpp: every scalar under its path, sequence items by index
/// ("mediasoup.webrtc.listenIps.0.announcedIp"); the line is the scalar's own.
void parse_yaml(const std::string& text, ParsedFile& out);
/// libconfig through libconfig++ (Janus' .jcfg): every scalar setting under its path,
/// array/list elements by index; the line is the one libconfig gives the setting.
void parse_libconfig(const std::string& text, ParsedFile& out);

}  // namespace natdiag::profile::config
