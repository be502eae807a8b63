// `natdiag serve`: the RFC 5780 STUN server, the far end of every other test.
#include <csignal>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "src/cli_common.hpp"
#include "src/commands.hpp"
#include "src/web_cli.hpp"
#include "stun/client/binding.hpp"
#include "src/ports/probe_back.hpp"
#include "stun/server/server.hpp"

namespace natdiag::cli {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_signal(int /*sig*/) { g_stop.store(true); }

struct ServeCommand {
  server::ServeOptions options;
  std::optional<ports::ProbeBackOptions> probe_back;  ///< --probe-back (off by default)
  bool json = false;  ///< every line, from ready to stopped, a JSON object on stdout
  std::optional<web::WebOptions> web;  ///< --web: the browser check page (src/web/)
};

ServeCommand parse(int argc, char** argv) {
  cxxopts::Options options("natdiag serve",
                           "RFC 5780 STUN server: with two IP addresses it answers CHANGE-REQUEST from\n"
                           "the right one of its four sockets; with one it is a plain STUN server.");
  options.custom_help("[OPTIONS]");
  options.add_options()
      ("primary", "primary IP address (default 0.0.0.0: all, plain STUN only; 0.0.0.0 or :: given is the same wildcard)", cxxopts::value<std::string>())
      ("alternate", "alternate IP address: enables RFC 5780 (OTHER-ADDRESS, CHANGE-REQUEST)", cxxopts::value<std::string>())
      ("port", "primary port (default 3478)", cxxopts::value<std::string>())
      ("alt-port", "alternate port (default 3479)", cxxopts::value<std::string>())
      ("transport", "udp, tcp or udp,tcp (default udp,tcp)", cxxopts::value<std::string>())
      ("threads", "UDP worker threads sharing the ports with SO_REUSEPORT (default 1)", cxxopts::value<std::string>())
      ("rate-limit", "requests per second per source IP (IPv6: per prefix), all threads together, 0 for none (default 200)", cxxopts::value<std::string>())
      ("ipv6-prefix", "IPv6 sources count as one per prefix of this length, for --rate-limit, --max-tcp-per-ip, --probe-per-minute and the --web API limits (default 64)", cxxopts::value<std::string>())
      ("max-tcp-per-ip", "TCP connections per source IP (IPv6: per prefix); a new one closes its oldest (default 8)", cxxopts::value<std::string>())
      ("software", "SOFTWARE attribute to send, at most 127 bytes, '' for none (default natdiag 0.1.0)", cxxopts::value<std::string>())
      ("probe-back", "also serve natdiag ports --via: send probes back to requesters (see docs/ports.md)")
      ("probe-port", "TCP port of the probe-back control service (default 3480)", cxxopts::value<std::string>())
      ("probe-secret", "refuse probe-back requests without this secret's HMAC", cxxopts::value<std::string>())
      ("probe-per-minute", "probe-back requests per minute per source IP (IPv6: per prefix) (default 12)", cxxopts::value<std::string>())
      ("json", "JSON lines on standard output: ready, every refusal, stopped (schema natdiag/1)")
      ("json-log", "the same as --json")
      ("h,help", "show this help");
  add_web_options(options);
  const auto args = parse_args(options, argc, argv);
  if (args.count("help")) {
    std::cout << options.help() << "\nExamples:\n"
              << "  natdiag serve --primary 203.0.113.10 --alternate 203.0.113.11   full RFC 5780\n"
              << "  natdiag serve --port 3478                                        plain STUN on all IPv4\n";
    std::exit(kHealthy);
  }
  if (!args.unmatched().empty()) {
    throw UsageError(ErrorKind::kUsage, "unexpected argument '" + args.unmatched().front() + "'",
                     args.unmatched().front());
  }
  ServeCommand cmd;
  auto& o = cmd.options;
  auto& a = o.addresses;
  if (args.count("primary")) {
    a.primary_ip = parse_ip(args["primary"].as<std::string>(), "--primary");
    // An explicit 0.0.0.0 or :: is the same wildcard as no --primary: no RESPONSE-ORIGIN of
    // 0.0.0.0, and IP_PKTINFO so each answer leaves from the address its request came to.
    a.wildcard = a.primary_ip.same_ip(net::any_address(a.primary_ip.family));
  } else {
    a.primary_ip = net::any_address(stun::Family::kIPv4);
    a.wildcard = true;
  }
  if (args.count("alternate")) {
    const auto alternate = args["alternate"].as<std::string>();
    if (a.wildcard && args.count("primary")) {
      throw conflict("--alternate " + alternate + " needs a concrete --primary, not the wildcard '" +
                         args["primary"].as<std::string>() + "' (RFC 5780 needs two concrete addresses)",
                     args["primary"].as<std::string>());
    }
    if (a.wildcard) {
      throw conflict("--alternate " + alternate + " needs --primary (RFC 5780 needs two concrete addresses)",
                     alternate);
    }
    a.alternate_ip = parse_ip(args["alternate"].as<std::string>(), "--alternate");
    if (a.alternate_ip->family != a.primary_ip.family) {
      throw conflict("--alternate " + a.alternate_ip->ip_string() + " is not of the same family as --primary",
                     args["alternate"].as<std::string>());
    }
    if (a.alternate_ip->same_ip(a.primary_ip)) {
      throw conflict("--alternate must differ from --primary, got '" + a.alternate_ip->ip_string() + "' twice",
                     args["alternate"].as<std::string>());
    }
  }
  if (args.count("port")) a.port = parse_port(args["port"].as<std::string>(), "--port");
  if (args.count("alt-port")) a.alt_port = parse_port(args["alt-port"].as<std::string>(), "--alt-port");
  if (a.port == a.alt_port) {
    throw conflict("--alt-port must differ from --port, got " + std::to_string(a.port) + " twice", std::to_string(a.alt_port));
  }
  if (args.count("transport")) {
    const auto t = args["transport"].as<std::string>();
    o.udp = t == "udp" || t == "udp,tcp" || t == "tcp,udp";
    o.tcp = t == "tcp" || t == "udp,tcp" || t == "tcp,udp";
    if (!o.udp && !o.tcp) throw bad_value("--transport", "must be udp, tcp or udp,tcp", t);
  }
  if (args.count("threads")) o.threads = parse_int(args["threads"].as<std::string>(), "--threads", 1, 64);
  if (args.count("rate-limit")) {
    o.rate_limit = parse_int(args["rate-limit"].as<std::string>(), "--rate-limit", 0, 10'000'000);
  }
  if (args.count("ipv6-prefix")) o.ipv6_prefix = parse_int(args["ipv6-prefix"].as<std::string>(), "--ipv6-prefix", 0, 128);
  if (args.count("max-tcp-per-ip")) {
    o.tcp_limits.max_per_source = static_cast<std::size_t>(parse_int(
        args["max-tcp-per-ip"].as<std::string>(), "--max-tcp-per-ip", 1, static_cast<int>(o.tcp_limits.max_connections)));
  }
  o.software = args.count("software") ? args["software"].as<std::string>()
                                      : std::string(client::software_name());
  // RFC 8489 §14.14: fewer than 128 characters; a longer one would not fit the reply cap.
  if (o.software.size() > server::kMaxSoftwareBytes) {
    throw UsageError("--software is " + std::to_string(o.software.size()) + " bytes long; at most " +
                     std::to_string(server::kMaxSoftwareBytes) + " (RFC 8489: fewer than 128 characters)");
  }
  if (args.count("probe-back")) {
    ports::ProbeBackOptions p;
    p.listen = a.primary_ip;
    p.listen.port = args.count("probe-port") ? parse_port(args["probe-port"].as<std::string>(), "--probe-port")
                                             : ports::kDefaultControlPort;
    p.ipv6_prefix = o.ipv6_prefix;
    if (args.count("probe-secret")) p.secret = args["probe-secret"].as<std::string>();
    if (args.count("probe-per-minute")) {
      p.requests_per_minute = parse_int(args["probe-per-minute"].as<std::string>(), "--probe-per-minute", 1, 1000);
    }
    cmd.probe_back = p;
  } else if (args.count("probe-port") || args.count("probe-secret") || args.count("probe-per-minute")) {
    throw UsageError("--probe-port, --probe-secret and --probe-per-minute need --probe-back");
  }
  cmd.json = args.count("json") > 0 || args.count("json-log") > 0;
  cmd.web = parse_web_options(args);
  if (cmd.web) cmd.web->ipv6_prefix = o.ipv6_prefix;
  return cmd;
}

}  // namespace

