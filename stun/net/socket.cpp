#include "stun/net/socket.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>
#include <cstring>

namespace natdiag::net {

SocketError::SocketError(const std::string& what, int error_number)
    : std::runtime_error(what + ": " + std::strerror(error_number)), errno_(error_number) {}

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

FileDescriptor::~FileDescriptor() {
  if (fd_ >= 0) ::close(fd_);
}

void set_non_blocking(int fd) {
  const int flags = fcntl(fd, F_GETFL, 0);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    throw SocketError("fcntl(O_NONBLOCK)", errno);
  }
}

TransportAddress socket_local_address(int fd) {
  SockAddr local;
  local.length = sizeof local.storage;
  if (getsockname(fd, local.get(), &local.length) != 0) throw SocketError("getsockname", errno);
  auto address = from_sockaddr(local.get());
  if (!address) throw SocketError("getsockname: unknown family", EAFNOSUPPORT);
  return *address;
}

namespace {

FileDescriptor open_udp(const TransportAddress& local) {
  FileDescriptor fd(::socket(to_af(local.family), SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) throw SocketError("socket(UDP)", errno);
  if (local.family == Family::kIPv6) {
    const int on = 1;
    setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  }
  return fd;
}

}  // namespace

UdpSocket UdpSocket::bind(const TransportAddress& local, bool reuse_port) {
  FileDescriptor fd = open_udp(local);
  if (reuse_port) {
    const int on = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
  }
  const SockAddr addr = to_sockaddr(local);
  if (::bind(fd.get(), addr.get(), addr.length) != 0) {
    throw BindError("bind UDP " + local.to_string(), errno);
  }
  return UdpSocket(std::move(fd));
}

UdpSocket UdpSocket::bind_in_range(const TransportAddress& local, std::uint16_t first,
                                   std::uint16_t last) {
  // Start at a random offset: parallel runs do not all race for the first port, and runs in
  // a row do not reuse the ports of the last one, whose flows a NAT still holds (30 s and more
  // on Linux) and would give new ports to (see stun/proto/rfc5780.hpp).
  const std::uint32_t span = std::uint32_t{last} - first + 1;
  const std::uint32_t start = std::random_device{}() % span;
  int last_error = EADDRINUSE;
  for (std::uint32_t i = 0; i < span; ++i) {
    TransportAddress candidate = local;
    candidate.port = static_cast<std::uint16_t>(first + (start + i) % span);
    FileDescriptor fd = open_udp(candidate);
    const SockAddr addr = to_sockaddr(candidate);
    if (::bind(fd.get(), addr.get(), addr.length) == 0) return UdpSocket(std::move(fd));
    last_error = errno;
    if (last_error != EADDRINUSE && last_error != EACCES) break;
  }
  throw BindError("bind UDP " + local.ip_string() + " in ports " + std::to_string(first) + "-" +
                        std::to_string(last),
                    last_error);
}

void UdpSocket::connect(const TransportAddress& peer) {
  const SockAddr addr = to_sockaddr(peer);
  if (::connect(fd_.get(), addr.get(), addr.length) != 0) {
    throw SocketError("connect UDP " + peer.to_string(), errno);
  }
}

int UdpSocket::send_to(std::span<const std::uint8_t> data, const TransportAddress& to) noexcept {
  const SockAddr addr = to_sockaddr(to);
  const ssize_t n = ::sendto(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL, addr.get(),
                             addr.length);
  if (n < 0) {
    // A connected socket refuses a destination argument on some stacks; retry without.
    if (errno == EISCONN) {
      return ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL) < 0 ? errno : 0;
    }
    return errno;
  }
  return 0;
}

std::optional<Received> UdpSocket::receive(std::span<std::uint8_t> buffer, int& error) noexcept {
  SockAddr from;
  from.length = sizeof from.storage;
  const ssize_t n = ::recvfrom(fd_.get(), buffer.data(), buffer.size(), MSG_TRUNC, from.get(),
                               &from.length);
  if (n < 0) {
    error = errno;
    return std::nullopt;
  }
  error = 0;
  auto source = from_sockaddr(from.get());
  if (!source) {
    error = EAFNOSUPPORT;
    return std::nullopt;
  }
  // MSG_TRUNC makes n the real datagram size; a datagram larger than the buffer is cut,
  // and the decoder then sees a length mismatch rather than a silently short packet.
  return Received{std::min<std::size_t>(static_cast<std::size_t>(n), buffer.size()), *source};
}

TransportAddress UdpSocket::local_address() const { return socket_local_address(fd_.get()); }

}  // namespace natdiag::net
