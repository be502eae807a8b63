#include "stun/server/server.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "stun/proto/message.hpp"

namespace natdiag::server {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::size_t kBatch = 64;  // datagrams per recvmmsg/sendmmsg
// Room for one IP_PKTINFO or IPV6_PKTINFO control message.
constexpr std::size_t kControlSize = CMSG_SPACE(sizeof(in6_pktinfo));

// The last source of each refusal reason, for the log line. Best effort: a busy lock skips.
struct LastSources {
  std::mutex mutex;
  std::array<std::string, static_cast<std::size_t>(Refusal::kCount)> source;

  void remember(Refusal r, const TransportAddress& from) {
    std::unique_lock lock(mutex, std::try_to_lock);
    if (lock) source[static_cast<std::size_t>(r)] = from.to_string();
  }
};

LastSources& last_sources() {
  static LastSources instance;
  return instance;
}

void count_refusal(ServerCounters& counters, Refusal r, const TransportAddress& from) {
  counters.refused[static_cast<std::size_t>(r)].fetch_add(1, std::memory_order_relaxed);
  last_sources().remember(r, from);
}

// The local address a datagram was sent to, from its IP_PKTINFO / IPV6_PKTINFO (RFC 3542).
struct PacketInfo {
  bool valid = false;
  in_addr v4{};
  in6_pktinfo v6{};
};

PacketInfo read_packet_info(const msghdr& h) {
  PacketInfo info;
  for (const cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(const_cast<msghdr*>(&h), const_cast<cmsghdr*>(c))) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo p{};
      std::memcpy(&p, CMSG_DATA(c), sizeof p);
      info.v4 = p.ipi_addr;
      info.valid = true;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      std::memcpy(&info.v6, CMSG_DATA(c), sizeof info.v6);
      info.valid = true;
    }
  }
  return info;
}

// Asks the kernel to send from the address the request came to: a wildcard socket would
// otherwise answer from the route's preferred address, which the client drops.
void write_packet_info(msghdr& h, const PacketInfo& info, stun::Family family,
                       std::array<std::uint8_t, kControlSize>& buffer) {
  buffer.fill(0);
  h.msg_control = buffer.data();
  h.msg_controllen = buffer.size();
  cmsghdr* c = CMSG_FIRSTHDR(&h);
  if (family == stun::Family::kIPv4) {
    in_pktinfo p{};
    p.ipi_spec_dst = info.v4;
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof p);
    std::memcpy(CMSG_DATA(c), &p, sizeof p);
    h.msg_controllen = CMSG_SPACE(sizeof p);
  } else {
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof info.v6);
    std::memcpy(CMSG_DATA(c), &info.v6, sizeof info.v6);
    h.msg_controllen = CMSG_SPACE(sizeof info.v6);
  }
}

}  // namespace

// --- UDP ----------------------------------------------------------------------------------

struct Server::UdpWorker {
  struct Bound {
    SocketId id;
    net::UdpSocket socket;
  };
  std::vector<Bound> sockets;
  Responder responder;
  RateLimiter& limiter;
  ServerCounters& counters;
  bool packet_info;  // wildcard sockets: answer from the address each request came to
  stun::Family family;
  std::thread thread;

  // Batch buffers, allocated once per worker. One byte more than a request may have, so that
  // a datagram of exactly kMaxRequestSize is told from a larger one without MSG_TRUNC.
  using PacketBuffers = std::vector<std::array<std::uint8_t, kMaxRequestSize + 1>>;
  PacketBuffers in = PacketBuffers(kBatch);
  PacketBuffers out = PacketBuffers(kBatch);
  std::vector<std::array<std::uint8_t, kControlSize>> in_ctrl =
      std::vector<std::array<std::uint8_t, kControlSize>>(kBatch);
  std::vector<std::array<std::uint8_t, kControlSize>> out_ctrl =
      std::vector<std::array<std::uint8_t, kControlSize>>(kBatch);
  std::array<PacketInfo, kBatch> in_info{};
  std::array<mmsghdr, kBatch> in_msgs{};
  std::array<iovec, kBatch> in_iov{};
  std::array<sockaddr_storage, kBatch> in_addr{};
  std::array<mmsghdr, kBatch> out_msgs{};
  std::array<iovec, kBatch> out_iov{};
  std::array<net::SockAddr, kBatch> out_addr{};

