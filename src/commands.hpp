// The subcommands. Each parses its own arguments (after the subcommand name) and returns an
// exit code from cli_common.hpp; bad input is thrown as UsageError.
#pragma once

namespace natdiag::cli {

int run_stun(int argc, char** argv);
int run_serve(int argc, char** argv);
int run_nat(int argc, char** argv);
int run_profile(int argc, char** argv);
int run_advise(int argc, char** argv);
int run_hairpin(int argc, char** argv);
int run_ice(int argc, char** argv);
int run_ports(int argc, char** argv);
int run_turn(int argc, char** argv);
int run_web_report(int argc, char** argv);
int run_config(int argc, char** argv);

}  // namespace natdiag::cli
