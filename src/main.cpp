// natdiag: NAT and STUN/TURN diagnostics for self-hosted WebRTC media servers.
#include <cstring>
#include <exception>
#include <iostream>
#include <string_view>

#include "src/cli_common.hpp"
#include "src/commands.hpp"
#include "stun/net/socket.hpp"

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
    {"web-report", natdiag::cli::run_web_report},
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
    std::cout << "natdiag " NATDIAG_VERSION "\n";
    return kHealthy;
  }
  for (const Command& command : kCommands) {
    if (command.name != first) continue;
    try {
      return command.run(argc - 1, argv + 1);
    } catch (const UsageError& e) {
      std::cerr << "natdiag " << first << ": " << e.what() << "\n";
      return ExitCode::kUsage;
    } catch (const natdiag::net::SocketError& e) {
      std::cerr << "natdiag " << first << ": cannot run here: " << e.what() << "\n";
      return ExitCode::kCannotRun;
    } catch (const std::exception& e) {
      std::cerr << "natdiag " << first << ": " << e.what() << "\n";
      return ExitCode::kCannotRun;
    }
  }
  std::cerr << "natdiag: unknown command '" << first << "' (try natdiag --help)\n";
  return ExitCode::kUsage;
}
