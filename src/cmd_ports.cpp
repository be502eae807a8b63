// `natdiag ports`: are the media ports open from the Internet? Three ways to run: --via a
// natdiag serve --probe-back outside, or `ports listen` here and `ports probe` outside.
#include <unistd.h>

#include <csignal>
#include <iostream>

#include "src/profile/advice.hpp"
#include "src/cli_common.hpp"
#include "src/commands.hpp"
#include "src/ports/control.hpp"
#include "src/ports/families.hpp"
#include "src/ports/owners.hpp"
#include "src/ports/report.hpp"
#include "src/ports/session.hpp"
#include "src/ports/via.hpp"
#include "src/server_spec.hpp"
#include "stun/net/interfaces.hpp"

namespace natdiag::cli {
namespace {

using namespace std::chrono_literals;
using ports::PortSet;

std::atomic<bool> g_stop{false};
extern "C" void on_ports_signal(int /*sig*/) {
  g_stop.store(true);
}

/// TCP ports one request may cover (serve --probe-back's limit). UDP ranges larger than one
/// request's go as several requests (ports::run_via_families).
constexpr std::uint32_t kMaxTcpPorts = ports::kMaxRequestTcpPorts;

struct PortsOptions {
  std::string mode;  // via, listen, probe
  std::string host;
  std::uint16_t control_port = ports::kDefaultControlPort;
  /// A second --via (the far end's address in the other family), or empty.
  std::string host2;
  std::uint16_t control_port2 = ports::kDefaultControlPort;
  PortSet tcp, udp;
  std::vector<ports::ServerNeed> servers;
  net::FamilyPreference family = net::FamilyPreference::kAny;
  std::chrono::microseconds timeout = 5s;
  std::chrono::microseconds duration = 120s;
  std::optional<std::string> code;
  std::string secret;
  double rate = 20000;
  bool json = false;
};

PortSet port_set(std::string_view text, std::string_view what) {
  try {
    return ports::parse_port_set(text, what);
  } catch (const ports::SpecError& e) {
    throw UsageError(e.what());
  }
}

PortsOptions parse(int argc, char** argv) {
  PortsOptions o;
  int skip = 0;
  if (argc >= 2 &&
      (std::string_view(argv[1]) == "listen" || std::string_view(argv[1]) == "probe")) {
    o.mode = argv[1];
    skip = 1;
  }
  cxxopts::Options options(
      "natdiag ports",
      "Are the media ports open from the Internet? natdiag listens on every port and has\n"
      "probes carrying a nonce sent to each from outside.");
  options.custom_help("--via HOST[:PORT] | listen | probe HOST --code CODE  [OPTIONS]");
  options.positional_help("");
  options.add_options()(
      "via", "a natdiag serve --probe-back outside that sends the probes (port default 3480); "
      "give it twice for its IPv4 and IPv6 addresses",
      cxxopts::value<std::vector<std::string>>())("for",
                                     "media servers whose ports to test: bigbluebutton, livekit, "
                                     "plugnmeet, kurento, jitsi, janus, freeswitch, coturn",
                                     cxxopts::value<std::string>())(
      "tcp", "TCP ports, e.g. 80,443,7881 (overrides --for's)", cxxopts::value<std::string>())(
      "udp", "UDP ports and ranges, e.g. 50000-60000 (overrides --for's)",
      cxxopts::value<std::string>())(
      "code", "the code `ports listen` printed (probe), or the one to use (listen)",
      cxxopts::value<std::string>())("probe-secret",
                                     "the --probe-secret of a private natdiag serve",
                                     cxxopts::value<std::string>())(
      "timeout", "seconds for the probing (default 5)", cxxopts::value<std::string>())(
      "duration", "listen: stop after this many seconds (default 120)",
      cxxopts::value<std::string>())("rate", "probe: UDP probes per second (default 20000)",
                                     cxxopts::value<std::string>())("4,ipv4", "IPv4 only")(
      "6,ipv6", "IPv6 only")("json", "one JSON object on stdout")("h,help", "show this help")(
      "positional", "", cxxopts::value<std::vector<std::string>>());
  options.parse_positional({"positional"});
  const auto args = parse_args(options, argc - skip, argv + skip);
  if (args.count("help")) {
    std::cout
        << options.help() << "\nExamples:\n"
        << "  natdiag ports --via 203.0.113.10 --for livekit      one command on the media server\n"
        << "  natdiag ports listen --for bigbluebutton             on the media server, then "
           "outside:\n"
        << "  natdiag ports probe 203.0.113.1 --for bigbluebutton --code CODE\n"
        << "\nExit codes: 0 every port open, 1 some are not (or some could not be tested), 2 bad "
           "input, 3 cannot listen here or no probe could leave this host.\n";
    std::exit(kHealthy);
  }
  std::vector<std::string> positional;
  if (args.count("positional")) positional = args["positional"].as<std::vector<std::string>>();
  o.json = args.count("json") > 0;
  o.family = family_from_flags(args);
  if (args.count("via")) {
    if (!o.mode.empty()) throw UsageError("--via does not go with ports " + o.mode);
    o.mode = "via";
    const auto vias = args["via"].as<std::vector<std::string>>();
    if (vias.size() > 2)
      throw UsageError("--via at most twice (the far end's IPv4 and IPv6 addresses), got '" +
                       vias[2] + "' as a third");
    const auto spec = parse_server(vias[0], "--via");
    o.host = spec.host;
    o.control_port = spec.port.value_or(ports::kDefaultControlPort);
    if (vias.size() == 2) {
      if (o.family != net::FamilyPreference::kAny)
        throw conflict("a second --via names the other family; it does not go with -4 or -6", vias[1]);
      const auto spec2 = parse_server(vias[1], "--via");
      o.host2 = spec2.host;
      o.control_port2 = spec2.port.value_or(ports::kDefaultControlPort);
    }
  }
  if (o.mode == "probe") {
    if (positional.size() != 1)
      throw UsageError("ports probe needs one HOST (the public address of the listening host)");
    o.host = positional.front();
    validate_host(o.host, "HOST");
    if (!args.count("code")) throw UsageError("ports probe needs --code (printed by ports listen)");
    positional.clear();
  }
  if (!positional.empty()) throw UsageError("unexpected argument '" + positional.front() + "'");
  if (args.count("code")) {
    const auto code = args["code"].as<std::string>();
    if (!ports::normalise_code(code))
      throw UsageError("--code is not a natdiag ports code (like k7fq-2mxa-9pwe), got '" + code +
                       "'");
    o.code = code;
  }
  if (args.count("probe-secret")) o.secret = args["probe-secret"].as<std::string>();
  if (args.count("timeout"))
    o.timeout = parse_seconds(args["timeout"].as<std::string>(), "--timeout");
  if (args.count("duration"))
    o.duration = parse_seconds(args["duration"].as<std::string>(), "--duration");
  if (args.count("rate")) o.rate = parse_int(args["rate"].as<std::string>(), "--rate", 100, 200000);
  if (args.count("for")) {
    const auto targets = parse_targets(args["for"].as<std::string>());
    for (auto& need : ports::server_needs(targets)) {
      o.tcp.add(need.tcp);
      o.udp.add(need.udp);
      o.servers.push_back(std::move(need));
    }
  }
  if (args.count("tcp")) o.tcp = port_set(args["tcp"].as<std::string>(), "--tcp");
  if (args.count("udp")) o.udp = port_set(args["udp"].as<std::string>(), "--udp");
  if (o.mode.empty())
    throw UsageError("ports needs --via HOST, or listen / probe HOST (see natdiag ports --help)");
  std::string portless;
  for (const auto& need : o.servers) {
    if (need.tcp.empty() && need.udp.empty()) portless += (portless.empty() ? "" : ", ") + need.name;
  }
  if (o.tcp.empty() && o.udp.empty() && !portless.empty()) {
    throw UsageError("--for " + portless +
                     ": no fixed ports in natdiag's table (it uses any port unless configured); "
                     "name them with --udp and --tcp");
  }
  if (o.tcp.empty() && o.udp.empty())
    throw UsageError("ports needs ports to test: --for SERVERS, --tcp LIST or --udp RANGES");
  if (o.tcp.size() > kMaxTcpPorts) {
    throw UsageError("--tcp: " + std::to_string(o.tcp.size()) + " TCP ports in one run, at most " +
                     std::to_string(kMaxTcpPorts));
  }
  return o;
}

void emit(const PortsOptions& o, const ports::PortsReport& report) {
  if (o.json) {
    auto out = json_header("ports");
    ports::report_to_json(report, out);
    out["ipv6"] = nullptr;  // listen takes both families on one socket per port
    std::cout << out.dump(2) << std::endl;
  } else {
    ports::print_report(std::cout, report);
  }
}

int exit_code(const ports::PortsReport& r) {
  return ports::all_open(r) ? kHealthy : kProblem;
}

/// The families' results: the first report at the top (IPv4 when both ran), the IPv6 one as
/// `ipv6` beside it; a family that failed or was not tried is a note. Exit 1 unless every
/// family that ran is all open and none failed.
int emit_families(const PortsOptions& o, ports::FamiliesResult result) {
  const auto failure = ports::settle(result);
  if (failure) {
    if (o.json) {
      auto out = json_header("ports");
      out["error"] = {{"kind", "far-end"}, {"message", *failure}, {"value", o.host}};
      std::cout << out.dump(2) << std::endl;
    } else {
      std::cerr << "natdiag ports: " << *failure << "\n";
    }
    return kProblem;
  }
  if (o.json) {
    auto out = json_header("ports");
    ports::families_to_json(result, out);
    std::cout << out.dump(2) << std::endl;
  } else {
    ports::print_families(std::cout, result);
  }
  return ports::all_open(result) ? kHealthy : kProblem;
}

int run_listen_mode(const PortsOptions& o) {
  const std::string code = o.code.value_or(ports::new_code());
  const auto key = ports::key_from_code(*ports::normalise_code(code));
  const auto start = stun::Clock::now();
  ports::Listener listener(o.tcp, o.udp, key);
  std::signal(SIGINT, on_ports_signal);
  std::signal(SIGTERM, on_ports_signal);
  std::ostream& info = o.json ? std::cerr : std::cout;
  info << "natdiag ports listen: code " << code << "\n"
       << "  listening on TCP "
       << (listener.listening_tcp().empty() ? "-" : listener.listening_tcp().to_string())
       << ", UDP "
       << (listener.listening_udp().empty() ? "-" : listener.listening_udp().to_string()) << "\n"
       << "  from a host outside, run: natdiag ports probe PUBLIC_IP --code " << code;
  if (!o.tcp.empty()) info << " --tcp " << o.tcp.to_string();
  if (!o.udp.empty()) info << " --udp " << o.udp.to_string();
  info << "\n  stops after " << std::chrono::duration_cast<std::chrono::seconds>(o.duration).count()
       << " s, or once every port got its probe" << std::endl;
  const bool live = ::isatty(STDERR_FILENO) != 0;
  ports::run_listen(listener, start + o.duration, g_stop, [&] {
    if (!live) return;
    std::cerr << "\r  seen: TCP " << listener.tcp_arrivals().size() << "/"
              << listener.listening_tcp().size() << ", UDP "
              << ports::with_thousands(listener.udp_arrivals().size()) << "/"
              << ports::with_thousands(listener.listening_udp().size()) << "   " << std::flush;
  });
  if (live) std::cerr << "\n";
  ports::PortsReport r;
  r.mode = "listen";
  r.servers = o.servers;
  r.tcp.tested = o.tcp;
  r.udp.tested = o.udp;
  r.tcp.ranges = ports::collapse(ports::listener_outcomes(
      o.tcp, listener.tcp_arrivals(),
      ports::port_owners(ports::Transport::kTcp, listener.held_tcp()), listener.held_tcp()));
  r.udp.ranges = ports::collapse(ports::listener_outcomes(
      o.udp, listener.udp_arrivals(),
      ports::port_owners(ports::Transport::kUdp, listener.held_udp()), listener.held_udp()));
  r.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(stun::Clock::now() - start);
  const auto& c = listener.counters();
  if (c.unauthenticated + c.misdirected > 0) {
    r.notes.push_back(std::to_string(c.unauthenticated) + " packets without natdiag's tag and " +
                      std::to_string(c.misdirected) + " aimed at another port were ignored");
  }
  if (!listener.held_tcp().empty()) {
    r.notes.push_back(
        "held TCP ports cannot be told apart from another machine in listen/probe mode; ports "
        "--via compares them");
  }
  emit(o, r);
  return exit_code(r);
}

int run_probe_mode(const PortsOptions& o) {
  const auto start = stun::Clock::now();
  const auto ends = ports::far_end_addresses(
      {{o.host, 0}}, o.family, start + std::min<std::chrono::microseconds>(o.timeout, 3s),
      net::global_ipv6_address().has_value(), "probe its IPv6 address too, with -6 HOST6");
  if (ends.addresses.empty()) throw UsageError("HOST " + ends.error);
  const auto key = ports::key_from_code(*ports::normalise_code(*o.code));
  ports::FamiliesResult result;
  result.untested = ends.untested;
  std::string cannot_run;  // the reason when no port of any family could be probed from here
  bool tested_any = false;
  for (const auto& target : ends.addresses) {
    const auto family_start = stun::Clock::now();
    const auto run = ports::run_probe(target, o.tcp, o.udp, key, o.rate, family_start + o.timeout);
    ports::PortsReport r;
    r.mode = "probe";
    r.far_end = target.ip_string();
    r.family = ports::family_label(target.family);
    r.servers = o.servers;
    r.tcp.tested = o.tcp;
    r.udp.tested = o.udp;
    auto tcp = ports::tcp_outcomes(o.tcp, run);
    auto udp = ports::udp_outcomes(o.udp, run);
    const bool none =
        (tcp.empty() || ports::none_tested(tcp)) && (udp.empty() || ports::none_tested(udp));
    if (none && cannot_run.empty()) cannot_run = (udp.empty() ? tcp : udp).front().evidence;
    tested_any = tested_any || !none;
    r.tcp.ranges = ports::collapse(std::move(tcp));
    r.udp.ranges = ports::collapse(std::move(udp));
    r.rounds = run.rounds;
    r.probes_sent = run.sent;
    r.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(stun::Clock::now() - family_start);
    result.runs.push_back({target.family, std::move(r), ""});
  }
  if (!tested_any && !cannot_run.empty()) {
    // Nothing left this host: no verdict about the far end, and no advice for its router.
    const std::string message = "no probe could be sent to " + o.host + ": " + cannot_run;
    if (o.json) {
      auto out = json_header("ports");
      out["error"] = {{"kind", "cannot-run"}, {"message", message}, {"value", o.host}};
      std::cout << out.dump(2) << std::endl;
    }
    std::cerr << "natdiag ports: cannot run here: " << message << "\n";
    return kCannotRun;
  }
  return emit_families(o, std::move(result));
}

}  // namespace

int run_ports(int argc, char** argv) {
  const PortsOptions o = parse(argc, argv);
  try {
    if (o.mode == "listen") return run_listen_mode(o);
    if (o.mode == "probe") return run_probe_mode(o);
    std::vector<ports::FarEndName> names{{o.host, o.control_port}};
    if (!o.host2.empty()) names.push_back({o.host2, o.control_port2});
    const auto ends = ports::far_end_addresses(
        names, o.family, stun::Clock::now() + std::min<std::chrono::microseconds>(o.timeout, 3s),
        net::global_ipv6_address().has_value(),
        "give --via twice: the far end's IPv4 and IPv6 addresses");
    if (ends.same_family) throw UsageError("--via " + ends.error);
    if (ends.addresses.empty()) {
      ports::FamiliesResult failed;
      failed.runs.push_back({stun::Family::kIPv4, std::nullopt, "--via " + ends.error});
      return emit_families(o, std::move(failed));
    }
    ports::ViaOptions via{o.host, o.control_port, o.family,  o.tcp,
                          o.udp,  o.servers,      o.timeout, o.secret};
    auto result = ports::run_via_families(via, ends.addresses);
    result.untested.insert(result.untested.begin(), ends.untested.begin(), ends.untested.end());
    return emit_families(o, std::move(result));
  } catch (const ports::DescriptorLimitError& e) {
    if (o.json) {
      auto out = json_header("ports");
      out["error"] = {{"kind", "cannot-run"}, {"message", e.what()}, {"value", nullptr}};
      std::cout << out.dump(2) << std::endl;
    }
    std::cerr << "natdiag ports: cannot run here: " << e.what() << "\n";
    return kCannotRun;
  }
}

}  // namespace natdiag::cli
