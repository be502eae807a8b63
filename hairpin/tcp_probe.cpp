// The TCP self-connect check: natdiag listens on the port (nothing else does) and connects to
// EXTERNAL_IP:PORT carrying a random nonce. Only this process knows the nonce, so its listener
// receiving it proves that the router sent the connection back to this host.
#include "hairpin/tcp_probe.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "stun/net/stream.hpp"

namespace natdiag::hairpin {
namespace {

using std::chrono::milliseconds;

/// The listener re-checks whether to stop this often.
constexpr milliseconds kPollSlice{20};

/// A listening socket, or the errno that prevented it.
struct Listener {
  net::FileDescriptor fd;
  int error = 0;
};

Listener listen_on(const TransportAddress& external_ip, std::uint16_t port) {
  Listener l;
  const TransportAddress any = net::any_address(external_ip.family, port);
  l.fd = net::FileDescriptor(
      ::socket(net::to_af(any.family), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!l.fd.valid()) {
    l.error = errno;
    return l;
  }
  // SO_REUSEADDR only lets natdiag reuse a port still in TIME_WAIT from its own last run; Linux
  // never lets it share a port another socket is listening on, so a running nginx still
  // shows up as EADDRINUSE.
  const int on = 1;
  setsockopt(l.fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (any.family == stun::Family::kIPv6)
    setsockopt(l.fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  const auto addr = net::to_sockaddr(any);
  if (::bind(l.fd.get(), addr.get(), addr.length) != 0 || ::listen(l.fd.get(), 8) != 0) {
    l.error = errno;
    l.fd = net::FileDescriptor();
  }
  return l;
}

/// What the listener saw, shared with the connecting side.
struct ListenerState {
  std::atomic<bool> stop{false};
  std::atomic<bool> received{false};
  std::mutex mutex;
  std::optional<TransportAddress> from;  ///< guarded by mutex
  int foreign = 0;                       ///< connections that did not carry the nonce
};

/// Accepts connections until the nonce arrives, the deadline passes or `stop` is set. Answers
/// the nonce with `answer`, which the connecting side checks.
void serve_nonce(int listen_fd, const std::string& expected, const std::string& answer,
                 TimePoint deadline, ListenerState& state) {
  struct Accepted {
    net::FileDescriptor fd;
    std::optional<TransportAddress> peer;
    std::string bytes;
  };
  std::vector<Accepted> accepted;
  while (!state.stop && stun::Clock::now() < deadline) {
    std::vector<pollfd> fds{{listen_fd, POLLIN, 0}};
    for (const auto& a : accepted) fds.push_back({a.fd.get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), static_cast<int>(kPollSlice.count())) <= 0) continue;
    if (fds[0].revents & POLLIN) {
      net::SockAddr peer;
      peer.length = sizeof peer.storage;
      const int fd = ::accept4(listen_fd, peer.get(), &peer.length, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0)
        accepted.push_back({net::FileDescriptor(fd), net::from_sockaddr(peer.get()), {}});
    }
    for (std::size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      auto& a = accepted[i - 1];
      char buf[256];
      const ssize_t n = ::recv(a.fd.get(), buf, sizeof buf, 0);
      if (n > 0) a.bytes.append(buf, static_cast<std::size_t>(n));
      if (a.bytes.find(expected) != std::string::npos) {
        (void)!::send(a.fd.get(), answer.data(), answer.size(), MSG_NOSIGNAL);
        {
          std::lock_guard lock(state.mutex);
          state.from = a.peer;
        }
        state.received = true;
        return;
      }
      const bool wrong =
          a.bytes.size() >= expected.size() || expected.compare(0, a.bytes.size(), a.bytes) != 0;
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || wrong) {
        if (wrong) ++state.foreign;
        a.fd = net::FileDescriptor();  // swept below
      }
    }
    std::erase_if(accepted, [](const Accepted& a) { return !a.fd.valid(); });
  }
}

/// What the connecting side saw.
struct Connection {
  bool connected = false;
  int connect_error = 0;
  std::string answer;  ///< the first bytes the far end sent back
  std::string error;   ///< why reading stopped
};

Connection connect_with_nonce(const TransportAddress& target, const std::string& line,
                              TimePoint deadline, PathRtt* rtt) {
  Connection c;
  const auto start = stun::Clock::now();
  // The SYN and its SYN-ACK or RST make one round trip on the path to EXTERNAL_IP.
  const auto record_rtt = [&] {
    if (rtt) rtt->record(std::chrono::duration_cast<Duration>(stun::Clock::now() - start));
  };
  try {
    auto conn = net::StreamConnection::connect(target, std::nullopt, net::TlsOptions{}, deadline);
    record_rtt();
    c.connected = true;
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(line.data());
    if (!conn.send_all({bytes, line.size()}, deadline, c.error)) return c;
    while (c.answer.find('\n') == std::string::npos && c.answer.size() < 512) {
      auto chunk = conn.receive_some(512, deadline, c.error);
      if (!chunk) break;
      c.answer.append(chunk->begin(), chunk->end());
    }
  } catch (const net::SocketError& e) {
    c.connect_error = e.error_number();
    c.error = std::strerror(e.error_number());
    if (c.connect_error == ECONNREFUSED) record_rtt();
  }
  return c;
}

/// Words for a nonce that never reached the listener: what the connecting side saw instead.
void describe_no_return(CheckResult& r, const Connection& c, const std::string& pub,
                        const std::string& listened, Duration elapsed) {
  r.result = Result::kNotSupported;
  const std::string waited = format_seconds(elapsed);
  const std::string port = std::to_string(r.port);
  if (!c.connected && c.connect_error == ECONNREFUSED) {
    r.detail = "connection to " + pub +
               " refused: it never came back here (the router, or the host it forwards the port "
               "to, refused it)";
    r.why = listened +
            "Had the router hairpinned it, natdiag's listener would have accepted the connection; "
            "a refusal (TCP RST) means the router, or the host it forwards port " +
            port + " to, has nothing listening there.";
  } else if (!c.connected && c.connect_error == ETIMEDOUT) {
    r.detail =
        "no answer from " + pub + " within " + waited + ": the connection attempt was dropped";
    r.why = listened +
            "The connection attempt (SYN) got no answer at all: the router dropped it, as routers "
            "without NAT loopback often do.";
  } else if (!c.connected) {
    r.detail = "cannot connect to " + pub + ": " + c.error;
    r.why = listened + "The kernel could not even open the connection, so nothing came back here.";
  } else if (!c.answer.empty()) {
    r.detail = pub + " accepted the connection but it never reached this host: '" +
               first_line(c.answer) +
               "' answered (another machine, e.g. the router's web interface)";
    r.why = listened +
            "Something accepted the connection and answered, but natdiag's listener never saw the "
            "nonce: the connection ended on another machine. Only the nonce counts, not the fact "
            "that something answered.";
  } else {
    r.detail = pub + " accepted the connection but the nonce never reached this host (" + c.error +
               " after " + waited + ")";
    r.why = listened +
            "Something accepted the connection, but natdiag's listener never saw the nonce: the "
            "connection ended on another machine.";
  }
}

CheckResult nonce_check(net::FileDescriptor listener, std::uint16_t port,
                        const TcpProbeOptions& options) {
  const auto start = stun::Clock::now();
  CheckResult r = check_for(Protocol::kTcp, port);
  r.method = Method::kNonce;
  const std::string nonce = random_nonce();
  const std::string expected = "natdiag-hairpin " + nonce + "\n";
  const std::string answer = "natdiag-hairpin-ok " + random_nonce() + "\n";
  ListenerState state;
  std::thread serving(serve_nonce, listener.get(), expected, answer, options.deadline,
                      std::ref(state));
  TransportAddress target = options.external_ip;
  target.port = port;
  const Connection c = connect_with_nonce(target, expected, options.deadline, options.rtt);
  state.stop = true;
  serving.join();

  const std::string pub = target.to_string();
  const std::string listened = "natdiag listened on TCP port " + std::to_string(port) +
                               " itself (nothing else did) and connected to " + pub +
                               " carrying a random nonce that only this process knows. ";
  if (state.received) {
    std::lock_guard lock(state.mutex);
    r.result = Result::kSupported;
    r.returned_from = state.from;
    r.detail = "natdiag's nonce sent to " + pub + " came back to its own listener here" +
               (state.from ? " (from " + state.from->ip_string() + ")" : "");
    r.why = listened +
            "Its listener received that nonce, so the connection to the public address came back "
            "to this host.";
    if (state.from && !state.from->same_ip(options.external_ip)) {
      r.why += " It arrived from " + state.from->ip_string() +
               ": the router also rewrote the source address (SNAT), which hairpinned TCP needs.";
    }
    return r;
  }
  const auto waited = std::chrono::duration_cast<Duration>(stun::Clock::now() - start);
  describe_no_return(r, c, pub, listened, waited);
  if (state.foreign > 0) {
    r.why += " (" + std::to_string(state.foreign) +
             " other connection(s) reached the listener without the nonce and were ignored.)";
  }
  return r;
}

}  // namespace

CheckResult tcp_check(std::uint16_t port, const TcpProbeOptions& options) {
  Listener listener = listen_on(options.external_ip, port);
  if (listener.fd.valid()) return nonce_check(std::move(listener.fd), port, options);
  if (listener.error == EADDRINUSE) return compare_paths_check(port, options);
  // Without the right to listen (ports below 1024 need root or CAP_NET_BIND_SERVICE) natdiag
  // cannot tell a free port from a busy one: a local service answering settles it.
  CheckResult compared = compare_paths_check(port, options);
  if (compared.method != Method::kNone) return compared;  // set once a local service answered
  CheckResult r = check_for(Protocol::kTcp, port);
  r.setup_failed = true;
  r.setup_error = listener.error;
  r.detail =
      "cannot listen on TCP port " + std::to_string(port) + " here (" +
      std::strerror(listener.error) + ")" +
      (listener.error == EACCES ? ": ports below 1024 need root or CAP_NET_BIND_SERVICE" : "") +
      ", and no local service answers on it to compare with";
  r.why =
      "natdiag proves a hairpin by listening on the port and recognising its own nonce, or by "
      "comparing a local service's answer with the one via the public address; neither was "
      "possible.";
  return r;
}

}  // namespace natdiag::hairpin
