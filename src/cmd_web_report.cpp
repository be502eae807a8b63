// `natdiag web-report FILE`: what the users' browsers found, from `serve --web --results FILE`.
#include <fstream>
#include <iostream>

#include "src/cli_common.hpp"
#include "src/commands.hpp"
#include "src/web/report.hpp"

namespace natdiag::cli {
namespace {

struct WebReportCommand {
  std::string file;
  bool json = false;
};

WebReportCommand parse(int argc, char** argv) {
  cxxopts::Options options("natdiag web-report", "Summarises the results the browser check page sent back\n"
                                                 "(natdiag serve --web --results FILE).");
  options.custom_help("FILE [OPTIONS]");
  options.add_options()("json", "one JSON object")("h,help", "show this help")(
      "file", "results file", cxxopts::value<std::string>());
  options.parse_positional({"file"});
  const auto args = parse_args(options, argc, argv);
  if (args.count("help")) {
    std::cout << options.help() << "\nExample:\n  natdiag web-report /var/lib/natdiag/web-results.jsonl\n";
    std::exit(kHealthy);
  }
  if (!args.unmatched().empty()) throw UsageError("unexpected argument '" + args.unmatched().front() + "'");
  if (!args.count("file")) throw UsageError("needs FILE (the --results file of serve --web)");
  return {args["file"].as<std::string>(), args.count("json") > 0};
}

void print_text(const std::string& file, const web::WebReport& r) {
  const auto pct = [&](int n) { return r.users == 0 ? std::string() : " (" + std::to_string(n * 100 / r.users) + "%)"; };
  std::cout << "Web check results from " << file << ": " << r.users << " user" << (r.users == 1 ? "" : "s") << "\n"
            << "  direct UDP works:      " << r.direct_udp << pct(r.direct_udp) << "\n"
            << "  needed TURN:           " << r.needed_turn << pct(r.needed_turn) << "\n"
            << "  ICE-TCP only:          " << r.ice_tcp_only << pct(r.ice_tcp_only) << "\n"
            << "  could not connect:     " << r.failed << pct(r.failed) << "\n";
  if (!r.by_network.empty()) std::cout << "By network type:\n";
  for (const auto& [type, n] : r.by_network) std::cout << "  " << n << "  " << type << "\n";
  if (!r.failures.empty()) std::cout << "Could not connect at all:\n";
  for (const auto& f : r.failures) std::cout << "  " << f << "\n";
  if (r.bad_lines > 0) std::cout << "Skipped " << r.bad_lines << " line(s) that are not web-check results.\n";
}

}  // namespace

int run_web_report(int argc, char** argv) {
  const auto cmd = parse(argc, argv);
  std::ifstream in(cmd.file);
  if (!in) throw UsageError("cannot read '" + cmd.file + "'");
  const auto r = web::summarise(in);
  if (cmd.json) {
    auto out = json_header("web-report");
    out["file"] = cmd.file;
    out["users"] = r.users;
    out["direct_udp"] = r.direct_udp;
    out["needed_turn"] = r.needed_turn;
    out["ice_tcp_only"] = r.ice_tcp_only;
    out["failed"] = r.failed;
    out["bad_lines"] = r.bad_lines;
    out["by_verdict"] = r.by_verdict;
    out["by_network"] = r.by_network;
    out["failures"] = r.failures;
    std::cout << out.dump(2) << "\n";
  } else {
    print_text(cmd.file, r);
  }
  return r.failed > 0 ? kProblem : kHealthy;
}

}  // namespace natdiag::cli
