// `natdiag serve`: the RFC 5780 STUN server, the far end of every other test.
#include <csignal>
#include <iostream>
#include <mutex>

#include "src/cli_common.hpp"
#include "src/commands.hpp"
#include "src/web_cli.hpp"
#include "stun/client/binding.hpp"
#include "stun/server/server.hpp"

namespace natdiag::cli {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_signal(int /*sig*/) { g_stop.store(true); }

struct ServeCommand {
  server::ServeOptions options;
  bool json_log = false;
  std::optional<web::WebOptions> web;  ///< --web: the browser check page (src/web/)
};

ServeCommand parse(int argc, char** argv) {
  cxxopts::Options options("natdiag serve",
                           "RFC 5780 STUN server: with two IP addresses it answers CHANGE-REQUEST from\n"
                           "the right one of its four sockets; with one it is a plain STUN server.");
  options.custom_help("[OPTIONS]");
  options.add_options()
      ("primary", "primary IP address (default 0.0.0.0: all, plain STUN only)", cxxopts::value<std::string>())
      ("alternate", "alternate IP address: enables RFC 5780 (OTHER-ADDRESS, CHANGE-REQUEST)", cxxopts::value<std::string>())
      ("port", "primary port (default 3478)", cxxopts::value<std::string>())
      ("alt-port", "alternate port (default 3479)", cxxopts::value<std::string>())
      ("transport", "udp, tcp or udp,tcp (default udp,tcp)", cxxopts::value<std::string>())
      ("threads", "UDP worker threads sharing the ports with SO_REUSEPORT (default 1)", cxxopts::value<std::string>())
      ("rate-limit", "requests per second per source IP, 0 for none (default 200)", cxxopts::value<std::string>())
      ("software", "SOFTWARE attribute to send, '' for none (default natdiag 0.1.0)", cxxopts::value<std::string>())
      ("json-log", "log refusals as JSON lines")
      ("h,help", "show this help");
  add_web_options(options);
  const auto args = parse_args(options, argc, argv);
  if (args.count("help")) {
    std::cout << options.help() << "\nExamples:\n"
              << "  natdiag serve --primary 203.0.113.10 --alternate 203.0.113.11   full RFC 5780\n"
              << "  natdiag serve --port 3478                                        plain STUN on all IPv4\n";
    std::exit(kHealthy);
  }
  if (!args.unmatched().empty()) throw UsageError("unexpected argument '" + args.unmatched().front() + "'");
  ServeCommand cmd;
  auto& o = cmd.options;
  auto& a = o.addresses;
  if (args.count("primary")) {
    a.primary_ip = parse_ip(args["primary"].as<std::string>(), "--primary");
  } else {
    a.primary_ip = net::any_address(stun::Family::kIPv4);
    a.wildcard = true;
  }
  if (args.count("alternate")) {
    if (a.wildcard) throw UsageError("--alternate needs --primary (RFC 5780 needs two concrete addresses)");
    a.alternate_ip = parse_ip(args["alternate"].as<std::string>(), "--alternate");
    if (a.alternate_ip->family != a.primary_ip.family) {
      throw UsageError("--alternate " + a.alternate_ip->ip_string() + " is not of the same family as --primary");
    }
    if (a.alternate_ip->same_ip(a.primary_ip)) {
      throw UsageError("--alternate must differ from --primary, got '" + a.alternate_ip->ip_string() + "' twice");
    }
  }
  if (args.count("port")) a.port = parse_port(args["port"].as<std::string>(), "--port");
  if (args.count("alt-port")) a.alt_port = parse_port(args["alt-port"].as<std::string>(), "--alt-port");
  if (a.port == a.alt_port) throw UsageError("--alt-port must differ from --port, got " + std::to_string(a.port) + " twice");
  if (args.count("transport")) {
    const auto t = args["transport"].as<std::string>();
    o.udp = t == "udp" || t == "udp,tcp" || t == "tcp,udp";
    o.tcp = t == "tcp" || t == "udp,tcp" || t == "tcp,udp";
    if (!o.udp && !o.tcp) throw UsageError("--transport must be udp, tcp or udp,tcp, got '" + t + "'");
  }
  if (args.count("threads")) o.threads = parse_int(args["threads"].as<std::string>(), "--threads", 1, 64);
  if (args.count("rate-limit")) {
    o.rate_limit = parse_int(args["rate-limit"].as<std::string>(), "--rate-limit", 0, 10'000'000);
  }
  o.software = args.count("software") ? args["software"].as<std::string>()
                                      : std::string(client::software_name());
  cmd.json_log = args.count("json-log") > 0;
  cmd.web = parse_web_options(args);
  return cmd;
}

}  // namespace

int run_serve(int argc, char** argv) {
  const ServeCommand cmd = parse(argc, argv);
  server::Server server(cmd.options);  // binds, or throws SocketError (exit 3)
  const auto web = start_web(cmd.web, server.listeners());  // binds, or throws (exit 3)
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  const auto& a = cmd.options.addresses;
  const char* mode = a.full_rfc5780() ? "RFC 5780 (two addresses: OTHER-ADDRESS, CHANGE-REQUEST)"
                                      : "plain STUN (one address: CHANGE-REQUEST gets 420)";
  std::mutex out_mutex;
  if (cmd.json_log) {
    auto ready = json_header("serve");
    ready["event"] = "ready";
    ready["listeners"] = server.listeners();
    ready["rfc5780"] = a.full_rfc5780();
    ready["rate_limit"] = cmd.options.rate_limit;
    std::cout << ready.dump() << std::endl;
  } else {
    std::cout << "natdiag serve: " << mode << "\n";
    for (const auto& l : server.listeners()) std::cout << "  listening on " << l << "\n";
    std::cout << "natdiag serve: ready" << std::endl;
  }
  server.run(g_stop, [&](const std::string& reason, std::uint64_t count, const std::string& source) {
    std::lock_guard lock(out_mutex);
    if (cmd.json_log) {
      auto line = json_header("serve");
      line["event"] = "refused";
      line["reason"] = reason;
      line["count"] = count;
      line["last_source"] = source.empty() ? nlohmann::json(nullptr) : nlohmann::json(source);
      std::cerr << line.dump() << std::endl;
    } else {
      std::cerr << "natdiag serve: refused " << count << " " << reason << " packet" << (count == 1 ? "" : "s")
                << (source.empty() ? "" : ", last from " + source) << std::endl;
    }
  });
  const auto& c = server.counters();
  std::cout << "natdiag serve: stopped after " << c.received.load() << " requests, " << c.answered.load()
            << " answered" << std::endl;
  return kHealthy;
}

}  // namespace natdiag::cli
