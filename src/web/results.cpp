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

namespace {

enum class Kind { kString, kNumber, kBool };
constexpr std::size_t kMaxTextBytes = 256;

/// `v` when it is of kind `k` (a string cut to kMaxTextBytes), else null.
nlohmann::json scalar(const nlohmann::json* v, Kind k) {
  if (v == nullptr) return nullptr;
  if (k == Kind::kString && v->is_string()) return v->get<std::string>().substr(0, kMaxTextBytes);
  if (k == Kind::kNumber && v->is_number()) return *v;
  if (k == Kind::kBool && v->is_boolean()) return *v;
  return nullptr;
}

const nlohmann::json* member(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

using Fields = std::initializer_list<std::pair<const char*, Kind>>;

/// An object with exactly `fields`, each from `object` or null.
nlohmann::json pick(const nlohmann::json* object, Fields fields) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, kind] : fields) out[key] = object ? scalar(member(*object, key), kind) : nullptr;
  return out;
}

/// The first `max` objects of the list `list`, each cut to `fields`; a missing list is empty.
nlohmann::json pick_list(const nlohmann::json* list, std::size_t max, Fields fields) {
  nlohmann::json out = nlohmann::json::array();
  if (list == nullptr || !list->is_array()) return out;
  for (const auto& item : *list) {
    if (out.size() >= max) break;
    if (item.is_object()) out.push_back(pick(&item, fields));
  }
  return out;
}

}  // namespace

nlohmann::json stored_result(const nlohmann::json& result) {
  using enum Kind;
  const auto* nat = member(result, "nat");
  nlohmann::json answered = nlohmann::json::array();
  if (const auto* list = nat ? member(*nat, "stun_answered") : nullptr; list && list->is_array()) {
    for (const auto& s : *list) {
      if (answered.size() < 8 && s.is_string()) answered.push_back(scalar(&s, kString));
    }
  }
  return {{"schema", "natdiag/1"},
          {"command", "web-check"},
          {"verdict", pick(member(result, "verdict"), {{"id", kString}, {"headline", kString}})},
          {"checks", pick_list(member(result, "checks"), 8,
                               {{"name", kString}, {"url", kString}, {"result", kString}, {"ms", kNumber},
                                {"rtt_ms", kNumber}, {"detail", kString}})},
          {"turn_configured", scalar(member(result, "turn_configured"), kBool)},
          {"nat", {{"mapping", nat ? scalar(member(*nat, "mapping"), kString) : nullptr},
                   {"stun_answered", answered},
                   {"srflx", pick_list(nat ? member(*nat, "srflx") : nullptr, 16,
                                       {{"server", kString}, {"address", kString}})}}},
          {"ipv6", scalar(member(result, "ipv6"), kBool)},
          {"rtt_ms", scalar(member(result, "rtt_ms"), kNumber)},
          {"candidates", pick_list(member(result, "candidates"), 32,
                                   {{"type", kString}, {"transport", kString}, {"address", kString},
                                    {"port", kNumber}, {"server", kString}})},
          {"user_agent", scalar(member(result, "user_agent"), kString)}};
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
