#include "src/web/results.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <stdexcept>

namespace natdiag::web {

std::optional<std::string> validate_result(const nlohmann::json& result) {
  if (!result.is_object()) return "the body is not a JSON object";
  const auto schema = result.find("schema");
  if (schema == result.end() || *schema != "natdiag/1") return "\"schema\" is not \"natdiag/1\"";
  const auto command = result.find("command");
  if (command == result.end() || *command != "web-check") return "\"command\" is not \"web-check\"";
  const auto verdict = result.find("verdict");
  if (verdict == result.end() || !verdict->is_object()) return "\"verdict\" is missing";
  const auto id = verdict->find("id");
  if (id == verdict->end() || !id->is_string() ||
      std::ranges::find(kVerdictIds, id->get<std::string>()) == std::end(kVerdictIds)) {
    return "\"verdict.id\" is not a known verdict";
  }
  const auto checks = result.find("checks");
  if (checks == result.end() || !checks->is_array()) return "\"checks\" is not an array";
  for (const auto& check : *checks) {
    if (!check.is_object() || !check.contains("name") || !check["name"].is_string() || !check.contains("result") ||
        (check["result"] != "works" && check["result"] != "fails" && check["result"] != "skipped")) {
      return "a check has no name or a result other than works/fails/skipped";
    }
  }
  return std::nullopt;
}

ResultsFile::ResultsFile(const std::string& path) : out_(path, std::ios::app) {
  if (!out_) throw std::runtime_error("cannot open results file '" + path + "' for appending");
}

bool ResultsFile::append(const nlohmann::json& result) {
  std::lock_guard lock(mutex_);
  out_ << result.dump() << '\n';
  out_.flush();
  return static_cast<bool>(out_);
}

TurnCredentials mint_turn_credentials(std::string_view secret, std::int64_t now_unix, int ttl_seconds) {
  TurnCredentials c;
  c.username = std::to_string(now_unix + ttl_seconds) + ":natdiag-web";
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(c.username.data()), c.username.size(), mac, &mac_len);
  std::string b64(4 * ((mac_len + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), mac, static_cast<int>(mac_len));
  b64.resize(static_cast<std::size_t>(n));
  c.password = b64;
  return c;
}

}  // namespace natdiag::web
