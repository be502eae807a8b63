// NAT discovery's methods besides RFC 5780, shared with nat_discovery.cpp: the multi-server
// method over UDP and the mapping test over TCP. Internal to stun/client.
#pragma once

#include <vector>

#include "stun/client/nat_discovery.hpp"

namespace natdiag::client {

/// The local IP the test sockets bind to: --local, else the routing table's choice.
[[nodiscard]] TransportAddress bind_address(const NatOptions& options, const TransportAddress& server);
/// One socket, one Binding per server; mapping from the mapped addresses.
void run_multi_server(const NatOptions& options, const std::vector<TransportAddress>& servers,
                      NatReport& report, stun::TimePoint deadline);
/// RFC 5780 §4.3 over TCP: one local port, connections to A1:P1, A2:P1, A2:P2 (or each server).
void run_tcp(const NatOptions& options, std::vector<TransportAddress> servers, NatReport& report,
             stun::TimePoint deadline);

}  // namespace natdiag::client
