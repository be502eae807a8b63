#include "src/ports/channel.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "stun/net/endpoint.hpp"

namespace natdiag::ports {
namespace {

int ms_until(stun::TimePoint deadline) {
  const auto left = deadline - stun::Clock::now();
  if (left <= stun::Clock::duration::zero()) return 0;
  return static_cast<int>(
      std::min<long long>(std::chrono::ceil<std::chrono::milliseconds>(left).count(), 1000));
}

}  // namespace

LineChannel::LineChannel(net::FileDescriptor fd) : fd_(std::move(fd)) {}

LineChannel LineChannel::connect(const net::TransportAddress& server, stun::TimePoint deadline) {
  net::FileDescriptor fd(
      ::socket(net::to_af(server.family), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) throw net::SocketError("socket", errno);
  const auto sa = net::to_sockaddr(server);
  if (::connect(fd.get(), sa.get(), sa.length) != 0 && errno != EINPROGRESS) {
    throw net::SocketError("connect to " + server.to_string(), errno);
  }
  for (;;) {
    pollfd p{fd.get(), POLLOUT, 0};
    const int n = ::poll(&p, 1, ms_until(deadline));
    if (n > 0) break;
    if (n < 0 && errno == EINTR) continue;
    if (stun::Clock::now() >= deadline)
      throw net::SocketError("connect to " + server.to_string(), ETIMEDOUT);
  }
  int error = 0;
  socklen_t len = sizeof error;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &len);
  if (error != 0) throw net::SocketError("connect to " + server.to_string(), error);
  return LineChannel(std::move(fd));
}

bool LineChannel::send(const nlohmann::json& message, stun::TimePoint deadline) {
  const std::string line = message.dump() + "\n";
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::send(fd_.get(), line.data() + done, line.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      error_ = "closed";
      return false;
    }
    pollfd p{fd_.get(), POLLOUT, 0};
    if (::poll(&p, 1, ms_until(deadline)) <= 0 && stun::Clock::now() >= deadline) {
      error_ = "timed out";
      return false;
    }
  }
  return true;
}

std::optional<nlohmann::json> LineChannel::receive(stun::TimePoint deadline) {
  for (;;) {
    if (auto line = reader_.next()) {
      auto message = parse_message(*line);
      if (!message) error_ = "malformed";
      return message;
    }
    char buffer[16384];
    const ssize_t n = ::recv(fd_.get(), buffer, sizeof buffer, MSG_DONTWAIT);
    if (n > 0) {
      if (!reader_.feed({buffer, static_cast<std::size_t>(n)})) {
        error_ = "line too long";
        return std::nullopt;
      }
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      error_ = "closed";
      return std::nullopt;
    }
    if (stun::Clock::now() >= deadline) {
      error_ = "timed out";
      return std::nullopt;
    }
    pollfd p{fd_.get(), POLLIN, 0};
    ::poll(&p, 1, ms_until(deadline));
  }
}

net::TransportAddress LineChannel::local_address() const {
  return net::socket_local_address(fd_.get());
}

std::optional<net::TransportAddress> LineChannel::peer_address() const {
  net::SockAddr sa;
  sa.length = sizeof sa.storage;
  if (::getpeername(fd_.get(), sa.get(), &sa.length) != 0) return std::nullopt;
  return net::from_sockaddr(sa.get());
}

}  // namespace natdiag::ports
