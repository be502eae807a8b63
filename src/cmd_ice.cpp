// `natdiag ice`: the ICE candidates libnice gathers here (the Trickle ICE page, headless), why
// a server gave none, and optionally a real connectivity check.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "ice/diagnose.hpp"
#include "src/cli_common.hpp"
#include "src/commands.hpp"
#include "src/server_spec.hpp"
#include "src/turn_uri.hpp"

namespace natdiag::cli {
namespace {

using ice::Candidate;

struct IceCommand {
  ice::IceOptions ice;
  bool json = false;
};

/// One --turn with the credentials given after it. A --turn without credentials of its own
/// uses the previous ones (the first ones given, for those before them); credentials before any
/// --turn apply to all.
struct TurnArgs {
  std::string text;
  TurnUri uri;
  std::optional<std::string> user, password, secret;
};

void set_once(std::optional<std::string>& slot, const std::string& value, const std::string& flag,
              const std::string& turn) {
  if (slot) throw UsageError(flag + " given twice" + (turn.empty() ? "" : " for --turn " + turn));
  if (value.empty()) throw UsageError(flag + " must not be empty, got ''");
  slot = value;
}

/// The server for `t`, its missing credentials taken from `carried`; `carried` becomes what
/// the next --turn inherits.
ice::IceServer turn_server(const TurnArgs& t, TurnArgs& carried) {
  if (t.password && t.secret) throw UsageError("--password and --secret exclude each other (--turn " + t.text + ")");
  TurnArgs effective = t;
  if (!t.password && !t.secret) {
    effective.password = carried.password;
    effective.secret = carried.secret;
  }
  if (!t.user) effective.user = carried.user;
  carried = effective;
  ice::IceServer s;
  s.uri = t.text;
  s.host = t.uri.host;
  s.port = t.uri.port;
  s.transport = t.uri.transport;
  if (effective.secret) {
    if (effective.password) throw UsageError("--password and --secret exclude each other (--turn " + t.text + ")");
    s.credentials = client::rest_credentials(*effective.secret, effective.user.value_or("natdiag"));
  } else if (effective.user && effective.password) {
    s.credentials = {*effective.user, *effective.password};
  } else {
    throw UsageError("--turn " + t.text + " needs --user and --password, or --secret");
  }
  return s;
}

IceCommand parse(int argc, char** argv) {
  cxxopts::Options options("natdiag ice",
                           "ICE candidate gathering through libnice: host, srflx and relay candidates\n"
                           "as a media server built on libnice (Kurento, GStreamer webrtcbin) would\n"
                           "offer them, and why a STUN or TURN server gave none.");
  options.custom_help("[OPTIONS]");
  options.add_options()
      ("stun", "a STUN server: stun:HOST[:PORT] (repeatable; one libnice agent each)", cxxopts::value<std::vector<std::string>>())
      ("turn", "a TURN server: turn:HOST[:PORT][?transport=udp|tcp] or turns:HOST[:PORT] (repeatable)", cxxopts::value<std::vector<std::string>>())
      ("user", "TURN user for the --turn before it; a --turn without credentials uses the previous (or first) ones", cxxopts::value<std::vector<std::string>>())
      ("password", "TURN password, paired like --user", cxxopts::value<std::vector<std::string>>())
      ("secret", "TURN REST shared secret (coturn static-auth-secret): derives user and password", cxxopts::value<std::vector<std::string>>())
      ("ice-tcp", "also gather TCP candidates (RFC 6544)")
      ("no-ice-tcp", "UDP candidates only (the default)")
      ("relay-only", "only relay candidates (libnice force-relay)")
      ("check", "run a real ICE connectivity check against a second agent in this process")
      ("4,ipv4", "IPv4 only")
      ("6,ipv6", "IPv6 only")
      ("timeout", "seconds for gathering, and again for --check (default 5)", cxxopts::value<std::string>())
      ("json", "print one JSON object (schema natdiag/1)")
      ("h,help", "show this help");
  const auto args = parse_args(options, argc, argv);
  if (args.count("help")) {
    std::cout << options.help() << "\nExamples:\n"
              << "  natdiag ice --stun stun:stun.l.google.com:19302\n"
              << "  natdiag ice --stun stun:203.0.113.10 --turn turn:203.0.113.10 --user natdiag --password secretpw\n"
              << "  natdiag ice --turn 'turn:turn.example.org?transport=tcp' --secret S --relay-only --check\n";
    std::exit(kHealthy);
  }
  if (!args.unmatched().empty()) throw UsageError("unexpected argument: '" + args.unmatched().front() + "'");
  IceCommand cmd;
  auto& o = cmd.ice;
  if (args.count("stun")) {
    for (const auto& text : args["stun"].as<std::vector<std::string>>()) {
      const ServerSpec spec = parse_server(text, "--stun");
      if (spec.transport && *spec.transport != client::Transport::kUdp) {
        throw UsageError("--stun: libnice asks STUN servers over UDP only, got '" + text + "'");
      }
      o.stun.push_back({text.starts_with("stun:") ? text : "stun:" + text, spec.host,
                        spec.port.value_or(kStunPort), client::Transport::kUdp, {}});
    }
  }
  // Credentials pair with the --turn before them, so the order of the arguments matters.
  TurnArgs defaults;
  std::vector<TurnArgs> turns;
  for (const auto& kv : args.arguments()) {
    const std::string& key = kv.key();
    if (key == "turn") {
      turns.push_back({kv.value(), parse_turn_uri(kv.value(), "--turn"), {}, {}, {}});
      continue;
    }
    TurnArgs& target = turns.empty() ? defaults : turns.back();
    const std::string turn = turns.empty() ? "" : turns.back().text;
    if (key == "user") set_once(target.user, kv.value(), "--user", turn);
    if (key == "password") set_once(target.password, kv.value(), "--password", turn);
    if (key == "secret") set_once(target.secret, kv.value(), "--secret", turn);
  }
  if (turns.empty() && (defaults.user || defaults.password || defaults.secret)) {
    throw UsageError(std::string(defaults.user ? "--user" : defaults.password ? "--password" : "--secret") +
                     " needs a --turn server");
  }
  // One set of credentials after the first --turn also serves the ones before it.
  if (!defaults.password && !defaults.secret) {
    for (const auto& t : turns) {
      if (t.password || t.secret) {
        if (!defaults.user) defaults.user = t.user;
        defaults.password = t.password;
        defaults.secret = t.secret;
        break;
      }
    }
  }
  for (const auto& t : turns) o.turn.push_back(turn_server(t, defaults));  // defaults carry on
  if (args.count("ice-tcp") && args.count("no-ice-tcp")) throw UsageError("--ice-tcp and --no-ice-tcp exclude each other");
  o.ice_tcp = args.count("ice-tcp") > 0;
  o.relay_only = args.count("relay-only") > 0;
  if (o.relay_only && o.turn.empty()) throw UsageError("--relay-only needs a --turn server");
  o.check = args.count("check") > 0;
  o.family = family_from_flags(args);
  if (args.count("timeout")) o.timeout = parse_seconds(args["timeout"].as<std::string>(), "--timeout");
  if (o.timeout < ice::min_gather_timeout()) {
    // libnice cannot be told to give up on a silent server sooner: no verdict in less.
    char buf[160];
    std::snprintf(buf, sizeof buf, "--timeout must be at least %.2f s for libnice to finish gathering, got '%s'",
                  static_cast<double>(ice::min_gather_timeout().count()) / 1e6, args["timeout"].as<std::string>().c_str());
    throw UsageError(buf);
  }
  cmd.json = args.count("json") > 0;
  return cmd;
}

nlohmann::json null_or(const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); }

nlohmann::json candidate_json(const Candidate& c) {
  return {{"type", ice::type_name(c.type)},
          {"transport", ice::transport_name(c.transport)},
          {"address", c.address.ip_string()},
          {"port", c.address.port},
          {"priority", c.priority},
          {"foundation", c.foundation},
          {"server", null_or(c.server)},
          {"related_address", json_address(c.base)},
          {"elapsed_ms", json_ms(c.elapsed)}};
}

nlohmann::json addresses_json(const std::vector<stun::TransportAddress>& list) {
  auto j = nlohmann::json::array();
  for (const auto& a : list) j.push_back(a.to_string());
  return j;
}

OutputJson to_json(const ice::IceReport& r) {
  const auto& candidates_seen = r.gather.candidates;
  auto j = json_header("ice");
  j["healthy"] = r.healthy;
  auto candidates = nlohmann::json::array();
  for (const auto& c : r.gather.candidates) candidates.push_back(candidate_json(c));
  j["candidates"] = candidates;
  j["elapsed_ms"] = json_ms(r.gather.elapsed);
  j["timed_out"] = r.gather.timed_out;
  j["warnings"] = r.warnings;
  auto stun = nlohmann::json::array();
  for (const auto& s : r.stun) {
    stun.push_back({{"uri", s.uri},
                    {"address", json_address(s.address)},
                    {"srflx", addresses_json(s.srflx)},
                    {"gathered_ms", json_ms(s.gathered)},
                    {"binding_mapped_address", json_address(s.udp_mapped)},
                    {"binding_error", s.probed ? null_or(s.udp_error) : null_or(s.resolve_error)},
                    {"tcp_answered", s.tcp_answered ? nlohmann::json(*s.tcp_answered) : nullptr},
                    {"rfc3489_answered", s.rfc3489_answered ? nlohmann::json(*s.rfc3489_answered) : nullptr},
                    {"refuses_classic_stun", s.probed ? nlohmann::json(ice::refuses_classic_stun(s)) : nullptr}});
  }
  j["stun"] = stun;
  auto turn = nlohmann::json::array();
  for (const auto& t : r.turn) {
    const auto& p = t.probe;
    turn.push_back({{"uri", t.uri},
                    {"transport", client::transport_name(t.transport)},
                    {"address", json_address(t.address)},
                    {"result", client::turn_verdict_name(t.verdict())},
                    {"detail", null_or(p.detail)},
                    {"relays", addresses_json(t.relays)},
                    {"gathered_ms", json_ms(t.gathered)},
                    {"probe_result", client::turn_verdict_name(p.verdict)},
                    {"probe_relayed_address", json_address(p.relayed)},
                    {"probe_mapped_address", json_address(p.mapped)},
                    {"error_code", p.error_code ? nlohmann::json(*p.error_code) : nullptr},
                    {"realm", null_or(p.realm)},
                    {"software", p.software ? nlohmann::json(*p.software) : nullptr},
                    {"tls_problem", null_or(p.tls_problem)}});
  }
  j["turn"] = turn;
  if (r.gather.check) {
    const auto& c = *r.gather.check;
    j["check"] = {{"result", ice::check_verdict_name(ice::check_verdict(c, candidates_seen))},
                  {"crosses_nat", c.pair ? nlohmann::json(ice::pair_crosses_nat(*c.pair, candidates_seen)) : nullptr},
                  {"relays_only", c.relays_only},
                  {"local", c.pair ? candidate_json(c.pair->local) : nlohmann::json(nullptr)},
                  {"remote", c.pair ? candidate_json(c.pair->remote) : nlohmann::json(nullptr)},
                  {"state", c.state},
                  {"error", null_or(c.error)},
                  {"elapsed_ms", json_ms(c.elapsed)}};
  } else {
    j["check"] = nullptr;
  }
  return j;
}

std::string seconds_text(stun::Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", static_cast<double>(d.count()) / 1e6);
  return buf;
}

std::string counts(const std::vector<Candidate>& candidates) {
  std::string out;
  for (const auto type : {ice::CandidateType::kHost, ice::CandidateType::kServerReflexive,
                          ice::CandidateType::kPeerReflexive, ice::CandidateType::kRelayed}) {
    const auto n = std::count_if(candidates.begin(), candidates.end(), [&](const Candidate& c) { return c.type == type; });
    if (n > 0) out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + std::string(ice::type_name(type));
  }
  return out.empty() ? "no candidates" : out;
}

void print_table(const std::vector<Candidate>& candidates) {
  std::vector<std::vector<std::string>> rows{{"type", "transport", "address", "port", "priority", "foundation", "server", "time"}};
  for (const auto& c : candidates) {
    rows.push_back({std::string(ice::type_name(c.type)), std::string(ice::transport_name(c.transport)),
                    c.address.ip_string(), std::to_string(c.address.port), std::to_string(c.priority),
                    c.foundation, c.server.empty() ? "-" : c.server, format_ms(c.elapsed)});
  }
  std::vector<std::size_t> width(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line = " ";
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += " " + row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size(), ' ');
    }
    std::cout << line << "\n";
  }
}

