// Abuse generator for the abuse tests and scripts/bench-abuse.sh (loopback or lab addresses
// only). Every mode is bounded in packets, connections and seconds, and stops by itself.
//   stun-abuse flood SERVER PORT --kind K [--count N] [--seconds S] [--rate PPS] [--local IP]
//       K: malformed (64 random bytes), binding (valid requests: a flood from one source),
//          truncated (65,000-byte datagrams whose first 2,048 bytes are a valid request),
//          many-attributes (a valid request with 40 attributes)
//       paced at PPS datagrams/s when --rate is given (else as fast as the socket takes them);
//       prints "sent N answered A bytes_sent B bytes_answered C"
//   stun-abuse probe SERVER PORT [--rate R] [--seconds S] [--local IP]
//       a legitimate client: R requests/s, each answered within 500 ms or lost;
//       prints "probe sent N answered A percent P"
//   stun-abuse slowloris SERVER PORT [--connections N] [--seconds S] [--local IP]
//       N TCP connections that each send one byte of a request every 500 ms (never a whole
//       one); prints "slowloris opened N open_at_end K"
//   stun-abuse idle SERVER PORT [--connections N] [--seconds S] [--local IP]
//       N TCP connections that send nothing; prints when the server closed them:
//       "idle opened N closed K median_close_s M max_close_s X"
//   stun-abuse shapes SERVER PORT
//       one request of each shape; prints "shape NAME request B reply R factor F" per shape
#include <netinet/in.h>
#include <openssl/rand.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "stun/net/socket.hpp"
#include "stun/proto/message.hpp"

using namespace natdiag;
using Clock = std::chrono::steady_clock;
using Bytes = std::vector<std::uint8_t>;

namespace {

struct Args {
  std::string mode;
  stun::TransportAddress server;
  std::string kind = "malformed";
  long count = 100000;
  double seconds = 5;
  double rate = 0;  ///< flood: 0 unpaced; probe: default 50
  int connections = 100;
  std::optional<stun::TransportAddress> local;
};

stun::TransactionId random_id() {
  stun::TransactionId id{};
  RAND_bytes(id.data(), static_cast<int>(id.size()));
  return id;
}

// A Binding request; `build` adds attributes before FINGERPRINT.
Bytes request(const stun::TransactionId& id, const std::function<void(stun::MessageBuilder&)>& build = {},
              bool fingerprint = true, std::uint16_t type = 0x0001) {
  Bytes out(4096);
  stun::MessageBuilder b(out, type, id);
  if (build) build(b);
  if (fingerprint) b.add_fingerprint();
  return {b.bytes().begin(), b.bytes().end()};
}

Bytes flood_packet(const std::string& kind) {
  if (kind == "malformed") {
    Bytes garbage(64);
    RAND_bytes(garbage.data(), static_cast<int>(garbage.size()));
    return garbage;
  }
  if (kind == "truncated") {
    // A valid 2,048-byte request (PADDING fills it), then 62,952 bytes more in the datagram.
    Bytes first = request(random_id(), [](auto& b) {
      const std::array<std::uint8_t, 2048 - 20 - 4 - 8> pad{};
      b.add_raw(static_cast<std::uint16_t>(stun::AttributeType::kPadding), pad);
    });
    first.resize(65000, 0xEE);
    return first;
  }
  if (kind == "many-attributes") {
    return request(random_id(), [](auto& b) {
      const std::array<std::uint8_t, 4> v{};
      for (int i = 0; i < 40; ++i) b.add_raw(0x8123, v);
    });
  }
  return request(random_id());
}

net::UdpSocket udp_for(const Args& a) {
  auto local = a.local.value_or(net::any_address(a.server.family));
  local.port = 0;
  auto s = net::UdpSocket::bind(local);
  s.connect(a.server);
  return s;
}

int flood(const Args& a) {
  auto socket = udp_for(a);
  const Bytes packet = flood_packet(a.kind);
  const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(a.seconds));
  constexpr int kBatch = 32;
  std::array<mmsghdr, kBatch> msgs{};
  std::array<iovec, kBatch> iov{};
  std::vector<std::array<std::uint8_t, 2048>> in(kBatch);
  long sent = 0, answered = 0, bytes_answered = 0;
  auto drain = [&] {
    for (;;) {
      for (int i = 0; i < kBatch; ++i) {
        iov[i] = iovec{in[i].data(), in[i].size()};
        msgs[i].msg_hdr = msghdr{};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      const int n = recvmmsg(socket.fd(), msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) return;
      answered += n;
      for (int i = 0; i < n; ++i) bytes_answered += msgs[i].msg_len;
    }
  };
  auto next = Clock::now();
  while (sent < a.count && Clock::now() < end) {
    if (a.rate > 0) {
      while (Clock::now() < next) {
        pollfd p{socket.fd(), POLLIN, 0};
        if (::poll(&p, 1, 1) > 0) drain();
      }
      next += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(kBatch / a.rate));
    }
    const int batch = static_cast<int>(std::min<long>(kBatch, a.count - sent));
    for (int i = 0; i < batch; ++i) {
      iov[i] = iovec{const_cast<std::uint8_t*>(packet.data()), packet.size()};
      msgs[i].msg_hdr = msghdr{};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = sendmmsg(socket.fd(), msgs.data(), static_cast<unsigned>(batch), 0);
    if (n > 0) sent += n;
    drain();
    if (n <= 0) {
      pollfd p{socket.fd(), POLLOUT, 0};
      ::poll(&p, 1, 10);
    }
  }
  // Late answers.
  const auto linger = Clock::now() + std::chrono::milliseconds(300);
  while (Clock::now() < linger) {
    pollfd p{socket.fd(), POLLIN, 0};
    if (::poll(&p, 1, 50) > 0) drain();
  }
  std::printf("sent %ld answered %ld bytes_sent %ld bytes_answered %ld\n", sent, answered,
              sent * static_cast<long>(packet.size()), bytes_answered);
  return 0;
}

int probe(const Args& a) {
  auto socket = udp_for(a);
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(a.seconds));
  const double rate = a.rate > 0 ? a.rate : 50;
  const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate));
  long sent = 0, answered = 0;
  auto next = start;
  while (Clock::now() < end && sent < 100000) {
    while (Clock::now() < next) {
      pollfd p{socket.fd(), POLLIN, 0};
      ::poll(&p, 1, 1);
    }
    next += interval;
    const auto id = random_id();
    const Bytes req = request(id);
    socket.send_to(req, a.server);
    ++sent;
    const auto wait_until = Clock::now() + std::chrono::milliseconds(500);
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(wait_until - Clock::now()).count();
      if (left <= 0) break;
      pollfd p{socket.fd(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      std::array<std::uint8_t, 2048> in{};
      int error = 0;
      auto got = socket.receive(in, error);
      if (!got) continue;
      auto view = stun::MessageView::parse(std::span(in).first(got->size));
      if (view && view->transaction_id() == id &&
          view->message_class() == stun::MessageClass::kSuccessResponse) {
        ++answered;
        break;
      }
    }
  }
  std::printf("probe sent %ld answered %ld percent %.1f\n", sent, answered,
              sent ? 100.0 * static_cast<double>(answered) / static_cast<double>(sent) : 0.0);
  return 0;
}

