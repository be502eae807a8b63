#include "stun/net/stream.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "stun/proto/message.hpp"

namespace natdiag::net {
namespace {

int remaining_ms(TimePoint deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - stun::Clock::now());
  return static_cast<int>(std::max<std::int64_t>(0, left.count()));
}

std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  if (code == 0) return "unknown TLS error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

enum class Wait : std::uint8_t { kReady, kTimeout, kCancelled };

// Waits until `fd` is readable (or writable), the deadline passes, or `cancel` fires.
Wait wait_fd(int fd, bool for_write, TimePoint deadline, const Canceller* cancel) {
  for (;;) {
    std::array<pollfd, 2> p{pollfd{fd, static_cast<short>(for_write ? POLLOUT : POLLIN), 0},
                            pollfd{cancel ? cancel->fd() : -1, POLLIN, 0}};
    const int n = ::poll(p.data(), cancel ? 2 : 1, remaining_ms(deadline));
    if (n > 0) return cancel && p[1].revents != 0 ? Wait::kCancelled : Wait::kReady;
    if (n == 0) return Wait::kTimeout;
    if (errno != EINTR) return Wait::kTimeout;
  }
}

std::string hex_prefix(std::span<const std::uint8_t> bytes) {
  std::string out;
  char buf[4];
  for (std::size_t i = 0; i < std::min<std::size_t>(bytes.size(), 8); ++i) {
    std::snprintf(buf, sizeof buf, i ? " %02x" : "%02x", bytes[i]);
    out += buf;
  }
  return out;
}

}  // namespace

Canceller::Canceller() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!fd_.valid()) throw SocketError("eventfd", errno);
}

void Canceller::cancel() noexcept {
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(fd_.get(), &one, sizeof one);
}

bool StreamConnection::wait(bool for_write, TimePoint deadline, std::string& error) const {
  switch (wait_fd(fd_.get(), for_write, deadline, cancel_)) {
    case Wait::kReady: return true;
    case Wait::kTimeout: error = "timed out"; return false;
    case Wait::kCancelled: error = "cancelled"; return false;
  }
  return false;
}

struct StreamConnection::Tls {
  struct CtxDeleter {
    void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
  };
  struct SslDeleter {
    void operator()(SSL* s) const noexcept { SSL_free(s); }
  };
  std::unique_ptr<SSL_CTX, CtxDeleter> ctx;
  std::unique_ptr<SSL, SslDeleter> ssl;
};

StreamConnection::StreamConnection(FileDescriptor fd, TransportAddress peer)
    : fd_(std::move(fd)), peer_(peer) {}
StreamConnection::StreamConnection(StreamConnection&&) noexcept = default;
StreamConnection& StreamConnection::operator=(StreamConnection&&) noexcept = default;
StreamConnection::~StreamConnection() {
  if (tls_ && tls_->ssl) SSL_shutdown(tls_->ssl.get());
}

