// The shared shapes of `natdiag config check`: a media server's configuration file as its
// parser read it, and the findings (with the line edits that fix them) that a checker derives
// by comparing the file with the measured facts. Pure: no I/O, no sockets.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace natdiag::profile::config {

/// One value the file sets. `key` is the path as the file names it, joined with '.':
/// "WebRtcEndpoint.stunServerAddress" (ini section.key), "rtc.node_ip" (YAML),
/// "nat.nat_1_1_mapping" (libconfig), "external_rtp_ip" (FreeSWITCH X-PRE-PROCESS set),
/// "videobridge.ice.udp.port" (HOCON), "bigbluebutton.web.serverURL" (Java properties).
struct Setting {
  std::string key;
  std::string value;  ///< the scalar as the file means it: quotes removed, escapes resolved
  int line = 0;       ///< 1-based line the value is written on
};

/// Why a file could not be read as its syntax: never guessed at, reported with the line.
struct ParseError {
  int line = 0;  ///< 1-based; 0 when the parser gave no line
  std::string message;
};

/// A configuration file as parsed: every line as written (for the diff) and every setting.
struct ParsedFile {
  std::string path;
  std::string syntax;  ///< "ini", "yaml", "libconfig", "xml", "properties", "hocon", "coturn"
  std::vector<std::string> lines;  ///< the text split on '\n', without the newlines
  std::vector<Setting> settings;   ///< in file order; a key may repeat (coturn, FreeSWITCH)
  std::optional<ParseError> error;

  /// The last setting named `key` (the one that wins where the syntax lets a later one
  /// override), or nullptr.
  [[nodiscard]] const Setting* find(std::string_view key) const {
    const Setting* found = nullptr;
    for (const auto& s : settings) {
      if (s.key == key) found = &s;
    }
    return found;
  }
  [[nodiscard]] std::vector<const Setting*> find_all(std::string_view key) const {
    std::vector<const Setting*> found;
    for (const auto& s : settings) {
      if (s.key == key) found.push_back(&s);
    }
    return found;
  }
};

/// One change to a file, by line: replace line `line` with `text`, or insert `text` after
/// line `line` (0: before the first line). Line numbers refer to the original file.
struct LineEdit {
  enum class Kind { replace, insert_after };
  Kind kind = Kind::replace;
  int line = 0;
  std::string text;
};

/// One mismatch between a configuration file and the network as measured.
struct ConfigFinding {
  std::string id;        ///< stable, e.g. "kurento-stun-hostname", "livekit-node-ip-stale"
  std::string severity;  ///< "critical", "warning", "info" (profile's severities)
  std::string server;    ///< a kMediaServers name
  std::string file;
  int line = 0;          ///< where the setting is, or where it belongs when missing
  std::string setting;   ///< the key
  std::optional<std::string> current;   ///< the value the file has (null: not set)
  std::optional<std::string> expected;  ///< the measured right value (null: natdiag cannot say)
  std::string why;
  std::vector<LineEdit> edits;  ///< empty when natdiag measured nothing to write
};

}  // namespace natdiag::profile::config
