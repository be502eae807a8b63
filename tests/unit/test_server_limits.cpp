// natdiag serve's limits: the rate limiter's keys and sharing, the reply cap with the longest
// SOFTWARE, oversized requests, and the TCP deadlines and per-source caps on loopback.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <thread>
#include <vector>

#include "stun/client/binding.hpp"
#include "stun/net/socket.hpp"
#include "stun/net/stream.hpp"
#include "stun/net/transaction.hpp"
#include "stun/proto/message.hpp"
#include "stun/server/rate_limiter.hpp"
#include "stun/server/responder.hpp"
#include "stun/server/server.hpp"

using namespace natdiag;
using namespace natdiag::server;
using stun::TransportAddress;

namespace {

TransportAddress at(const char* text) { return *TransportAddress::parse(text); }

std::uint32_t old_fnv_slot(const TransportAddress& a) {
  std::uint32_t hash = 2166136261U;
  for (std::size_t i = 0; i < a.ip_size(); ++i) hash = (hash ^ a.ip[i]) * 16777619U;
  return hash % 4096;
}

}  // namespace

TEST_CASE("rate limiter: a flood from a source that collided with the victim's slot costs the victim nothing") {
  const auto victim = at("192.0.2.1:1000");
  // The old table put sources with the same FNV-1a slot in one bucket; find such a source.
  std::optional<TransportAddress> attacker;
  for (std::uint32_t i = 1; i < 1'000'000 && !attacker; ++i) {
    TransportAddress a = at("10.0.0.0:1");
    a.ip[1] = static_cast<std::uint8_t>(i >> 16);
    a.ip[2] = static_cast<std::uint8_t>(i >> 8);
    a.ip[3] = static_cast<std::uint8_t>(i);
    if (old_fnv_slot(a) == old_fnv_slot(victim)) attacker = a;
  }
  REQUIRE(attacker);
  RateLimiter limiter(200, 200);
  auto t = std::chrono::steady_clock::now();
  int victim_allowed = 0;
  for (int ms = 0; ms < 1000; ++ms) {
    t += std::chrono::milliseconds(1);
    for (int i = 0; i < 500; ++i) (void)limiter.allow(*attacker, t);  // 500 k packets/s
    if (ms % 20 == 0) victim_allowed += limiter.allow(victim, t) ? 1 : 0;  // 50/s
  }
  CHECK(victim_allowed == 50);
}

TEST_CASE("rate limiter: IPv6 sources share a budget per /64 (configurable), not per address") {
  const auto t = std::chrono::steady_clock::now();
  RateLimiter limiter(10, 10);
  int allowed = 0;
  for (int i = 0; i < 100; ++i) {
    TransportAddress a = at("[2001:db8:1:2::1]:5");
    a.ip[15] = static_cast<std::uint8_t>(i);  // a hundred addresses of one /64
    a.ip[10] = static_cast<std::uint8_t>(i * 3);
    allowed += limiter.allow(a, t) ? 1 : 0;
  }
  CHECK(allowed == 10);
  CHECK(limiter.allow(at("[2001:db8:1:3::1]:5"), t));  // the next /64 has its own
  RateLimiter per_48(10, 10, 48);
  for (int i = 0; i < 10; ++i) REQUIRE(per_48.allow(at("[2001:db8:1:2::1]:5"), t));
  CHECK_FALSE(per_48.allow(at("[2001:db8:1:ffff::1]:5"), t));  // same /48
  CHECK(source_key(at("[2001:db8:1:2:3:4:5:6]:1"), 64) == source_key(at("[2001:db8:1:2::]:9"), 64));
  CHECK_FALSE(source_key(at("[2001:db8:1:2:3:4:5:6]:1"), 128) == source_key(at("[2001:db8:1:2::]:9"), 128));
}

TEST_CASE("rate limiter: a spoofed flood from a million sources leaves a known source its budget") {
  RateLimiter limiter(200, 200);
  auto t = std::chrono::steady_clock::now();
  const auto known = at("198.51.100.1:1");
  REQUIRE(limiter.allow(known, t));
  TransportAddress spoofed = at("10.0.0.0:1");
  for (std::uint32_t i = 0; i < 1'000'000; ++i) {
    spoofed.ip[1] = static_cast<std::uint8_t>(i >> 16);
    spoofed.ip[2] = static_cast<std::uint8_t>(i >> 8);
    spoofed.ip[3] = static_cast<std::uint8_t>(i);
    if (i % 1000 == 0) t += std::chrono::milliseconds(2);
    (void)limiter.allow(spoofed, t);
  }
  int allowed = 0;
  for (int i = 0; i < 100; ++i) allowed += limiter.allow(known, t) ? 1 : 0;
  CHECK(allowed == 100);
}

TEST_CASE("rate limiter: shared by threads, the limit is the limit, not N times it") {
  RateLimiter limiter(100, 100);
  const auto t = std::chrono::steady_clock::now();
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) allowed += limiter.allow(at("192.0.2.9:1"), t) ? 1 : 0;
    });
  }
  for (auto& th : threads) th.join();
  CHECK(allowed.load() == 100);
}

TEST_CASE("responder: the longest SOFTWARE fits every answer, IPv6 and RFC 5780 included") {
  ServerAddresses a;
  a.primary_ip = at("2001:db8::10");
  a.alternate_ip = at("2001:db8::11");
  for (const std::size_t length : {std::size_t{33}, std::size_t{100}, kMaxSoftwareBytes}) {
    CAPTURE(length);
    const Responder r(ResponderConfig{a, std::string(length, 's'), false});
    std::array<std::uint8_t, 64> in{};
    stun::MessageBuilder b(in, 0x0001, net::random_transaction_id());
    b.add_fingerprint();  // a 28-byte request: the smallest a client sends with FINGERPRINT
    std::array<std::uint8_t, 2048> out{};
    const Reply reply = r.respond(b.bytes(), at("[2001:db8::7]:40000"), SocketId{0, 0}, out);
    CHECK(reply.refusal == Refusal::kNone);
    REQUIRE(reply.send);
    CHECK(reply.size <= Responder::kMaxReplyCap);
  }
}

