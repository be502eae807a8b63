#include "src/web/report.hpp"

#include <ctime>

#include <nlohmann/json.hpp>

#include "src/web/results.hpp"

namespace natdiag::web {
namespace {

std::string check_result(const nlohmann::json& result, const std::string& name) {
  for (const auto& c : result["checks"]) {
    if (c.value("name", "") == name) return c.value("result", "skipped");
  }
  return "skipped";
}

/// The network as the checks saw it: "UDP open", "UDP blocked, TCP open", "everything blocked",
/// plus the NAT mapping the page measured ("UDP open, endpoint-independent NAT").
std::string network_type(const nlohmann::json& result) {
  const bool udp = check_result(result, "udp") == "works" || check_result(result, "turn-udp") == "works";
  bool tcp = check_result(result, "tcp") == "works";
  for (const auto& c : result["checks"]) {
    const std::string name = c.value("name", "");
    if ((name == "turn-tcp" || name == "turn-tls") && c.value("result", "") == "works") tcp = true;
  }
  std::string type = udp ? "UDP open" : tcp ? "UDP blocked, TCP open" : "nothing reached the server";
  const auto nat = result.find("nat");
  if (nat != result.end() && nat->is_object() && (*nat)["mapping"].is_string()) {
    type += ", mapping " + (*nat)["mapping"].get<std::string>();
  }
  return type;
}

}  // namespace

WebReport summarise(std::istream& in) {
  WebReport r;
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto result = nlohmann::json::parse(line, nullptr, false);
    if (result.is_discarded() || validate_result(result)) {
      ++r.bad_lines;
      continue;
    }
    ++r.users;
    const std::string id = result["verdict"]["id"];
    ++r.by_verdict[id];
    ++r.by_network[network_type(result)];
    if (id == "direct-udp") ++r.direct_udp;
    if (id == "turn-udp" || id == "turn-tcp") ++r.needed_turn;
    if (id == "ice-tcp") ++r.ice_tcp_only;
    if (id == "cannot-connect") {
      ++r.failed;
      std::string when = "unknown time";
      if (result.contains("received_at") && result["received_at"].is_number_integer()) {
        const std::time_t t = result["received_at"].get<std::int64_t>();
        char buf[32];
        std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&t));
        when = buf;
      }
      const auto ua = result.find("user_agent");
      const std::string agent = ua != result.end() && ua->is_string() ? ua->get<std::string>() : "";
      r.failures.push_back(when + (agent.empty() ? "" : ", " + agent.substr(0, 80)));
    }
  }
  return r;
}

}  // namespace natdiag::web
