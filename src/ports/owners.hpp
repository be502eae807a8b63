// Who holds a port here: /proc/net/{tcp,tcp6,udp,udp6} give the socket inode of a bound port,
// /proc/PID/fd links name the process that has that inode open.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "src/ports/port_set.hpp"
#include "src/ports/wire.hpp"

namespace natdiag::ports {

/// For each port of `ports` that a socket of `transport` is bound to (TCP: listening) in this
/// network namespace: "nginx (pid 812)", or "unknown process (socket inode N)" when /proc does
/// not tell (another user's process and no root).
[[nodiscard]] std::map<std::uint16_t, std::string> port_owners(Transport transport,
                                                               const PortSet& ports);

/// One line of /proc/net/{tcp,udp}[6]: the local port, the state and the inode, or nullopt
/// for the header and malformed lines (pure: unit-tested).
struct ProcNetEntry {
  std::uint16_t port = 0;
  unsigned state = 0;
  unsigned long inode = 0;
};
[[nodiscard]] std::optional<ProcNetEntry> parse_proc_net_line(std::string_view line);

}  // namespace natdiag::ports
