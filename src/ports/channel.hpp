// The control connection's I/O: JSON lines over a TCP socket, every call with a deadline.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "src/ports/control.hpp"
#include "stun/net/socket.hpp"
#include "stun/proto/retransmit.hpp"

namespace natdiag::ports {

/// One control connection.
class LineChannel {
 public:
  explicit LineChannel(net::FileDescriptor fd);
  /// Connects to `server` before `deadline`; throws SocketError (ECONNREFUSED, ETIMEDOUT, ...).
  static LineChannel connect(const net::TransportAddress& server, stun::TimePoint deadline);

  /// Sends one message; false when the peer is gone or the deadline passed.
  bool send(const nlohmann::json& message, stun::TimePoint deadline);
  /// The next message before `deadline`; nullopt with error() set ("timed out", "closed",
  /// "malformed", "line too long").
  std::optional<nlohmann::json> receive(stun::TimePoint deadline);

  [[nodiscard]] const std::string& error() const noexcept { return error_; }
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  [[nodiscard]] net::TransportAddress local_address() const;
  [[nodiscard]] std::optional<net::TransportAddress> peer_address() const;

 private:
  net::FileDescriptor fd_;
  LineReader reader_;
  std::string error_;
};

}  // namespace natdiag::ports