  UdpWorker(const ServeOptions& options, RateLimiter& shared_limiter, ServerCounters& c)
      : responder(ResponderConfig{options.addresses, options.software, false}),
        limiter(shared_limiter),
        counters(c),
        packet_info(options.addresses.wildcard),
        family(options.addresses.primary_ip.family) {
    const auto& a = options.addresses;
    const int ips = a.alternate_ip ? 2 : 1;
    const int ports = a.alternate_ip ? 2 : 1;
    for (std::uint8_t ip = 0; ip < ips; ++ip) {
      for (std::uint8_t port = 0; port < ports; ++port) {
        const SocketId id{ip, port};
        sockets.push_back(Bound{id, net::UdpSocket::bind(a.address_of(id), options.threads > 1)});
        if (packet_info) enable_packet_info(sockets.back().socket.fd());
      }
    }
  }

  void enable_packet_info(int fd) const {
    const int on = 1;
    const int rc = family == stun::Family::kIPv4
                       ? setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on)
                       : setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on);
    if (rc != 0) throw net::SocketError("setsockopt(PKTINFO)", errno);
  }

  // One recvmmsg on one socket, then the replies grouped by the socket they leave from.
  void serve_batch(Bound& bound) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      in_iov[i] = iovec{in[i].data(), in[i].size()};
      in_msgs[i].msg_hdr = msghdr{};
      in_msgs[i].msg_hdr.msg_iov = &in_iov[i];
      in_msgs[i].msg_hdr.msg_iovlen = 1;
      in_msgs[i].msg_hdr.msg_name = &in_addr[i];
      in_msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      if (packet_info) {
        in_msgs[i].msg_hdr.msg_control = in_ctrl[i].data();
        in_msgs[i].msg_hdr.msg_controllen = in_ctrl[i].size();
      }
    }
    const int n = recvmmsg(bound.socket.fd(), in_msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;
    counters.received.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
    const auto now = SteadyClock::now();
    std::array<Reply, kBatch> replies{};
    for (int i = 0; i < n; ++i) {
      auto source = net::from_sockaddr(reinterpret_cast<const sockaddr*>(&in_addr[i]));
      if (!source) continue;
      const msghdr& h = in_msgs[i].msg_hdr;
      if (packet_info) {
        in_info[i] = read_packet_info(h);
        if (!in_info[i].valid) continue;  // cannot tell where to answer from
      }
      // A datagram larger than the buffer arrives cut short (MSG_TRUNC): never answer a part.
      if ((h.msg_flags & MSG_TRUNC) != 0 || in_msgs[i].msg_len > kMaxRequestSize) {
        count_refusal(counters, Refusal::kTooLarge, *source);
        continue;
      }
      if (!limiter.allow(*source, now)) {
        count_refusal(counters, Refusal::kRateLimited, *source);
        continue;
      }
      replies[i] = responder.respond(std::span(in[i]).first(in_msgs[i].msg_len), *source,
                                     bound.id, out[i]);
      if (replies[i].refusal != Refusal::kNone) count_refusal(counters, replies[i].refusal, *source);
    }
    // Send grouped by outgoing socket; most replies leave from the socket they arrived on.
    for (auto& from : sockets) {
      unsigned count = 0;
      for (int i = 0; i < n; ++i) {
        if (!replies[i].send || !(replies[i].from == from.id)) continue;
        out_addr[count] = net::to_sockaddr(replies[i].to);
        out_iov[count] = iovec{out[i].data(), replies[i].size};
        msghdr& h = out_msgs[count].msg_hdr;
        h = msghdr{};
        h.msg_iov = &out_iov[count];
        h.msg_iovlen = 1;
        h.msg_name = out_addr[count].get();
        h.msg_namelen = out_addr[count].length;
        if (packet_info) write_packet_info(h, in_info[i], family, out_ctrl[count]);
        ++count;
      }
      unsigned done = 0;
      while (done < count) {
        const int sent = sendmmsg(from.socket.fd(), out_msgs.data() + done, count - done, 0);
        if (sent <= 0) {
          if (sent < 0 && errno == EINTR) continue;
          ++done;  // skip the datagram the kernel refused (e.g. EACCES, unreachable)
          continue;
        }
        done += static_cast<unsigned>(sent);
        counters.answered.fetch_add(static_cast<std::uint64_t>(sent), std::memory_order_relaxed);
      }
    }
  }

  void run(const std::atomic<bool>& stop) {
    std::vector<pollfd> fds;
    for (auto& b : sockets) fds.push_back(pollfd{b.socket.fd(), POLLIN, 0});
    while (!stop.load(std::memory_order_relaxed)) {
      if (::poll(fds.data(), fds.size(), 200) <= 0) continue;
      for (std::size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].revents & POLLIN) serve_batch(sockets[i]);
      }
    }
  }
};

