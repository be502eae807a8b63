#include "ice/nice_convert.hpp"

#include <sys/socket.h>

#include <cstring>

#include "stun/net/endpoint.hpp"

namespace natdiag::ice {

std::optional<TransportAddress> from_nice_address(const NiceAddress& address) {
  if (!nice_address_is_valid(&address)) return std::nullopt;
  net::SockAddr storage;
  nice_address_copy_to_sockaddr(&address, storage.get());
  return net::from_sockaddr(storage.get());
}

NiceAddress to_nice_address(const TransportAddress& address) {
  NiceAddress out;
  nice_address_init(&out);
  const auto sa = net::to_sockaddr(address);
  nice_address_set_from_sockaddr(&out, sa.get());
  return out;
}

CandidateType from_nice_type(NiceCandidateType type) noexcept {
  switch (type) {
    case NICE_CANDIDATE_TYPE_HOST: return CandidateType::kHost;
    case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE: return CandidateType::kServerReflexive;
    case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE: return CandidateType::kPeerReflexive;
    case NICE_CANDIDATE_TYPE_RELAYED: return CandidateType::kRelayed;
  }
  return CandidateType::kHost;
}

CandidateTransport from_nice_transport(NiceCandidateTransport transport) noexcept {
  switch (transport) {
    case NICE_CANDIDATE_TRANSPORT_UDP: return CandidateTransport::kUdp;
    case NICE_CANDIDATE_TRANSPORT_TCP_ACTIVE: return CandidateTransport::kTcpActive;
    case NICE_CANDIDATE_TRANSPORT_TCP_PASSIVE: return CandidateTransport::kTcpPassive;
    case NICE_CANDIDATE_TRANSPORT_TCP_SO: return CandidateTransport::kTcpSo;
  }
  return CandidateTransport::kUdp;
}

std::optional<Candidate> from_nice_candidate(const NiceCandidate& candidate,
                                             const std::string& server, Duration elapsed) {
  auto address = from_nice_address(candidate.addr);
  if (!address) return std::nullopt;
  Candidate c;
  c.type = from_nice_type(candidate.type);
  c.transport = from_nice_transport(candidate.transport);
  c.address = *address;
  c.priority = candidate.priority;
  // NICE_CANDIDATE_MAX_FOUNDATION bounds the field; it is NUL-terminated within it.
  c.foundation.assign(candidate.foundation,
                      strnlen(candidate.foundation, NICE_CANDIDATE_MAX_FOUNDATION));
  if (c.type != CandidateType::kHost) {
    c.base = from_nice_address(candidate.base_addr);
    if (c.base && *c.base == c.address) c.base.reset();
  }
  if (c.type == CandidateType::kServerReflexive || c.type == CandidateType::kRelayed) {
    c.server = server;
  }
  c.elapsed = elapsed;
  return c;
}

}  // namespace natdiag::ice