StreamConnection StreamConnection::connect(const TransportAddress& server,
                                           const std::optional<TransportAddress>& local,
                                           const TlsOptions& tls, TimePoint deadline,
                                           const Canceller* cancel) {
  FileDescriptor fd(::socket(to_af(server.family), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) throw SocketError("socket(TCP)", errno);
  const int on = 1;
  setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  if (local) {
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    const SockAddr addr = to_sockaddr(*local);
    if (::bind(fd.get(), addr.get(), addr.length) != 0) {
      throw BindError("bind TCP " + local->to_string(), errno);
    }
  }
  const SockAddr addr = to_sockaddr(server);
  if (::connect(fd.get(), addr.get(), addr.length) != 0 && errno != EINPROGRESS) {
    throw SocketError("connect TCP " + server.to_string(), errno);
  }
  switch (wait_fd(fd.get(), true, deadline, cancel)) {
    case Wait::kReady: break;
    case Wait::kTimeout: throw SocketError("connect TCP " + server.to_string(), ETIMEDOUT);
    case Wait::kCancelled: throw SocketError("connect TCP " + server.to_string(), ECANCELED);
  }
  int so_error = 0;
  socklen_t len = sizeof so_error;
  getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &len);
  if (so_error != 0) throw SocketError("connect TCP " + server.to_string(), so_error);

  StreamConnection conn(std::move(fd), server);
  conn.cancel_ = cancel;
  if (!tls.enabled) return conn;

  conn.tls_ = std::make_unique<Tls>();
  conn.tls_->ctx.reset(SSL_CTX_new(TLS_client_method()));
  if (!conn.tls_->ctx) throw std::runtime_error("TLS: " + openssl_error());
  SSL_CTX* ctx = conn.tls_->ctx.get();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (tls.verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_default_verify_paths(ctx);
    if (!tls.ca_file.empty() &&
        SSL_CTX_load_verify_locations(ctx, tls.ca_file.c_str(), nullptr) != 1) {
      throw std::runtime_error("TLS: cannot load CA file " + tls.ca_file + ": " + openssl_error());
    }
  }
  conn.tls_->ssl.reset(SSL_new(ctx));
  SSL* ssl = conn.tls_->ssl.get();
  SSL_set_fd(ssl, conn.fd_.get());
  if (!tls.server_name.empty()) {
    SSL_set_tlsext_host_name(ssl, tls.server_name.c_str());
    if (tls.verify) SSL_set1_host(ssl, tls.server_name.c_str());
  } else if (tls.verify) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server.ip_string().c_str());
  }
  for (;;) {
    const int rc = SSL_connect(ssl);
    if (rc == 1) break;
    const int err = SSL_get_error(ssl, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      switch (wait_fd(conn.fd_.get(), err == SSL_ERROR_WANT_WRITE, deadline, cancel)) {
        case Wait::kReady: continue;
        case Wait::kTimeout: throw SocketError("TLS handshake with " + server.to_string(), ETIMEDOUT);
        case Wait::kCancelled: throw SocketError("TLS handshake with " + server.to_string(), ECANCELED);
      }
    }
    const long verify = SSL_get_verify_result(ssl);
    std::string why = verify != X509_V_OK ? std::string("certificate verify failed: ") +
                                                X509_verify_cert_error_string(verify) +
                                                " (--insecure skips verification)"
                                          : openssl_error();
    throw std::runtime_error("TLS handshake with " + server.to_string() + " failed: " + why);
  }
  return conn;
}

long StreamConnection::read_some(std::span<std::uint8_t> out, TimePoint deadline,
                                 std::string& error) {
  for (;;) {
    if (tls_) {
      const int n = SSL_read(tls_->ssl.get(), out.data(), static_cast<int>(out.size()));
      if (n > 0) return n;
      const int err = SSL_get_error(tls_->ssl.get(), n);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        if (wait(err == SSL_ERROR_WANT_WRITE, deadline, error)) continue;
        return -1;
      }
      error = err == SSL_ERROR_ZERO_RETURN ? "connection closed" : "TLS: " + openssl_error();
      return -1;
    }
    const ssize_t n = ::recv(fd_.get(), out.data(), out.size(), 0);
    if (n > 0) return n;
    if (n == 0) {
      error = "connection closed";
      return -1;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      if (wait(false, deadline, error)) continue;
      return -1;
    }
    error = std::strerror(errno);
    return -1;
  }
}

bool StreamConnection::read_exact(std::span<std::uint8_t> out, TimePoint deadline,
                                  std::string& error) {
  std::size_t got = 0;
  while (got < out.size()) {
    const long n = read_some(out.subspan(got), deadline, error);
    if (n < 0) return false;
    got += static_cast<std::size_t>(n);
  }
  return true;
}