// --- Server -------------------------------------------------------------------------------

namespace {

// Validates before anything binds: a SOFTWARE too long for the reply cap would otherwise be
// cut, and an answer must say what the operator configured.
ServeOptions checked(ServeOptions options) {
  if (options.software.size() > kMaxSoftwareBytes) {
    throw std::invalid_argument("SOFTWARE is " + std::to_string(options.software.size()) +
                                " bytes; at most " + std::to_string(kMaxSoftwareBytes));
  }
  return options;
}

}  // namespace

Server::Server(ServeOptions options)
    : options_(checked(std::move(options))),
      limiter_(options_.rate_limit, std::max(20.0, options_.rate_limit), options_.ipv6_prefix) {
  if (options_.udp && options_.threads > 1) {
    // SO_REUSEPORT would let this server share its ports with another process that also set
    // it, silently splitting the traffic. A plain bind first proves the ports are free.
    const auto& a = options_.addresses;
    for (std::uint8_t ip = 0; ip < (a.alternate_ip ? 2 : 1); ++ip) {
      for (std::uint8_t port = 0; port < (a.alternate_ip ? 2 : 1); ++port) {
        (void)net::UdpSocket::bind(a.address_of(SocketId{ip, port}), false);
      }
    }
  }
  if (options_.udp) {
    for (int i = 0; i < std::max(1, options_.threads); ++i) {
      udp_.push_back(std::make_unique<UdpWorker>(options_, limiter_, counters_));
    }
  }
  if (options_.tcp) {
    tcp_ = std::make_unique<TcpWorker>(
        ResponderConfig{options_.addresses, options_.software, true}, options_.tcp_limits,
        options_.ipv6_prefix, limiter_, counters_,
        [this](Refusal r, const TransportAddress& from) { count_refusal(counters_, r, from); });
  }
}

Server::~Server() = default;

std::vector<std::string> Server::listeners() const {
  std::vector<std::string> out;
  if (!udp_.empty()) {
    for (const auto& b : udp_.front()->sockets) out.push_back("udp " + b.socket.local_address().to_string());
  }
  if (tcp_) {
    for (auto& l : tcp_->listeners()) out.push_back(std::move(l));
  }
  return out;
}

void Server::run(const std::atomic<bool>& stop, const LogSink& log) {
  for (auto& w : udp_) w->thread = std::thread([&w, &stop] { w->run(stop); });
  if (tcp_) tcp_thread_ = std::thread([this, &stop] { tcp_->run(stop); });

  std::array<std::uint64_t, static_cast<std::size_t>(Refusal::kCount)> logged{};
  std::array<SteadyClock::time_point, static_cast<std::size_t>(Refusal::kCount)> last_log{};
  // Logs what was refused since the last line of each reason; `flush` ignores the interval
  // (at shutdown, so no refusal goes unreported).
  auto log_refusals = [&](bool flush) {
    const auto now = SteadyClock::now();
    for (std::size_t r = 1; r < logged.size(); ++r) {
      const std::uint64_t total = counters_.refused[r].load(std::memory_order_relaxed);
      if (total == logged[r] || (!flush && last_log[r] != SteadyClock::time_point{} &&
                                 now - last_log[r] < options_.log_interval)) {
        continue;
      }
      std::string source;
      {
        std::lock_guard lock(last_sources().mutex);
        source = last_sources().source[r];
      }
      if (log) log(std::string(refusal_name(static_cast<Refusal>(r))), total - logged[r], source);
      logged[r] = total;
      last_log[r] = now;
    }
  };
  while (!stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    log_refusals(false);
  }
  for (auto& w : udp_) w->thread.join();
  if (tcp_) tcp_thread_.join();
  log_refusals(true);
}

}  // namespace natdiag::server
