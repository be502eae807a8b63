#include "src/turn_report.hpp"

namespace natdiag::cli {
namespace {

OutputJson json_stats(const std::optional<client::RelayStats>& s) {
  if (!s) return nullptr;
  return {{"sent", s->sent},
          {"received", s->received},
          {"loss", s->sent ? static_cast<double>(s->sent - s->received) / s->sent : 0.0},
          {"rtt_min_ms", json_ms(s->rtt_min)},
          {"rtt_avg_ms", json_ms(s->rtt_avg)},
          {"rtt_max_ms", json_ms(s->rtt_max)}};
}

}  // namespace

OutputJson turn_findings_json(const std::vector<client::TurnFinding>& findings) {
  OutputJson out = OutputJson::array();
  for (const auto& f : findings) {
    out.push_back({{"id", f.id}, {"severity", f.severity}, {"message", f.message}, {"fix", f.fix}});
  }
  return out;
}

namespace {

template <typename T>
OutputJson or_null(const std::optional<T>& v) {
  return v ? OutputJson(*v) : OutputJson(nullptr);
}

}  // namespace

OutputJson turn_uri_json(const std::string& uri, const client::TurnCheckReport& r, bool audit_asked) {
  OutputJson steps = OutputJson::array();
  for (const auto& s : r.steps) {
    steps.push_back({{"name", s.name}, {"ok", s.ok}, {"ms", json_ms(s.elapsed)}, {"detail", s.detail}});
  }
  OutputJson tls = nullptr;
  if (r.transport == client::Transport::kTls && (r.certificate || !r.tls_problem.empty())) {
    tls = {{"verified", r.tls_problem.empty() ? or_null(r.tls_verified) : OutputJson(false)},
           {"problem", r.tls_problem.empty() ? OutputJson(nullptr) : OutputJson(r.tls_problem)},
           {"subject", r.certificate ? OutputJson(r.certificate->subject) : OutputJson(nullptr)},
           {"names", r.certificate ? OutputJson(r.certificate->names) : OutputJson(nullptr)},
           {"not_after", r.certificate ? OutputJson(r.certificate->not_after) : OutputJson(nullptr)},
           {"days_left", r.certificate ? OutputJson(r.certificate->days_left) : OutputJson(nullptr)}};
  }
  OutputJson audit = nullptr;
  if (audit_asked && !r.audit.empty()) {
    audit = OutputJson::array();
    for (const auto& a : r.audit) {
      audit.push_back({{"address", a.address}, {"category", a.category}, {"outcome", a.outcome},
                       {"error_code", or_null(a.error_code)}});
    }
  }
  return {{"uri", uri},
          {"host", r.host},
          {"port", r.port},
          {"transport", client::transport_name(r.transport)},
          {"server", json_address(r.server)},
          {"local_address", json_address(r.local)},
          // null: nothing failed, but the relay could not be tested from here (relay_unknown).
          {"working", r.problem.empty() && !r.relay_unknown.empty() ? OutputJson(nullptr)
                                                                     : OutputJson(r.working)},
          {"problem", r.problem.empty() ? OutputJson(nullptr) : OutputJson(r.problem)},
          {"relay_unknown", r.relay_unknown.empty() ? OutputJson(nullptr) : OutputJson(r.relay_unknown)},
          {"verdict", r.verdict},
          {"steps", steps},
          {"relayed_address", json_address(r.relayed)},
          {"mapped_address", json_address(r.mapped)},
          {"lifetime_s", or_null(r.lifetime)},
          {"realm", r.realm.empty() ? OutputJson(nullptr) : OutputJson(r.realm)},
          {"software", or_null(r.software)},
          {"authenticated", or_null(r.authenticated)},
          {"error", r.error_code ? OutputJson{{"code", *r.error_code},
                                                  {"reason", r.error_reason},
                                                  {"meaning", r.error_meaning}}
                                 : OutputJson(nullptr)},
          {"tls", tls},
          {"relay", {{"send_data", json_stats(r.send_data)}, {"channel_data", json_stats(r.channel_data)}}},
          {"released", or_null(r.released)},
          {"audit", audit},
          {"elapsed_ms", json_ms(r.elapsed)},
          {"findings", turn_findings_json(r.findings)}};
}

std::vector<Finding> turn_profile_findings(const std::string& uri,
                                           const client::TurnCheckReport& r) {
  std::vector<Finding> out;
  // Warning, as profile rates a missing relay; the check adds why, in words.
  if (!r.problem.empty()) {
    out.push_back({"turn-not-working", "warning", "TURN " + uri + ": " + r.verdict, ""});
  }
  for (const auto& f : r.findings) {
    if (f.severity == "info") continue;
    std::string fix;
    for (const auto& line : f.fix) fix += (fix.empty() ? "" : "\n") + line;
    out.push_back({"turn-" + f.id, f.severity, "TURN " + uri + ": " + f.message, fix});
  }
  return out;
}

}  // namespace natdiag::cli
