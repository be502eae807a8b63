// natdiag: NAT and STUN/TURN diagnostics for self-hosted WebRTC media servers.
#include <iostream>
#include <string>
#include <string_view>

#include "src/build_info.hpp"
#include "src/cli_common.hpp"
#include "src/commands.hpp"

namespace {

constexpr std::string_view kUsageText =
    "natdiag " NATDIAG_VERSION " - NAT and STUN/TURN diagnostics for WebRTC media servers\n"
    "\n"
    "Usage: natdiag COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  stun [HOST] [PORT]   Binding test (RFC 8489): local and mapped address, RTT\n"
    "  nat [HOST]           NAT behaviour: mapping and filtering (RFC 5780)\n"
    "  hairpin EXTERNAL_IP  Hairpin NAT: can this host reach its public IP? Dummy NIC advice\n"
    "  ice                  ICE candidates through libnice (host, srflx, relay), TURN diagnosis\n"
    "  profile              Everything at once: one verdict and what to configure\n"
    "  advise --from FILE   The advice again, from a saved profile --json\n"
    "  serve                RFC 5780 STUN server: the far end for the other tests\n"
    "  ports                Are the media ports open from the Internet? (--via, listen, probe)\n"
    "  turn [URI...]        TURN server check: allocation, relay round trip, --audit\n"
    "  web-report FILE      What the users' browsers found (results of serve --web)\n"
    "  config check         The media servers' config files against the network: file:line, --diff\n"
    "\n"
    "Every command takes --help and --json. Exit codes: 0 healthy, 1 problem found,\n"
    "2 bad input, 3 cannot run here.\n";

struct Command {
  std::string_view name;
  int (*run)(int, char**);
};

constexpr Command kCommands[] = {
    {"stun", natdiag::cli::run_stun},
    {"nat", natdiag::cli::run_nat},
    {"hairpin", natdiag::cli::run_hairpin},
    {"ice", natdiag::cli::run_ice},
    {"profile", natdiag::cli::run_profile},
    {"advise", natdiag::cli::run_advise},
    {"serve", natdiag::cli::run_serve},
    {"ports", natdiag::cli::run_ports},
    {"turn", natdiag::cli::run_turn},
    {"web-report", natdiag::cli::run_web_report},
    {"config", natdiag::cli::run_config},
};

}  // namespace

int main(int argc, char** argv) {
  using namespace natdiag::cli;
  if (argc < 2) {
    std::cerr << kUsageText;
    return ExitCode::kUsage;
  }
  const std::string_view first = argv[1];
  if (first == "-h" || first == "--help" || first == "help") {
    std::cout << kUsageText;
    return kHealthy;
  }
  if (first == "--version" || first == "-V") {
    std::cout << "natdiag " NATDIAG_VERSION " (git " << natdiag::build_commit() << ")\n";
    return kHealthy;
  }
  for (const Command& command : kCommands) {
    if (command.name == first) return run_command(command.name, command.run, argc - 1, argv + 1);
  }
  return report_error("", ErrorKind::kUsage,
                      "unknown command '" + std::string(first) + "' (try natdiag --help)",
                      std::string(first), wants_json(argc, argv));
}
