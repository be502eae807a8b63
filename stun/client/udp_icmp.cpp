#include "stun/client/udp_icmp.hpp"

#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace natdiag::client {

using stun::TransportAddress;

// ICMP errors for an unconnected UDP socket: with IP_RECVERR the kernel queues them, naming
// the destination of the request that failed, so one socket can talk to several addresses
// and still learn that nothing listens at one of them.
void enable_icmp_errors(const net::UdpSocket& socket, stun::Family family) {
  const int on = 1;
  if (family == stun::Family::kIPv4) {
    setsockopt(socket.fd(), IPPROTO_IP, IP_RECVERR, &on, sizeof on);
  } else {
    setsockopt(socket.fd(), IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on);
  }
}

// With IP_RECVERR an ICMP error also sets the socket's pending error, which the next send
// returns instead of sending: that error belongs to an earlier packet, so send again.
void send_past_icmp(net::UdpSocket& socket, std::span<const std::uint8_t> bytes, const TransportAddress& to) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    const int error = socket.send_to(bytes, to);
    if (error != ECONNREFUSED && error != EHOSTUNREACH && error != ENETUNREACH) return;
  }
}


std::optional<IcmpError> read_icmp_error(const net::UdpSocket& socket) {
  sockaddr_storage name{};
  std::array<std::uint8_t, 512> control{};
  std::array<std::uint8_t, 64> data{};
  iovec iov{data.data(), data.size()};
  msghdr msg{};
  msg.msg_name = &name;
  msg.msg_namelen = sizeof name;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  if (::recvmsg(socket.fd(), &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return std::nullopt;
  IcmpError out;
  auto destination = net::from_sockaddr(reinterpret_cast<const sockaddr*>(&name));
  if (!destination) return std::nullopt;
  out.destination = *destination;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    const bool v4 = c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR;
    const bool v6 = c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR;
    if (!v4 && !v6) continue;
    sock_extended_err ee{};
    std::memcpy(&ee, CMSG_DATA(c), sizeof ee);
    // ICMP type 3 code 3 / ICMPv6 type 1 code 4: port unreachable.
    out.port_unreachable = (ee.ee_origin == SO_EE_ORIGIN_ICMP && ee.ee_type == 3 && ee.ee_code == 3) ||
                           (ee.ee_origin == SO_EE_ORIGIN_ICMP6 && ee.ee_type == 1 && ee.ee_code == 4);
    const auto* offender = SO_EE_OFFENDER(reinterpret_cast<sock_extended_err*>(CMSG_DATA(c)));
    if (offender->sa_family != AF_UNSPEC) out.from = net::from_sockaddr(offender);
  }
  return out;
}

}  // namespace natdiag::client
