// Thin RAII sockets: a file descriptor owner and a non-blocking UDP socket.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>

#include "stun/net/endpoint.hpp"

namespace natdiag::net {

/// A socket set-up failure (bind, socket, connect): the caller decides the exit code.
class SocketError : public std::runtime_error {
 public:
  SocketError(const std::string& what, int error_number);
  [[nodiscard]] int error_number() const noexcept { return errno_; }

 private:
  int errno_;
};

/// bind() failed: this host cannot use that address or port (in use, not ours, privileged).
/// Callers that retry other ports catch it; otherwise it means "cannot run here" (exit 3).
class BindError : public SocketError {
 public:
  using SocketError::SocketError;
};

/// Owns one file descriptor.
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(other.release()) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor();

  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

/// What one receive returned.
struct Received {
  std::size_t size = 0;
  TransportAddress source;
};

/// A non-blocking UDP socket.
class UdpSocket {
 public:
  /// Opens and binds to `local` (port 0: the OS picks). Throws SocketError.
  static UdpSocket bind(const TransportAddress& local, bool reuse_port = false);
  /// Binds to the first free port in [first, last] on `local`'s IP. Throws SocketError when
  /// none is free.
  static UdpSocket bind_in_range(const TransportAddress& local, std::uint16_t first,
                                 std::uint16_t last);

  /// Restricts the socket to one peer; ICMP errors then surface as ECONNREFUSED.
  void connect(const TransportAddress& peer);
  /// Sends one datagram; returns 0 or an errno value.
  int send_to(std::span<const std::uint8_t> data, const TransportAddress& to) noexcept;
  /// Receives one datagram if one is waiting; nullopt with `error` set (EAGAIN when none).
  std::optional<Received> receive(std::span<std::uint8_t> buffer, int& error) noexcept;

  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  [[nodiscard]] TransportAddress local_address() const;

 private:
  explicit UdpSocket(FileDescriptor fd) : fd_(std::move(fd)) {}
  FileDescriptor fd_;
};

/// The local address a socket is bound to (getsockname). Throws SocketError.
[[nodiscard]] TransportAddress socket_local_address(int fd);
/// Sets O_NONBLOCK. Throws SocketError.
void set_non_blocking(int fd);

}  // namespace natdiag::net