bool StreamConnection::send_all(std::span<const std::uint8_t> data, TimePoint deadline,
                                std::string& error) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const auto rest = data.subspan(sent);
    if (tls_) {
      const int n = SSL_write(tls_->ssl.get(), rest.data(), static_cast<int>(rest.size()));
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      const int err = SSL_get_error(tls_->ssl.get(), n);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        if (wait(err == SSL_ERROR_WANT_WRITE, deadline, error)) continue;
        return false;
      }
      error = "TLS write: " + openssl_error();
      return false;
    }
    const ssize_t n = ::send(fd_.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EAGAIN || errno == EINTR) {
      if (wait(true, deadline, error)) continue;
      return false;
    }
    error = std::strerror(errno);
    return false;
  }
  return true;
}

std::optional<std::vector<std::uint8_t>> StreamConnection::receive_message(TimePoint deadline,
                                                                          std::string& error) {
  std::vector<std::uint8_t> message(stun::kHeaderSize);
  if (!read_exact(message, deadline, error)) return std::nullopt;
  const auto size = stun::stun_message_size(message);
  if (!size) {
    error = "not a STUN message on the stream (first bytes " + hex_prefix(message) + ")";
    return std::nullopt;
  }
  message.resize(*size);
  if (!read_exact(std::span(message).subspan(stun::kHeaderSize), deadline, error)) {
    return std::nullopt;
  }
  return message;
}

std::optional<std::vector<std::uint8_t>> StreamConnection::receive_some(std::size_t max,
                                                                       TimePoint deadline,
                                                                       std::string& error) {
  std::vector<std::uint8_t> out(max);
  const long n = read_some(out, deadline, error);
  if (n < 0) return std::nullopt;
  out.resize(static_cast<std::size_t>(n));
  return out;
}

TransportAddress StreamConnection::local_address() const {
  return socket_local_address(fd_.get());
}

std::string StreamConnection::peer_certificate_sha256() const {
  if (!tls_) return "";
  X509* cert = SSL_get1_peer_certificate(tls_->ssl.get());
  if (cert == nullptr) return "";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  X509_digest(cert, EVP_sha256(), md, &md_len);
  X509_free(cert);
  std::string out;
  char buf[4];
  for (unsigned int i = 0; i < md_len; ++i) {
    std::snprintf(buf, sizeof buf, i ? ":%02X" : "%02X", md[i]);
    out += buf;
  }
  return out;
}

std::optional<CertificateInfo> StreamConnection::peer_certificate_info() const {
  if (!tls_) return std::nullopt;
  std::unique_ptr<X509, decltype(&X509_free)> cert(SSL_get1_peer_certificate(tls_->ssl.get()),
                                                   X509_free);
  if (!cert) return std::nullopt;
  CertificateInfo info;
  char buf[256] = {};
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, buf,
                                sizeof buf) > 0) {
    info.subject = buf;
  } else {
    X509_NAME_oneline(X509_get_subject_name(cert.get()), buf, sizeof buf);
    info.subject = buf;
  }
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_DNS) {
      const auto* s = name->d.dNSName;
      info.names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                              static_cast<std::size_t>(ASN1_STRING_length(s)));
    } else if (name->type == GEN_IPADD) {
      const auto* s = name->d.iPAddress;
      TransportAddress a;
      const int n = ASN1_STRING_length(s);
      if (n == 4 || n == 16) {
        a.family = n == 4 ? Family::kIPv4 : Family::kIPv6;
        std::memcpy(a.ip.data(), ASN1_STRING_get0_data(s), static_cast<std::size_t>(n));
        info.names.push_back(a.ip_string());
      }
    }
  }
  GENERAL_NAMES_free(names);
  const ASN1_TIME* not_after = X509_get0_notAfter(cert.get());
  tm t{};
  if (ASN1_TIME_to_tm(not_after, &t) == 1) {
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &t);
    info.not_after = buf;
  }
  int days = 0;
  int seconds = 0;
  if (ASN1_TIME_diff(&days, &seconds, nullptr, not_after) == 1) info.days_left = days;
  return info;
}

}  // namespace natdiag::net
