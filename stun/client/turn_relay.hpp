// The data part of `natdiag turn`'s check: a real round trip through the relay (RFC 8656 §10,
// §12), from this host's TURN client to a UDP socket of this host and back.
#pragma once

#include "stun/client/turn_check.hpp"
#include "stun/client/turn_session.hpp"

namespace natdiag::client {

/// CreatePermission for this host's addresses, a first packet from the peer socket to the relay
/// (its address as the relay sees it comes back in XOR-PEER-ADDRESS), then `count` Send/Data
/// and `count` ChannelData round trips. Adds steps, statistics, findings and the first problem
/// to `report`; never sends to anything but the TURN server and the relayed address.
void test_relay(TurnSession& session, int count, stun::TimePoint deadline, TurnCheckReport& report);

/// True when the server was reached at a private or loopback address and relays on a public
/// one: this host's data to the relay then needs hairpin NAT.
[[nodiscard]] bool relay_needs_hairpin(const TurnCheckReport& report);

/// The relay brought nothing back (`why`): blocked relay ports (critical, with the firewall fix),
/// or unknown when relay_needs_hairpin (no advice: the evidence cannot tell which).
void report_no_data(const std::string& why, TurnCheckReport& report);

}  // namespace natdiag::client