void print_text(const ice::IceOptions& o, const ice::IceReport& r) {
  const auto& g = r.gather;
  const char* headline = g.timed_out ? "ICE gathering incomplete (timed out) after"
                         : r.healthy  ? "ICE gathering complete in"
                                      : "ICE gathering found problems in";
  std::cout << headline << " " << seconds_text(g.elapsed) << ": " << counts(g.candidates) << ".\n\n";
  if (!g.candidates.empty()) {
    print_table(g.candidates);
    std::cout << "\n";
  }
  if (!r.turn.empty()) {
    std::cout << "TURN servers:\n";
    std::size_t width = 0;
    for (const auto& t : r.turn) width = std::max(width, t.uri.size());
    for (const auto& t : r.turn) {
      std::cout << "  " << t.uri << std::string(width - t.uri.size(), ' ') << "  "
                << client::turn_verdict_name(t.verdict());
      if (!t.relays.empty()) {
        std::cout << ": relay " << t.relays.front().to_string();
      } else if (!t.probe.detail.empty()) {
        std::cout << ": " << t.probe.detail;
      }
      std::cout << "\n";
    }
    std::cout << "\n";
  }
  if (g.check) {
    const auto& c = *g.check;
    const auto verdict = ice::check_verdict(c, g.candidates);
    if (verdict != ice::CheckVerdict::kFail) {
      std::cout << "Connectivity check: "
                << (verdict == ice::CheckVerdict::kSuccess ? "success, through the NAT," : "inconclusive (host to host, not through the NAT),")
                << " in " << format_ms(c.elapsed.value_or(stun::Duration{})) << ", selected pair\n"
                << "  local  " << ice::describe(c.pair->local) << "\n"
                << "  remote " << ice::describe(c.pair->remote) << "\n\n";
    } else {
      std::cout << "Connectivity check: failed: " << c.error << "\n\n";
    }
  } else if (o.check) {
    std::cout << "Connectivity check: did not run\n\n";
  }
  if (!r.warnings.empty()) {
    std::cout << "Warnings:\n";
    for (const auto& w : r.warnings) std::cout << "  - " << w << "\n";
  }
}

}  // namespace

int run_ice(int argc, char** argv) {
  const IceCommand cmd = parse(argc, argv);
  const ice::IceReport report = ice::run_ice(cmd.ice);
  if (cmd.json) {
    std::cout << to_json(report).dump(2) << "\n";
  } else {
    print_text(cmd.ice, report);
  }
  return report.healthy ? kHealthy : kProblem;
}

}  // namespace natdiag::cli
