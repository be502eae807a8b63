// `natdiag turn [URI...]`: does the TURN server work, and is it safe? Allocation, a real round
// trip through the relay (Send/Data and ChannelData), errors in words, and --audit of what the
// relay may reach.
#include <algorithm>
#include <future>
#include <iostream>

#include "src/cli_common.hpp"
#include "src/commands.hpp"
#include "src/server_spec.hpp"
#include "src/turn_report.hpp"
#include "src/turn_uri.hpp"
#include "stun/client/turn_check.hpp"
#include "stun/net/socket.hpp"

namespace natdiag::cli {
namespace {

/// A usage error that knows the bad value, for the JSON error object.
class TurnUsageError : public UsageError {
 public:
  TurnUsageError(const std::string& message, std::string value)
      : UsageError(message), value_(std::move(value)) {}
  [[nodiscard]] const std::string& value() const noexcept { return value_; }

 private:
  std::string value_;
};

struct TurnTarget {
  std::string uri;  ///< as shown: "turn:host:port?transport=udp"
  client::TurnCheckOptions options;
};

struct TurnCommand {
  std::vector<TurnTarget> targets;
  std::string realm;  ///< --realm: the realm the media server is configured with
  bool json = false;
};

std::string uri_text(const std::string& host, std::uint16_t port, client::Transport t) {
  const bool v6 = host.find(':') != std::string::npos;
  const std::string h = v6 ? "[" + host + "]" : host;
  switch (t) {
    case client::Transport::kUdp: return "turn:" + h + ":" + std::to_string(port) + "?transport=udp";
    case client::Transport::kTcp: return "turn:" + h + ":" + std::to_string(port) + "?transport=tcp";
    case client::Transport::kTls: return "turns:" + h + ":" + std::to_string(port) + "?transport=tcp";
  }
  return h;
}

std::vector<client::Transport> parse_transports(const std::string& text) {
  std::vector<client::Transport> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const std::string t = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (t == "udp") out.push_back(client::Transport::kUdp);
    else if (t == "tcp") out.push_back(client::Transport::kTcp);
    else if (t == "tls") out.push_back(client::Transport::kTls);
    else throw TurnUsageError("--transport takes udp, tcp, tls (comma-separated), got '" + t + "'", t);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

TurnCommand parse(int argc, char** argv) {
  cxxopts::Options options("natdiag turn",
                           "Does the TURN server work, and is it safe? Allocation, a relay round "
                           "trip, errors explained (RFC 8656).");
  options.custom_help("[OPTIONS]");
  options.positional_help("URI|HOST[:PORT]...");
  options.add_options()
      ("u,user", "TURN user name", cxxopts::value<std::string>())
      ("p,password", "TURN password (long-term credentials)", cxxopts::value<std::string>())
      ("secret", "TURN REST shared secret (coturn static-auth-secret)", cxxopts::value<std::string>())
      ("ttl", "TURN REST credential lifetime in seconds (default 86400; 0 or less: already expired)", cxxopts::value<std::string>())
      ("realm", "the realm the media server uses (compared with the server's)", cxxopts::value<std::string>())
      ("t,transport", "for bare hosts: udp,tcp,tls (default all three)", cxxopts::value<std::string>())
      ("tls-port", "for bare hosts: TLS ports, comma-separated (default 5349)", cxxopts::value<std::string>())
      ("audit", "ask for permissions to loopback, private, metadata, multicast addresses (no data sent)")
      ("c,count", "relay packets per data path (default 10)", cxxopts::value<std::string>())
      ("insecure", "TLS: do not verify the server certificate")
      ("ca-file", "TLS: trust this PEM CA file too", cxxopts::value<std::string>())
      ("timeout", "seconds for each URI's whole check (default 5)", cxxopts::value<std::string>())
      ("4,ipv4", "use IPv4 only")
      ("6,ipv6", "use IPv6 only")
      ("json", "print one JSON object (schema natdiag/1)")
      ("h,help", "show this help")
      ("args", "", cxxopts::value<std::vector<std::string>>());
  options.parse_positional({"args"});
  const auto args = parse_args(options, argc, argv);
  if (args.count("help")) {
    std::cout << options.help() << "\nExamples:\n"
              << "  natdiag turn turn.example.org --user u --password p   UDP+TCP 3478, TLS 5349\n"
              << "  natdiag turn turns:turn.example.org:443 --secret S     TURN REST over TLS on 443\n"
              << "  natdiag turn 'turn:10.0.0.5?transport=tcp' -u u -p p --audit\n";
    std::exit(kHealthy);
  }
  TurnCommand cmd;
  cmd.json = args.count("json") > 0;
  client::TurnCheckOptions base;
  base.family = family_from_flags(args);
  const bool user = args.count("user") > 0;
  const bool password = args.count("password") > 0;
  const bool secret = args.count("secret") > 0;
  if (secret && password) {
    throw TurnUsageError("--secret and --password exclude each other", "--secret");
  }
  if (password && !user) throw TurnUsageError("--password needs --user", "--password");
  if (user && !password && !secret) {
    throw TurnUsageError("--user needs --password (or --secret for TURN REST)", "--user");
  }
  if (args.count("ttl") && !secret) throw TurnUsageError("--ttl needs --secret", "--ttl");
  if (secret) {
    std::int64_t ttl = client::kRestCredentialLifetime.count();
    if (args.count("ttl")) {
      const auto text = args["ttl"].as<std::string>();
      try {
        std::size_t used = 0;
        ttl = std::stoll(text, &used);
        if (used != text.size() || ttl < -31536000 || ttl > 31536000) throw std::out_of_range(text);
      } catch (const std::exception&) {
        throw TurnUsageError("--ttl must be whole seconds within a year, got '" + text + "'", text);
      }
    }
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    base.credentials = client::rest_credentials(
        args["secret"].as<std::string>(), user ? args["user"].as<std::string>() : "natdiag",
        now + ttl);
    base.rest_ttl = ttl;
  } else if (user) {
    base.credentials = client::TurnCredentials{args["user"].as<std::string>(),
                                               args["password"].as<std::string>()};
  }
  if (base.credentials) {
    check_turn_username(base.credentials->username, user ? args["user"].as<std::string>() : "");
  }
  if (args.count("realm")) cmd.realm = args["realm"].as<std::string>();
  base.audit = args.count("audit") > 0;
  if (args.count("count")) base.count = parse_int(args["count"].as<std::string>(), "--count", 1, 1000);
  base.tls_verify = args.count("insecure") == 0;
  if (args.count("ca-file")) {
    base.ca_file = args["ca-file"].as<std::string>();
    if (!base.tls_verify) throw TurnUsageError("--ca-file and --insecure exclude each other", "--ca-file");
  }
  if (args.count("timeout")) base.timeout = parse_seconds(args["timeout"].as<std::string>(), "--timeout");
  std::vector<client::Transport> transports = {client::Transport::kUdp, client::Transport::kTcp,
                                               client::Transport::kTls};
  if (args.count("transport")) transports = parse_transports(args["transport"].as<std::string>());
  std::vector<std::uint16_t> tls_ports = {kTurnsPort};
  if (args.count("tls-port")) tls_ports = parse_port_list(args["tls-port"].as<std::string>(), "--tls-port");

  const auto positional = args.count("args") ? args["args"].as<std::vector<std::string>>()
                                              : std::vector<std::string>{};
  if (positional.empty()) throw TurnUsageError("name a TURN server: natdiag turn HOST or URI", "");
  for (const auto& arg : positional) {
    const bool is_uri = arg.rfind("turn:", 0) == 0 || arg.rfind("turns:", 0) == 0 ||
                        arg.rfind("TURN:", 0) == 0 || arg.rfind("TURNS:", 0) == 0;
    if (is_uri) {
      const TurnUri uri = parse_turn_uri(arg, "URI");
      TurnTarget t{uri_text(uri.host, uri.port, uri.transport), base};
      t.options.host = uri.host;
      t.options.port = uri.port;
      t.options.transport = uri.transport;
      cmd.targets.push_back(std::move(t));
      continue;
    }
    const ServerSpec spec = parse_server(arg, "HOST");
    if (spec.transport) throw TurnUsageError("a TURN server is turn:, turns: or a bare host, got '" + arg + "'", arg);
    for (const auto transport : transports) {
      std::vector<std::uint16_t> ports = {spec.port.value_or(kTurnPort)};
      if (transport == client::Transport::kTls) ports = tls_ports;
      for (const auto port : ports) {
        TurnTarget t{uri_text(spec.host, port, transport), base};
        t.options.host = spec.host;
        t.options.port = port;
        t.options.transport = transport;
        cmd.targets.push_back(std::move(t));
      }
    }
  }
  return cmd;
}

struct TurnRun {
  std::vector<client::TurnCheckReport> reports;
  std::vector<client::TurnFinding> findings;  ///< across URIs
  std::chrono::microseconds elapsed{};
};

bool counts(const client::TurnFinding& f) { return f.severity != "info"; }

/// A relay that could not be tested from here (relay_unknown) is no problem by itself: its
/// finding says why, and counts when it is a warning.
bool broken(const client::TurnCheckReport& r) { return !r.problem.empty(); }

bool healthy(const TurnRun& run) {
  for (const auto& r : run.reports) {
    if (broken(r) || std::any_of(r.findings.begin(), r.findings.end(), counts)) return false;
  }
  return std::none_of(run.findings.begin(), run.findings.end(), counts);
}

std::string summary(const TurnRun& run) {
  const auto failed = std::count_if(run.reports.begin(), run.reports.end(), broken);
  const auto untested = std::count_if(run.reports.begin(), run.reports.end(),
                                      [](const auto& r) { return !r.relay_unknown.empty(); });
  const auto n = run.reports.size();
  std::size_t problems = std::count_if(run.findings.begin(), run.findings.end(), counts);
  for (const auto& r : run.reports) problems += std::count_if(r.findings.begin(), r.findings.end(), counts);
  const std::string also =
      problems == 0 ? "" : "; " + std::to_string(problems) + (problems == 1 ? " finding" : " findings") + " below";
  if (failed == 0 && untested > 0) {
    return "TURN allocates: " + std::to_string(n) + (n == 1 ? " URI" : " URIs") + " allocated; " +
           (n == 1 ? std::string("its relay") : "the relay of " + std::to_string(untested)) +
           " could not be tested from here (see why below)" + also;
  }
  if (failed == 0) {
    return "TURN works: " + std::to_string(n) + (n == 1 ? " URI" : " URIs") +
           " allocated and relayed data both ways" + also;
  }
  return "TURN is NOT working: " + std::to_string(failed) + " of " + std::to_string(n) +
         (n == 1 ? " URI" : " URIs") + " failed" + also;
}

OutputJson to_json(const TurnCommand& cmd, const TurnRun& run) {
  auto j = json_header("turn");
  j["verdict"] = healthy(run) ? "ok" : "problem";
  j["summary"] = summary(run);
  OutputJson uris = OutputJson::array();
  for (std::size_t i = 0; i < run.reports.size(); ++i) {
    uris.push_back(turn_uri_json(cmd.targets[i].uri, run.reports[i], cmd.targets[i].options.audit));
  }
  j["uris"] = uris;
  j["findings"] = turn_findings_json(run.findings);
  j["elapsed_ms"] = json_ms(run.elapsed);
  return j;
}

std::string stats_text(const client::RelayStats& s) {
  if (s.received == 0) return std::to_string(s.sent) + " sent, none back";
  return "RTT min " + format_ms(*s.rtt_min) + ", avg " + format_ms(*s.rtt_avg) + ", max " +
         format_ms(*s.rtt_max) + "; " + std::to_string(s.sent) + " sent, " +
         std::to_string(s.received) + " back, " +
         std::to_string(100 * (s.sent - s.received) / std::max(1, s.sent)) + "% loss";
}

void print_findings(const std::vector<client::TurnFinding>& findings, const char* indent) {
  for (const auto& f : findings) {
    std::cout << indent << "[" << f.severity << "] " << f.message << "\n";
    for (const auto& line : f.fix) std::cout << indent << "    " << line << "\n";
  }
}

void print_text(const TurnCommand& cmd, const TurnRun& run) {
  std::cout << summary(run) << "\n";
  for (std::size_t i = 0; i < run.reports.size(); ++i) {
    const auto& r = run.reports[i];
    std::cout << "\n" << cmd.targets[i].uri << "\n  " << (broken(r) ? "NOT working: " : "") << r.verdict << "\n";
    for (const auto& s : r.steps) {
      char name[16];
      std::snprintf(name, sizeof name, "%-13s", s.name.c_str());
      char ms[16];
      std::snprintf(ms, sizeof ms, "%9s", format_ms(s.elapsed).c_str());
      std::cout << "  " << (s.ok ? "ok   " : "FAIL ") << name << ms << "  " << s.detail << "\n";
    }
    if (r.send_data) std::cout << "  Send/Data    " << stats_text(*r.send_data) << "\n";
    if (r.channel_data) std::cout << "  ChannelData  " << stats_text(*r.channel_data) << "\n";
    if (r.software) std::cout << "  software     " << *r.software << "\n";
    if (!r.realm.empty()) std::cout << "  realm        " << r.realm << "\n";
    if (!r.findings.empty()) print_findings(r.findings, "  ");
  }
  if (!run.findings.empty()) {
    std::cout << "\n";
    print_findings(run.findings, "");
  }
  std::cout << "\nElapsed: " << format_ms(run.elapsed) << "\n";
}

TurnRun run_checks(const TurnCommand& cmd) {
  TurnRun run;
  const auto start = stun::Clock::now();
  // Independent URIs run at once (design.md: timing).
  std::vector<std::future<client::TurnCheckReport>> futures;
  for (const auto& t : cmd.targets) {
    futures.push_back(std::async(std::launch::async, [&t] { return client::check_turn(t.options); }));
  }
  for (auto& f : futures) run.reports.push_back(f.get());
  run.findings = client::cross_findings(run.reports);
  if (!cmd.realm.empty()) {
    for (const auto& r : run.reports) {
      if (!r.realm.empty() && r.realm != cmd.realm) {
        run.findings.push_back({"realm-mismatch", "warning",
                                "the server's realm is '" + r.realm + "', not '" + cmd.realm + "'",
                                {"realm=" + cmd.realm + "  # or configure the media server with '" + r.realm + "'"}});
        break;
      }
    }
  }
  run.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(stun::Clock::now() - start);
  return run;
}

void print_error(bool json, std::string_view kind, const std::string& message, const std::string& value) {
  if (json) {
    auto j = json_header("turn");
    j["error"] = {{"kind", kind}, {"message", message}, {"value", value.empty() ? OutputJson(nullptr) : OutputJson(value)}};
    std::cout << j.dump(2) << "\n";
  }
  std::cerr << "natdiag turn: " << (kind == "cannot-run" ? "cannot run here: " : "") << message << "\n";
}

}  // namespace

int run_turn(int argc, char** argv) {
  const bool json = std::any_of(argv, argv + argc, [](const char* a) { return std::string_view(a) == "--json"; });
  TurnCommand cmd;
  try {
    cmd = parse(argc, argv);
  } catch (const TurnUsageError& e) {
    print_error(json, "usage", e.what(), e.value());
    return kUsage;
  } catch (const UsageError& e) {
    print_error(json, "usage", e.what(), e.value().value_or(""));
    return kUsage;
  }
  TurnRun run;
  try {
    run = run_checks(cmd);
  } catch (const net::SocketError& e) {
    print_error(json, "cannot-run", e.what(), "");
    return kCannotRun;
  }
  if (cmd.json) {
    std::cout << to_json(cmd, run).dump(2) << "\n";
  } else {
    print_text(cmd, run);
  }
  return healthy(run) ? kHealthy : kProblem;
}

}  // namespace natdiag::cli
