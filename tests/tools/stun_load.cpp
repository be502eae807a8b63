// Binding-request load generator for scripts/bench-serve.sh (loopback or lab addresses only).
//   stun-load SERVER_IP PORT [--seconds S] [--sockets K] [--window W]
// Keeps W requests in flight on each of K sockets (closed loop, batched with sendmmsg and
// recvmmsg), counts answers with the right transaction ID, and prints answers per second.
// Bounded: stops after S seconds (default 5, at most 60).
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "stun/net/socket.hpp"
#include "stun/proto/message.hpp"

using namespace natdiag;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: stun-load SERVER_IP PORT [--seconds S] [--sockets K] [--window W]\n");
    return 2;
  }
  auto server = stun::TransportAddress::parse(argv[1]);
  if (!server) return 2;
  server->port = static_cast<std::uint16_t>(std::stoi(argv[2]));
  double seconds = 5;
  int sockets_n = 8;
  int window = 64;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--seconds") seconds = std::min(60.0, std::stod(argv[i + 1]));
    if (flag == "--sockets") sockets_n = std::stoi(argv[i + 1]);
    if (flag == "--window") window = std::stoi(argv[i + 1]);
  }
  constexpr int kBatch = 32;
  struct Flow {
    net::UdpSocket socket;
    int in_flight = 0;
    Clock::time_point last_answer;
  };
  std::vector<Flow> flows;
  for (int i = 0; i < sockets_n; ++i) {
    auto s = net::UdpSocket::bind(net::any_address(server->family));
    s.connect(*server);
    flows.push_back(Flow{std::move(s), 0, Clock::now()});
  }
  // One request template; the transaction ID carries a counter so answers are checkable.
  std::array<std::uint8_t, 64> request{};
  stun::TransactionId id{};
  std::memcpy(id.data(), "natdiag-load", 12);
  stun::MessageBuilder b(request,
                         stun::compose_message_type(stun::Method::kBinding, stun::MessageClass::kRequest), id);
  b.add_fingerprint();
  const std::size_t request_size = b.bytes().size();

  std::array<mmsghdr, kBatch> msgs{};
  std::array<iovec, kBatch> iov{};
  std::vector<std::array<std::uint8_t, 512>> in(kBatch);
  std::uint64_t answered = 0;
  std::uint64_t sent = 0;
  std::uint64_t bad = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<pollfd> fds(flows.size());
  while (Clock::now() < end) {
    for (std::size_t f = 0; f < flows.size(); ++f) {
      Flow& flow = flows[f];
      // A window that has been silent for 200 ms lost its packets: refill it.
      if (flow.in_flight > 0 && Clock::now() - flow.last_answer > std::chrono::milliseconds(200)) {
        flow.in_flight = 0;
        flow.last_answer = Clock::now();
      }
      while (flow.in_flight + kBatch <= window) {
        for (int i = 0; i < kBatch; ++i) {
          iov[i] = iovec{request.data(), request_size};
          msgs[i].msg_hdr = msghdr{};
          msgs[i].msg_hdr.msg_iov = &iov[i];
          msgs[i].msg_hdr.msg_iovlen = 1;
        }
        const int n = sendmmsg(flow.socket.fd(), msgs.data(), kBatch, MSG_DONTWAIT);
        if (n <= 0) break;
        flow.in_flight += n;
        sent += static_cast<std::uint64_t>(n);
      }
      fds[f] = pollfd{flow.socket.fd(), POLLIN, 0};
    }
    if (::poll(fds.data(), fds.size(), 50) <= 0) continue;
    for (std::size_t f = 0; f < flows.size(); ++f) {
      if (!(fds[f].revents & POLLIN)) continue;
      for (int i = 0; i < kBatch; ++i) {
        iov[i] = iovec{in[i].data(), in[i].size()};
        msgs[i].msg_hdr = msghdr{};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      const int n = recvmmsg(flows[f].socket.fd(), msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
      for (int i = 0; i < n; ++i) {
        auto view = stun::MessageView::parse(std::span(in[i]).first(msgs[i].msg_len));
        if (view && view->transaction_id() == id &&
            view->message_class() == stun::MessageClass::kSuccessResponse) {
          ++answered;
        } else {
          ++bad;
        }
      }
      if (n > 0) {
        flows[f].in_flight = std::max(0, flows[f].in_flight - n);
        flows[f].last_answer = Clock::now();
      }
    }
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("sent %llu answered %llu bad %llu seconds %.2f rate %.0f\n",
              static_cast<unsigned long long>(sent), static_cast<unsigned long long>(answered),
              static_cast<unsigned long long>(bad), elapsed, static_cast<double>(answered) / elapsed);
  return answered > 0 ? 0 : 1;
}
