// The results the page posts back: validation, the --results file, TURN REST credentials.
// Pure (no GLib): the unit tests and `natdiag web-report` link it without the HTTP server.
#pragma once

#include <cstdint>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace natdiag::web {

/// Request bodies above this are refused with 413 (a check with 64 candidates is ~32 KiB).
inline constexpr std::size_t kMaxBodyBytes = 64 * 1024;
/// POST /api/result bodies above this are refused with 413: what the page posts (stored_result's
/// fields, 32 candidates at most) is 2 to 4 KiB.
inline constexpr std::size_t kMaxResultBytes = 8 * 1024;

/// The verdict ids the page may post (verdict.mjs); anything else is malformed.
inline constexpr std::string_view kVerdictIds[] = {"direct-udp", "turn-udp", "turn-tcp", "ice-tcp",
                                                   "cannot-connect"};

/// Why a posted result is refused (one line), or nullopt when it is a well-formed web-check.
std::optional<std::string> validate_result(const nlohmann::json& result);

/// What is stored of a valid result: only the fields the page sends (app.mjs, docs/web.md),
/// each of its type or null, strings cut to 256 bytes, lists to a few entries. Nothing else a
/// poster adds reaches the --results file.
nlohmann::json stored_result(const nlohmann::json& result);

/// Appends one JSON line per result; opened at start-up so an unwritable file fails early.
class ResultsFile {
 public:
  /// Opens PATH for appending; throws std::runtime_error when it cannot be written.
  explicit ResultsFile(const std::string& path);
  /// Writes RESULT as one line and flushes; false when the write failed.
  bool append(const nlohmann::json& result);

 private:
  std::mutex mutex_;
  std::ofstream out_;
};

/// Short-lived TURN REST credentials (draft-uberti-behave-turn-rest): the username is the expiry
/// time, the password base64(HMAC-SHA1(secret, username)). The secret itself never leaves.
struct TurnCredentials {
  std::string username;
  std::string password;
};
TurnCredentials mint_turn_credentials(std::string_view secret, std::int64_t now_unix, int ttl_seconds);

}  // namespace natdiag::web
