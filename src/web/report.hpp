// `natdiag web-report`: the summary of a --results file (one web-check JSON per line). Pure.
#pragma once

#include <istream>
#include <map>
#include <string>
#include <vector>

namespace natdiag::web {

/// What the collected results say, counted.
struct WebReport {
  int users = 0;                           ///< well-formed results read
  int direct_udp = 0;                      ///< verdict direct-udp
  int needed_turn = 0;                     ///< verdict turn-udp or turn-tcp
  int ice_tcp_only = 0;                    ///< verdict ice-tcp
  int failed = 0;                          ///< verdict cannot-connect
  int bad_lines = 0;                       ///< lines that were not a web-check result
  std::map<std::string, int> by_verdict;   ///< verdict id -> users
  std::map<std::string, int> by_network;   ///< network type (see network_type) -> users
  std::vector<std::string> failures;       ///< one line per user who could not connect at all
};

/// Reads every line of IN.
WebReport summarise(std::istream& in);

}  // namespace natdiag::web
