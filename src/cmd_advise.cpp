// `natdiag advise --from PROFILE.json [--for ...]`: the advice from a saved profile, without
// running any test again.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "src/profile/advice.hpp"
#include "src/cli_common.hpp"
#include "src/commands.hpp"

namespace natdiag::cli {

int run_advise(int argc, char** argv) {
  cxxopts::Options options("natdiag advise",
                           "Advice from a saved profile (natdiag profile --json > FILE), without new tests.");
  options.custom_help("--from FILE [OPTIONS]");
  options.add_options()
      ("from", "the saved profile ('-' for standard input)", cxxopts::value<std::string>())
      ("for", "media servers: kurento,livekit,plugnmeet,freeswitch,bigbluebutton,jitsi,janus,coturn (default all)",
       cxxopts::value<std::string>())
      ("json", "print one JSON object (schema natdiag/1)")
      ("h,help", "show this help");
  const auto args = parse_args(options, argc, argv);
  if (args.count("help")) {
    std::cout << options.help() << "\nExample:\n  natdiag profile --json > profile.json\n"
              << "  natdiag advise --from profile.json --for kurento\n";
    return kHealthy;
  }
  if (!args.unmatched().empty()) {
    throw UsageError(ErrorKind::kUsage, "unexpected argument '" + args.unmatched().front() + "'",
                     args.unmatched().front());
  }
  if (!args.count("from")) throw UsageError("--from FILE is required (a saved natdiag profile --json)");
  const auto path = args["from"].as<std::string>();
  const auto targets = parse_targets(args.count("for") ? args["for"].as<std::string>() : "");
  std::stringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
  } else {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      throw bad_value("--from", "is a directory, not a saved profile (natdiag profile --json > FILE)", path);
    }
    std::ifstream in(path);
    if (!in) throw bad_value("--from", std::string("cannot be read (") + std::strerror(errno) + ")", path);
    text << in.rdbuf();
  }
  nlohmann::json saved;
  try {
    saved = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    throw bad_value("--from", "is not JSON (" + std::string(e.what()).substr(0, 120) + ")", path);
  }
  const ProfileFacts facts = facts_from_json(saved);
  const auto findings = evaluate(facts, targets);
  const auto advice = advise(facts, targets);
  const std::string verdict = verdict_of(findings);
  if (args.count("json")) {
    auto j = json_header("advise");
    j["from"] = path;
    j["verdict"] = verdict;
    j["findings"] = findings_json(findings);
    j["advice"] = advice_json(advice);
    print_json(j);
  } else {
    std::cout << "NAT profile (saved): " << verdict << "\n";
    print_findings_and_advice(std::cout, findings, advice);
  }
  return verdict == "ok" ? kHealthy : kProblem;
}

}  // namespace natdiag::cli
