// What `natdiag ports` found, and how it is told: the verdict line first, the ranges, then
// what to do (ufw / nftables lines, the router forward naming the server that needs it).
// Pure: the caller fills the report from its measurements.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "src/ports/results.hpp"

namespace natdiag::ports {

/// The ports one media server (--for) needs, and what breaks without them.
struct ServerNeed {
  std::string name;  ///< "livekit"
  PortSet tcp;
  PortSet udp;
};

/// One protocol's result.
struct ProtocolReport {
  PortSet tested;
  std::vector<StateRange> ranges;
};

/// Everything one run measured.
struct PortsReport {
  std::string mode;                      ///< "via", "probe" or "listen"
  std::optional<std::string> far_end;    ///< serve's control address, or the probed host
  std::optional<std::string> family;     ///< "IPv4" or "IPv6": the family tested (listen: null)
  std::optional<std::string> public_ip;  ///< this host's public IP as the far end saw it
  std::optional<std::string> local_ip;   ///< this host's address towards the far end
  ProtocolReport tcp;
  ProtocolReport udp;
  std::vector<ServerNeed> servers;  ///< from --for
  int rounds = 0;                   ///< UDP rounds sent
  std::uint64_t probes_sent = 0;
  std::chrono::microseconds elapsed{0};
  std::vector<std::string> notes;  ///< facts worth saying that are not a port state
};

/// True when every tested port is open (in-use ports, held by another program, do not count
/// against it; ports whose probe never left the probing host do).
[[nodiscard]] bool all_open(const PortsReport& report);
/// True when some port is closed, filtered or answered by another machine.
[[nodiscard]] bool any_problem(const PortsReport& report);
/// The first line: "All 10,004 ports open from outside (...)" or what is not.
[[nodiscard]] std::string verdict_line(const PortsReport& report);
/// The full text output.
void print_report(std::ostream& out, const PortsReport& report);
/// The fields of the --json object after schema and command.
void report_to_json(const PortsReport& report, nlohmann::ordered_json& out);
/// The advice lines (ufw, nftables, router forward), empty when all is open.
[[nodiscard]] std::vector<std::string> advice_lines(const PortsReport& report);

}  // namespace natdiag::ports