TEST_CASE("responder: a request with more attributes than a view indexes is too large, not malformed") {
  ServerAddresses a;
  a.primary_ip = at("203.0.113.10");
  const Responder r(ResponderConfig{a, "x", false});
  std::array<std::uint8_t, 1024> in{};
  stun::MessageBuilder b(in, 0x0001, net::random_transaction_id());
  const std::array<std::uint8_t, 4> v{};
  for (int i = 0; i < 40; ++i) b.add_raw(0x8123, v);
  b.add_fingerprint();
  std::array<std::uint8_t, 2048> out{};
  CHECK(r.respond(b.bytes(), at("198.51.100.7:1"), SocketId{0, 0}, out).refusal == Refusal::kTooLarge);
}

TEST_CASE("server: a SOFTWARE longer than the cap is refused at start-up") {
  ServeOptions o;
  o.addresses.primary_ip = at("127.0.0.1");
  o.addresses.port = 0;
  o.software = std::string(kMaxSoftwareBytes + 1, 'x');
  CHECK_THROWS_AS(Server{o}, std::invalid_argument);
}

namespace {

// A TCP-only server on 127.0.0.1 with short limits, run on its own thread.
struct TcpServer {
  std::optional<Server> server;
  std::atomic<bool> stop{false};
  std::thread runner;
  TransportAddress address;

  explicit TcpServer(const TcpLimits& limits) {
    ServeOptions o;
    o.udp = false;
    o.addresses.primary_ip = at("127.0.0.1");
    // The kernel picks a free port for a probe socket, which is closed again before the bind.
    {
      net::FileDescriptor probe(::socket(AF_INET, SOCK_STREAM, 0));
      const auto sa = net::to_sockaddr(at("127.0.0.1:0"));
      REQUIRE(::bind(probe.get(), sa.get(), sa.length) == 0);
      o.addresses.port = net::socket_local_address(probe.get()).port;
    }
    o.tcp_limits = limits;
    server.emplace(o);
    address = o.addresses.address_of({0, 0});
    runner = std::thread([this] { server->run(stop, {}); });
  }
  ~TcpServer() {
    stop = true;
    runner.join();
  }
};

// Connects from `local`; the connection is open once this returns.
net::StreamConnection connect_from(const TransportAddress& server, const char* local) {
  return net::StreamConnection::connect(server, at(local), {}, stun::Clock::now() + std::chrono::seconds(2));
}

// True when the server closed the connection within `within`.
bool closed_within(net::StreamConnection& c, std::chrono::milliseconds within) {
  std::string error;
  auto got = c.receive_some(16, stun::Clock::now() + within, error);
  return !got && error == "connection closed";
}

bool binding_works(const TransportAddress& server, const char* local) {
  client::BindingOptions o;
  o.host = server.ip_string();
  o.port = server.port;
  o.transport = client::Transport::kTcp;
  o.local = at(local);
  o.timeout = std::chrono::seconds(2);
  return client::run_binding_test(o).success();
}

}  // namespace

TEST_CASE("server TCP: a source at its cap loses its stalest connection, others are untouched") {
  TcpLimits limits;
  limits.max_per_source = 3;
  TcpServer s(limits);
  std::vector<net::StreamConnection> attacker;
  for (int i = 0; i < 3; ++i) attacker.push_back(connect_from(s.address, "127.0.0.2:0"));
  auto bystander = connect_from(s.address, "127.0.0.3:0");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // all accepted
  attacker.push_back(connect_from(s.address, "127.0.0.2:0"));   // the fourth
  CHECK(closed_within(attacker.front(), std::chrono::seconds(2)));
  CHECK(binding_works(s.address, "127.0.0.3:0"));
  std::string error;
  // The bystander's connection is still open: nothing to read, no close.
  CHECK_FALSE(bystander.receive_some(16, stun::Clock::now() + std::chrono::milliseconds(100), error));
  CHECK(error == "timed out");
}

TEST_CASE("server TCP: a request trickled a byte at a time is cut off at its deadline") {
  TcpLimits limits;
  limits.request_deadline = std::chrono::milliseconds(300);
  TcpServer s(limits);
  auto slow = connect_from(s.address, "127.0.0.2:0");
  auto idle = connect_from(s.address, "127.0.0.4:0");
  const auto request = client::make_binding_request(net::random_transaction_id());
  std::string error;
  bool closed = false;
  // One byte every 50 ms: bytes arrive, but the request never completes.
  for (std::size_t i = 0; i + 1 < request.size() && !closed; ++i) {
    closed = !slow.send_all(std::span(request).subspan(i, 1), stun::Clock::now() + std::chrono::seconds(1), error);
    if (!closed) closed = closed_within(slow, std::chrono::milliseconds(50));
  }
  CHECK(closed);
  CHECK(closed_within(idle, std::chrono::seconds(2)));  // never sent a byte
  CHECK(binding_works(s.address, "127.0.0.3:0"));
}

TEST_CASE("server TCP: a connection accepted in the poll round it is served in is answered") {
  // Several connections racing the poll loop; under ASan this once read past the pollfd array.
  TcpServer s(TcpLimits{});
  for (int i = 0; i < 5; ++i) CHECK(binding_works(s.address, "127.0.0.1:0"));
}
