// Small builders shared by the ice unit tests (test_ice.cpp, test_ice_verdicts.cpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ice/candidate.hpp"
#include "stun/proto/types.hpp"

namespace natdiag::test {

/// An address the test writes as text, parsed (the tests only write valid ones).
inline stun::TransportAddress addr(const char* text) {
  return *stun::TransportAddress::parse(text);
}

/// A candidate as libnice would report it, converted.
inline ice::Candidate cand(ice::CandidateType type, const char* address, std::uint32_t priority,
                           std::string server = "",
                           ice::CandidateTransport transport = ice::CandidateTransport::kUdp) {
  ice::Candidate c;
  c.type = type;
  c.transport = transport;
  c.address = addr(address);
  c.priority = priority;
  c.server = std::move(server);
  return c;
}

/// Some line of `lines` contains `needle`.
inline bool any_contains(const std::vector<std::string>& lines, const std::string& needle) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.find(needle) != std::string::npos; });
}

}  // namespace natdiag::test