int run_serve(int argc, char** argv) {
  const ServeCommand cmd = parse(argc, argv);
  server::Server server(cmd.options);  // binds, or throws SocketError (exit 3)
  std::optional<ports::ProbeBackService> probe_back;
  if (cmd.probe_back) probe_back.emplace(*cmd.probe_back);
  const auto web = start_web(cmd.web, server.listeners());  // binds, or throws (exit 3)
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  const auto& a = cmd.options.addresses;
  const char* mode = a.full_rfc5780() ? "RFC 5780 (two addresses: OTHER-ADDRESS, CHANGE-REQUEST)"
                                      : "plain STUN (one address: CHANGE-REQUEST gets 420)";
  std::mutex out_mutex;
  // One stream: with --json every line is a JSON object on stdout (JSON lines), in text mode
  // the start and stop on stdout and the refusals on stderr.
  auto json_line = [](std::string_view event) {
    auto line = json_header("serve");
    line["event"] = event;
    return line;
  };
  if (cmd.json) {
    auto ready = json_line("ready");
    auto listeners = nlohmann::json(server.listeners());
    if (probe_back) listeners.push_back(probe_back->listener());
    ready["listeners"] = listeners;
    ready["rfc5780"] = a.full_rfc5780();
    ready["rate_limit"] = cmd.options.rate_limit;
    std::cout << ready.dump() << std::endl;
  } else {
    std::cout << "natdiag serve: " << mode << "\n";
    for (const auto& l : server.listeners()) std::cout << "  listening on " << l << "\n";
    if (probe_back) std::cout << "  listening on " << probe_back->listener() << "\n";
    std::cout << "natdiag serve: ready" << std::endl;
  }
  const auto log_refusal = [&](const std::string& reason, std::uint64_t count, const std::string& source) {
    std::lock_guard lock(out_mutex);
    if (cmd.json) {
      auto line = json_line("refused");
      line["reason"] = reason;
      line["count"] = count;
      line["last_source"] = source.empty() ? nlohmann::json(nullptr) : nlohmann::json(source);
      std::cout << line.dump() << std::endl;
    } else if (reason.rfind("tcp-", 0) == 0) {
      static const std::map<std::string, std::string> kWhy{
          {"tcp-idle", "quiet past the deadline"},
          {"tcp-incomplete", "a request begun and not finished in time"},
          {"tcp-evicted", "to make room for new ones"}};
      std::cerr << "natdiag serve: closed " << count << " TCP connection" << (count == 1 ? "" : "s") << " ("
                << kWhy.at(reason) << ")" << (source.empty() ? "" : ", last from " + source) << std::endl;
    } else {
      const bool probe_back_reason = reason.starts_with("probe-back");  // whole requests, not packets
      std::cerr << "natdiag serve: refused " << count << " " << reason
                << (probe_back_reason ? "" : count == 1 ? " packet" : " packets")
                << (source.empty() ? "" : ", last from " + source) << std::endl;
    }
  };
  std::thread probe_thread;
  if (probe_back) probe_thread = std::thread([&] { probe_back->run(g_stop, log_refusal); });
  server.run(g_stop, log_refusal);
  if (probe_thread.joinable()) probe_thread.join();
  const auto& c = server.counters();
  std::lock_guard lock(out_mutex);
  if (cmd.json) {
    auto stopped = json_line("stopped");
    stopped["received"] = c.received.load();
    stopped["answered"] = c.answered.load();
    std::cout << stopped.dump() << std::endl;
  } else {
    std::cout << "natdiag serve: stopped after " << c.received.load() << " requests, " << c.answered.load()
              << " answered" << std::endl;
  }
  return kHealthy;
}

}  // namespace natdiag::cli
