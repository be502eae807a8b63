#include "ice/candidate.hpp"

#include <algorithm>

namespace natdiag::ice {

std::string_view type_name(CandidateType type) noexcept {
  switch (type) {
    case CandidateType::kHost: return "host";
    case CandidateType::kServerReflexive: return "srflx";
    case CandidateType::kPeerReflexive: return "prflx";
    case CandidateType::kRelayed: return "relay";
  }
  return "host";
}

std::string_view transport_name(CandidateTransport transport) noexcept {
  switch (transport) {
    case CandidateTransport::kUdp: return "udp";
    case CandidateTransport::kTcpActive: return "tcp-active";
    case CandidateTransport::kTcpPassive: return "tcp-passive";
    case CandidateTransport::kTcpSo: return "tcp-so";
  }
  return "udp";
}

std::vector<Candidate> merge_candidates(const std::vector<std::vector<Candidate>>& per_agent) {
  std::vector<Candidate> merged;
  for (const auto& agent : per_agent) {
    for (const auto& c : agent) {
      const bool seen = std::any_of(merged.begin(), merged.end(), [&](const Candidate& m) {
        if (c.type == CandidateType::kHost) {
          return m.type == CandidateType::kHost && m.transport == c.transport &&
                 m.address.same_ip(c.address);
        }
        return m.same_target(c) && m.server == c.server;
      });
      if (!seen) merged.push_back(c);
    }
  }
  std::stable_sort(merged.begin(), merged.end(), [](const Candidate& a, const Candidate& b) {
    if (a.priority != b.priority) return a.priority > b.priority;
    return a.elapsed < b.elapsed;
  });
  return merged;
}

std::string describe(const Candidate& c) {
  return std::string(type_name(c.type)) + " " + std::string(transport_name(c.transport)) + " " +
         c.address.to_string();
}

}  // namespace natdiag::ice
