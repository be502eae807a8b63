// Real libnice on loopback: its STUN retransmission schedule, measured against a UDP socket
// that never answers, must match the model natdiag fits its timeout with (issue 10: with
// --timeout 3.5 or 7 the old model let libnice run past natdiag's own deadline), and the
// libnice properties natdiag sets stay within their ranges (no GLib warning for --timeout 100).
#include <doctest/doctest.h>
#include <glib.h>
#include <poll.h>

#include <array>
#include <atomic>
#include <future>
#include <sstream>
#include <thread>
#include <vector>

#include "ice/gatherer.hpp"
#include "stun/net/socket.hpp"

namespace ice = natdiag::ice;
namespace net = natdiag::net;
namespace stun = natdiag::stun;
using std::chrono::milliseconds;

namespace {

/// A UDP socket on 127.0.0.1 that records when each STUN request arrives and answers none.
class SilentServer {
 public:
  SilentServer()
      : socket_(net::UdpSocket::bind(*stun::TransportAddress::parse("127.0.0.1:0"))),
        thread_([this] { listen(); }) {}
  ~SilentServer() { (void)stop(); }
  SilentServer(const SilentServer&) = delete;
  SilentServer& operator=(const SilentServer&) = delete;

  [[nodiscard]] stun::TransportAddress address() const { return socket_.local_address(); }
  /// Arrival times of the STUN requests, after the listener has stopped.
  [[nodiscard]] std::vector<stun::TimePoint> stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return arrivals_;
  }

 private:
  void listen() {
    std::array<std::uint8_t, 2048> buffer{};
    // Bounded: at most 60 s, whatever happens to the test.
    const auto end = stun::Clock::now() + std::chrono::seconds(60);
    while (!stop_ && stun::Clock::now() < end) {
      pollfd p{socket_.fd(), POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int error = 0;
      while (auto r = socket_.receive(buffer, error)) {
        if (r->size >= 20 && buffer[0] == 0x00 && buffer[1] == 0x01) {
          arrivals_.push_back(stun::Clock::now());
        }
      }
    }
  }

  net::UdpSocket socket_;
  std::atomic<bool> stop_{false};
  std::vector<stun::TimePoint> arrivals_;
  std::thread thread_;
};

struct Measured {
  ice::GatherReport report;
  std::vector<stun::TimePoint> arrivals;
  stun::TimePoint start;
};

/// Gathers on 127.0.0.1 only, against a silent server, with `timeout`.
Measured gather_against_silence(stun::Duration timeout) {
  SilentServer server;
  ice::GatherOptions o;
  o.local_addresses = {*stun::TransportAddress::parse("127.0.0.1:0")};
  o.stun.push_back({"stun:silent", server.address()});
  o.timeout = timeout;
  Measured m;
  m.start = stun::Clock::now();
  m.report = ice::gather_candidates(o);
  m.arrivals = server.stop();
  return m;
}

double ms(stun::Duration d) {
  return static_cast<double>(d.count()) / 1000.0;
}

}  // namespace

TEST_CASE("libnice's STUN schedule, measured: done within --timeout 3.5 and 7 s") {
  // Both at once: the longer one takes libnice 3.8 s.
  auto short_run = std::async(std::launch::async, gather_against_silence, milliseconds(3500));
  auto long_run = std::async(std::launch::async, gather_against_silence, milliseconds(7000));
  for (auto* run : {&short_run, &long_run}) {
    const Measured m = run->get();
    const bool is_short = run == &short_run;
    const auto timeout = is_short ? milliseconds(3500) : milliseconds(7000);
    const unsigned n = ice::libnice_transmissions_for(timeout, 99);
    CAPTURE(n);
    REQUIRE(m.report.agents.size() == 1);
    const auto& agent = m.report.agents.front();
    // The model's promise: libnice gives up on its own before natdiag's deadline.
    CHECK(agent.done);
    CHECK(!m.report.timed_out);
    // libnice sent exactly N requests (stun-max-retransmissions counts transmissions).
    REQUIRE(m.arrivals.size() == n);
    std::ostringstream curve;
    for (const auto& t : m.arrivals) {
      curve << " " << ms(std::chrono::duration_cast<stun::Duration>(t - m.arrivals.front()));
    }
    MESSAGE("timeout " << ms(timeout) << " ms: " << n << " requests at" << curve.str()
                       << " ms; done at " << (agent.elapsed ? ms(*agent.elapsed) : -1.0)
                       << " ms; model " << ms(ice::libnice_give_up(ice::kStunInitialTimeout, n))
                       << " ms");
    // The curve: request k goes out (2^k - 1) * RTO after the first. Timers never fire early.
    for (unsigned k = 1; k < n; ++k) {
      const auto expected = ice::kStunInitialTimeout * ((1u << k) - 1);
      CHECK(m.arrivals[k] - m.arrivals.front() >= expected - milliseconds(5));
    }
    REQUIRE(agent.elapsed);
    CHECK(*agent.elapsed >= ice::libnice_give_up(ice::kStunInitialTimeout, n) - milliseconds(5));
  }
}

namespace {
int g_glib_warnings = 0;
void count_warning(const gchar*, GLogLevelFlags, const gchar* message, gpointer) {
  ++g_glib_warnings;
  MESSAGE("GLib: " << message);
}
}  // namespace

TEST_CASE("libnice properties within their GParamSpec ranges: no GLib warning at --timeout 100") {
  const guint handler = g_log_set_handler(
      "GLib-GObject", static_cast<GLogLevelFlags>(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL),
      count_warning, nullptr);
  g_glib_warnings = 0;
  ice::GatherOptions o;  // no server: done at once
  o.local_addresses = {*stun::TransportAddress::parse("127.0.0.1:0")};
  o.timeout = std::chrono::seconds(100);  // stun-reliable-timeout allows at most 99999 ms
  const auto report = ice::gather_candidates(o);
  g_log_remove_handler("GLib-GObject", handler);
  CHECK(g_glib_warnings == 0);
  CHECK(!report.timed_out);
}
