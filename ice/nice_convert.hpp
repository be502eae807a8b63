// Private to ice/: NiceCandidate and NiceAddress into natdiag's own types, at the boundary.
#pragma once

#include <nice/agent.h>

#include <optional>
#include <string>

#include "ice/candidate.hpp"

namespace natdiag::ice {

/// An IPv4 or IPv6 NiceAddress as a TransportAddress; nullopt when it holds neither.
[[nodiscard]] std::optional<TransportAddress> from_nice_address(const NiceAddress& address);
/// A NiceAddress holding `address` (IP and port).
[[nodiscard]] NiceAddress to_nice_address(const TransportAddress& address);
[[nodiscard]] CandidateType from_nice_type(NiceCandidateType type) noexcept;
[[nodiscard]] CandidateTransport from_nice_transport(NiceCandidateTransport transport) noexcept;
/// The candidate as natdiag holds it; nullopt when its address is not IPv4 or IPv6.
/// `server` names the STUN/TURN URI it came from (ignored for host and prflx candidates).
[[nodiscard]] std::optional<Candidate> from_nice_candidate(const NiceCandidate& candidate,
                                                           const std::string& server,
                                                           Duration elapsed);

}  // namespace natdiag::ice
