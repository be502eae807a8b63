// TCP and TLS connections carrying STUN messages (RFC 8489 §6.2.2, §6.2.3): the length field
// of each message delimits it on the stream.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "stun/net/socket.hpp"
#include "stun/proto/retransmit.hpp"

namespace natdiag::net {

using stun::TimePoint;

/// TLS settings for a `stuns:` connection.
struct TlsOptions {
  bool enabled = false;
  bool verify = true;        ///< verify the certificate chain and the host name
  std::string server_name;   ///< SNI and the name to verify; empty for an IP literal
  std::string ca_file;       ///< extra trust anchors (PEM); the system store otherwise
};

/// What a TLS peer's certificate says about itself.
struct CertificateInfo {
  std::string subject;             ///< the subject's CN, or the whole subject when it has none
  std::vector<std::string> names;  ///< subjectAltName DNS names and IP addresses
  std::string not_after;           ///< "2026-12-01 10:00:00 UTC"
  int days_left = 0;               ///< until not_after; negative when expired
};

/// Wakes and fails, from another thread, every blocking call of the connections that watch
/// it (an eventfd): a helper thread can then be joined at once instead of left detached.
class Canceller {
 public:
  Canceller();  ///< throws SocketError
  /// Makes every waiting and future call of the watching connections fail ("cancelled").
  void cancel() noexcept;
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }

 private:
  FileDescriptor fd_;
};

/// One TCP or TLS connection. Non-blocking underneath; every call takes a deadline.
class StreamConnection {
 public:
  /// Connects (and handshakes for TLS). Throws SocketError with a message that names the
  /// failure: refused, timed out, certificate verification, cancelled (ECANCELED).
  /// `cancel`, when given, must outlive the connection.
  static StreamConnection connect(const TransportAddress& server,
                                  const std::optional<TransportAddress>& local,
                                  const TlsOptions& tls, TimePoint deadline,
                                  const Canceller* cancel = nullptr);

  StreamConnection(StreamConnection&&) noexcept;
  StreamConnection& operator=(StreamConnection&&) noexcept;
  ~StreamConnection();

  /// Writes all bytes before the deadline; false with `error` set otherwise.
  bool send_all(std::span<const std::uint8_t> data, TimePoint deadline, std::string& error);
  /// Reads one whole STUN message. nullopt with `error` ("timed out", "connection closed",
  /// "not a STUN message on the stream (first bytes ...)", "cancelled") otherwise.
  std::optional<std::vector<std::uint8_t>> receive_message(TimePoint deadline, std::string& error);
  /// Reads whatever bytes arrive first (up to max), for probes that compare raw responses.
  std::optional<std::vector<std::uint8_t>> receive_some(std::size_t max, TimePoint deadline,
                                                        std::string& error);

  [[nodiscard]] TransportAddress local_address() const;
  [[nodiscard]] const TransportAddress& peer() const noexcept { return peer_; }
  /// For TLS: the peer certificate's SHA-256 fingerprint (hex, colon-separated); empty for TCP.
  [[nodiscard]] std::string peer_certificate_sha256() const;
  /// For TLS: the peer certificate's names and expiry; nullopt for TCP.
  [[nodiscard]] std::optional<CertificateInfo> peer_certificate_info() const;

 private:
  struct Tls;
  StreamConnection(FileDescriptor fd, TransportAddress peer);
  bool read_exact(std::span<std::uint8_t> out, TimePoint deadline, std::string& error);
  long read_some(std::span<std::uint8_t> out, TimePoint deadline, std::string& error);
  /// Waits for the socket; false on timeout or cancellation (then `error` says which).
  bool wait(bool for_write, TimePoint deadline, std::string& error) const;

  FileDescriptor fd_;
  const Canceller* cancel_ = nullptr;
  TransportAddress peer_;
  std::unique_ptr<Tls> tls_;
};


}  // namespace natdiag::net