// Starts a non-blocking connect; the caller waits for it to complete.
net::FileDescriptor tcp_connect(const Args& a) {
  net::FileDescriptor fd(::socket(net::to_af(a.server.family), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (a.local) {
    auto local = *a.local;
    local.port = 0;
    const auto sa = net::to_sockaddr(local);
    if (::bind(fd.get(), sa.get(), sa.length) != 0) return net::FileDescriptor();
  }
  const auto sa = net::to_sockaddr(a.server);
  if (::connect(fd.get(), sa.get(), sa.length) != 0 && errno != EINPROGRESS) return net::FileDescriptor();
  return fd;
}

// True when the server has closed the connection (EOF or reset).
bool closed_by_server(int fd) {
  std::array<std::uint8_t, 512> in{};
  const ssize_t n = ::recv(fd, in.data(), in.size(), MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

int tcp_hold(const Args& a, bool trickle) {
  struct Conn {
    net::FileDescriptor fd;
    bool open = true;
    double closed_after = 0;
  };
  std::vector<Conn> conns;
  const auto start = Clock::now();
  const int n = std::min(a.connections, 2000);
  std::vector<net::FileDescriptor> pending;
  for (int i = 0; i < n; ++i) {
    auto fd = tcp_connect(a);
    if (fd.valid()) pending.push_back(std::move(fd));
  }
  // All connects at once; those the server's backlog delays get up to 3 s.
  const auto connect_end = Clock::now() + std::chrono::seconds(3);
  while (!pending.empty() && Clock::now() < connect_end) {
    std::vector<pollfd> fds;
    for (auto& fd : pending) fds.push_back(pollfd{fd.get(), POLLOUT, 0});
    ::poll(fds.data(), fds.size(), 50);
    std::vector<net::FileDescriptor> still;
    for (std::size_t i = 0; i < pending.size(); ++i) {
      if (fds[i].revents == 0) {
        still.push_back(std::move(pending[i]));
        continue;
      }
      int so_error = 0;
      socklen_t len = sizeof so_error;
      getsockopt(pending[i].get(), SOL_SOCKET, SO_ERROR, &so_error, &len);
      if (so_error == 0) conns.push_back(Conn{std::move(pending[i])});
    }
    pending = std::move(still);
  }
  std::printf("connected %zu\n", conns.size());
  std::fflush(stdout);
  const Bytes header = request(random_id());  // trickled one byte at a time, never finished
  std::size_t offset = 0;
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(a.seconds));
  auto next_byte = start;
  while (Clock::now() < end) {
    if (trickle && Clock::now() >= next_byte && offset + 1 < header.size()) {
      for (auto& c : conns) {
        if (c.open) ::send(c.fd.get(), header.data() + offset, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      }
      ++offset;
      next_byte += std::chrono::milliseconds(500);
    }
    std::vector<pollfd> fds;
    for (auto& c : conns) fds.push_back(pollfd{c.open ? c.fd.get() : -1, POLLIN, 0});
    ::poll(fds.data(), fds.size(), 20);
    const double now_s = std::chrono::duration<double>(Clock::now() - start).count();
    for (std::size_t i = 0; i < conns.size(); ++i) {
      if (conns[i].open && fds[i].revents != 0 && closed_by_server(conns[i].fd.get())) {
        conns[i].open = false;
        conns[i].closed_after = now_s;
      }
    }
  }
  std::vector<double> closes;
  for (const auto& c : conns) {
    if (!c.open) closes.push_back(c.closed_after);
  }
  std::sort(closes.begin(), closes.end());
  const long open_now = static_cast<long>(conns.size() - closes.size());
  if (trickle) {
    std::printf("slowloris opened %zu open_at_end %ld\n", conns.size(), open_now);
  } else {
    std::printf("idle opened %zu closed %zu median_close_s %.2f max_close_s %.2f\n", conns.size(),
                closes.size(), closes.empty() ? -1.0 : closes[closes.size() / 2],
                closes.empty() ? -1.0 : closes.back());
  }
  return 0;
}

int shapes(const Args& a) {
  auto socket = udp_for(a);
  struct Shape {
    const char* name;
    Bytes bytes;
  };
  const std::array<std::uint8_t, 4> four{};
  const std::array<std::uint8_t, 400> pad{};
  std::vector<Shape> list;
  list.push_back({"binding-minimal", request(random_id(), {}, false)});
  list.push_back({"binding-fingerprint", request(random_id())});
  list.push_back({"binding-padding-400", request(random_id(), [&](auto& b) {
                    b.add_raw(static_cast<std::uint16_t>(stun::AttributeType::kPadding), pad);
                  })});
  list.push_back({"binding-change-request", request(random_id(), [](auto& b) { b.add_change_request(true, true); })});
  list.push_back({"binding-unknown-required", request(random_id(), [&](auto& b) { b.add_raw(0x7123, four); })});
  list.push_back({"allocate", request(random_id(), {}, true, 0x0003)});
  stun::TransactionId legacy = random_id();
  list.push_back({"rfc3489-binding", request(legacy, {}, false)});
  std::memset(list.back().bytes.data() + 4, 0x11, 4);  // no magic cookie
  for (const auto& s : list) {
    socket.send_to(s.bytes, a.server);
    std::size_t reply = 0;
    pollfd p{socket.fd(), POLLIN, 0};
    if (::poll(&p, 1, 500) > 0) {
      std::array<std::uint8_t, 4096> in{};
      int error = 0;
      if (auto got = socket.receive(in, error)) reply = got->size;
    }
    std::printf("shape %s request %zu reply %zu factor %.2f\n", s.name, s.bytes.size(), reply,
                static_cast<double>(reply) / static_cast<double>(s.bytes.size()));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: stun-abuse MODE SERVER PORT [options] (see the source)\n");
    return 2;
  }
  Args a;
  a.mode = argv[1];
  auto server = stun::TransportAddress::parse(argv[2]);
  if (!server) return 2;
  a.server = *server;
  a.server.port = static_cast<std::uint16_t>(std::stoi(argv[3]));
  for (int i = 4; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--kind") a.kind = value;
    if (flag == "--count") a.count = std::min(std::stol(value), 10'000'000L);
    if (flag == "--seconds") a.seconds = std::min(std::stod(value), 60.0);
    if (flag == "--rate") a.rate = std::clamp(std::stod(value), 1.0, 10'000'000.0);
    if (flag == "--connections") a.connections = std::stoi(value);
    if (flag == "--local") a.local = stun::TransportAddress::parse(value);
  }
  if (a.mode == "flood") return flood(a);
  if (a.mode == "probe") return probe(a);
  if (a.mode == "slowloris") return tcp_hold(a, true);
  if (a.mode == "idle") return tcp_hold(a, false);
  if (a.mode == "shapes") return shapes(a);
  std::fprintf(stderr, "stun-abuse: unknown mode %s\n", a.mode.c_str());
  return 2;
}
