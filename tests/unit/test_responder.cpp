// The RFC 5780 responder without sockets, then the real server loop on loopback sockets.
#include <doctest/doctest.h>

#include <poll.h>

#include <array>
#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include "stun/client/binding.hpp"
#include "stun/net/socket.hpp"
#include "stun/net/transaction.hpp"
#include "stun/proto/attributes.hpp"
#include "stun/proto/integrity.hpp"
#include "stun/server/responder.hpp"
#include "stun/server/server.hpp"

using namespace natdiag;
using namespace natdiag::server;
using stun::AttributeType;
using stun::TransportAddress;

namespace {

TransportAddress addr(const char* text) { return *TransportAddress::parse(text); }

ServerAddresses two_addresses() {
  ServerAddresses a;
  a.primary_ip = addr("203.0.113.10");
  a.alternate_ip = addr("203.0.113.11");
  a.port = 3478;
  a.alt_port = 3479;
  return a;
}

struct Request {
  std::array<std::uint8_t, 1500> buffer{};
  std::size_t size = 0;
  stun::TransactionId id{};
  std::span<const std::uint8_t> bytes() const { return std::span(buffer).first(size); }
};

// Builds a Binding request; `extra` adds attributes before FINGERPRINT.
template <typename Extra>
Request binding(Extra extra, std::uint16_t type = 0x0001) {
  Request r;
  r.id = net::random_transaction_id();
  stun::MessageBuilder b(r.buffer, type, r.id);
  extra(b);
  b.add_fingerprint();
  REQUIRE(b.ok());
  r.size = b.bytes().size();
  return r;
}
Request binding() {
  return binding([](stun::MessageBuilder&) {});
}

struct Answer {
  Reply reply;
  std::array<std::uint8_t, 1500> out{};
  stun::MessageView view() const {
    auto parsed = stun::MessageView::parse(std::span(out).first(reply.size));
    REQUIRE(parsed.ok());
    return parsed.value();
  }
  TransportAddress address(AttributeType t) const {
    auto found = stun::find_address(view(), t);
    REQUIRE(found.has_value());
    REQUIRE(found->ok());
    return found->value();
  }
  int error_code() const {
    auto v = view().find_value(AttributeType::kErrorCode);
    REQUIRE(v.has_value());
    return stun::decode_error_code(*v)->code;
  }
};

Answer ask(const Responder& responder, const Request& request, SocketId on = {},
           TransportAddress from = addr("198.51.100.7:40000")) {
  Answer a;
  a.reply = responder.respond(request.bytes(), from, on, a.out);
  return a;
}

// A Server on loopback ports the kernel just handed out, running on its own thread.
struct LoopbackServer {
  ServeOptions options;
  std::optional<Server> server;
  std::atomic<bool> stop{false};
  std::vector<std::string> log_lines;
  std::thread runner;

  explicit LoopbackServer(ServeOptions o) : options(std::move(o)) {
    options.addresses.primary_ip = addr("127.0.0.1");
    options.addresses.port = net::UdpSocket::bind(addr("127.0.0.1:0")).local_address().port;
    options.addresses.alt_port = options.addresses.port == 65535 ? 65534 : options.addresses.port + 1;
    options.tcp = false;
    try {
      server.emplace(options);
    } catch (const net::SocketError& e) {
      FAIL("cannot bind the test server: " << e.what());
    }
    runner = std::thread([this] {
      server->run(stop, [this](const std::string& reason, std::uint64_t count, const std::string&) {
        log_lines.push_back(reason + " " + std::to_string(count));
      });
    });
  }
  ~LoopbackServer() { halt(); }
  void halt() {
    stop = true;
    if (runner.joinable()) runner.join();
  }
  TransportAddress address() const { return options.addresses.address_of({0, 0}); }
};

}  // namespace

TEST_CASE("responder: a Binding request gets the mapped address, origin and other address") {
  const Responder r(ResponderConfig{two_addresses(), "test", false});
  const auto req = binding();
  const auto a = ask(r, req);
  REQUIRE(a.reply.send);
  CHECK(a.reply.from == SocketId{0, 0});
  CHECK(a.reply.to == addr("198.51.100.7:40000"));
  CHECK(a.view().transaction_id() == req.id);
  CHECK(a.view().is(stun::Method::kBinding, stun::MessageClass::kSuccessResponse));
  CHECK(a.address(AttributeType::kXorMappedAddress) == addr("198.51.100.7:40000"));
  CHECK(a.address(AttributeType::kMappedAddress) == addr("198.51.100.7:40000"));
  CHECK(a.address(AttributeType::kResponseOrigin) == addr("203.0.113.10:3478"));
  CHECK(a.address(AttributeType::kOtherAddress) == addr("203.0.113.11:3479"));
  CHECK(stun::check_fingerprint(a.view()) == stun::Check::kValid);
}

TEST_CASE("responder: CHANGE-REQUEST picks the right one of the four sockets (RFC 5780 §6.1)") {
  const Responder r(ResponderConfig{two_addresses(), "", false});
  struct Case { bool ip, port; SocketId on, from; const char* origin; const char* other; };
  const Case cases[] = {
      {false, false, {0, 0}, {0, 0}, "203.0.113.10:3478", "203.0.113.11:3479"},
      {true, false, {0, 0}, {1, 0}, "203.0.113.11:3478", "203.0.113.11:3479"},
      {false, true, {0, 0}, {0, 1}, "203.0.113.10:3479", "203.0.113.11:3479"},
      {true, true, {0, 0}, {1, 1}, "203.0.113.11:3479", "203.0.113.11:3479"},
      {true, true, {1, 0}, {0, 1}, "203.0.113.10:3479", "203.0.113.10:3479"},
      {false, true, {1, 1}, {1, 0}, "203.0.113.11:3478", "203.0.113.10:3478"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.origin);
    const auto a = ask(r, binding([&](auto& b) { b.add_change_request(c.ip, c.port); }), c.on);
    REQUIRE(a.reply.send);
    CHECK(a.reply.from == c.from);
    CHECK(a.address(AttributeType::kResponseOrigin) == addr(c.origin));
    // OTHER-ADDRESS is relative to the socket the request arrived on.
    CHECK(a.address(AttributeType::kOtherAddress) == addr(c.other));
  }
}

TEST_CASE("responder: one address answers CHANGE-REQUEST with 420 and UNKNOWN-ATTRIBUTES") {
  ServerAddresses one = two_addresses();
  one.alternate_ip.reset();
  const Responder r(ResponderConfig{one, "", false});
  const auto plain = ask(r, binding());
  REQUIRE(plain.reply.send);
  CHECK(plain.view().find(AttributeType::kOtherAddress) == nullptr);
  const auto a = ask(r, binding([](auto& b) { b.add_change_request(true, true); }));
  REQUIRE(a.reply.send);
  CHECK(a.reply.refusal == Refusal::kUnknownAttribute);
  CHECK(a.error_code() == 420);
  const auto unknown = stun::decode_unknown_attributes(*a.view().find_value(AttributeType::kUnknownAttributes));
  CHECK(unknown.value() == std::vector<std::uint16_t>{0x0003});
}

TEST_CASE("responder: RESPONSE-PORT redirects, and with PADDING it is a 400") {
  const Responder r(ResponderConfig{two_addresses(), "", false});
  const auto a = ask(r, binding([](auto& b) { b.add_u32(AttributeType::kResponsePort, 5555U << 16); }));
  REQUIRE(a.reply.send);
  CHECK(a.reply.to == addr("198.51.100.7:5555"));
  const std::array<std::uint8_t, 64> pad{};
  const auto bad = ask(r, binding([&](auto& b) {
    b.add_u32(AttributeType::kResponsePort, 5555U << 16);
    b.add_raw(static_cast<std::uint16_t>(AttributeType::kPadding), pad);
  }));
  REQUIRE(bad.reply.send);
  CHECK(bad.error_code() == 400);
  CHECK(bad.reply.to == addr("198.51.100.7:40000"));  // errors go back to the source
}

TEST_CASE("responder: PADDING never makes a reply larger than the cap") {
  const Responder r(ResponderConfig{two_addresses(), "natdiag", false});
  const std::array<std::uint8_t, 1200> pad{};
  const auto big = binding([&](auto& b) { b.add_raw(static_cast<std::uint16_t>(AttributeType::kPadding), pad); });
  const auto a = ask(r, big);
  REQUIRE(a.reply.send);
  CHECK(a.reply.size <= big.size);
  CHECK(a.view().find(AttributeType::kPadding) != nullptr);
  const std::array<std::uint8_t, 8> small_pad{};
  const auto small = binding([&](auto& b) { b.add_raw(static_cast<std::uint16_t>(AttributeType::kPadding), small_pad); });
  CHECK(ask(r, small).reply.size <= Responder::kMinReplyCap);
}

TEST_CASE("responder: responses, indications, garbage and bad fingerprints are dropped") {
  const Responder r(ResponderConfig{two_addresses(), "", false});
  CHECK_FALSE(ask(r, binding([](auto&) {}, 0x0101)).reply.send);  // a success response
  CHECK(ask(r, binding([](auto&) {}, 0x0101)).reply.refusal == Refusal::kNotARequest);
  CHECK_FALSE(ask(r, binding([](auto&) {}, 0x0011)).reply.send);  // an indication
  Request garbage;
  garbage.size = 37;
  garbage.buffer.fill(0xAB);
  CHECK(ask(r, garbage).reply.refusal == Refusal::kMalformed);
  auto corrupt = binding();
  corrupt.buffer[corrupt.size - 1] ^= 1;
  CHECK(ask(r, corrupt).reply.refusal == Refusal::kMalformed);
}

TEST_CASE("responder: other methods get 400, unknown comprehension-required attributes 420") {
  const Responder r(ResponderConfig{two_addresses(), "", false});
  CHECK(ask(r, binding([](auto&) {}, 0x0003)).error_code() == 400);  // Allocate
  const std::uint8_t v[] = {1, 2, 3, 4};
  const auto a = ask(r, binding([&](auto& b) { b.add_raw(0x7123, v); }));
  CHECK(a.error_code() == 420);
  // Comprehension-optional unknowns are ignored.
  CHECK(ask(r, binding([&](auto& b) { b.add_raw(0x8123, v); })).reply.refusal == Refusal::kNone);
}

TEST_CASE("responder: RFC 3489 requests get MAPPED-ADDRESS, SOURCE-ADDRESS, CHANGED-ADDRESS") {
  const Responder r(ResponderConfig{two_addresses(), "", false});
  Request req;
  const std::array<std::uint8_t, 16> legacy{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  stun::MessageBuilder b(req.buffer, 0x0001, legacy);
  b.add_change_request(true, false);
  req.size = b.bytes().size();
  const auto a = ask(r, req);
  REQUIRE(a.reply.send);
  CHECK_FALSE(a.view().has_magic_cookie());
  CHECK(a.reply.from == SocketId{1, 0});
  CHECK(a.address(AttributeType::kMappedAddress) == addr("198.51.100.7:40000"));
  CHECK(a.address(AttributeType::kSourceAddress) == addr("203.0.113.11:3478"));
  CHECK(a.address(AttributeType::kChangedAddress) == addr("203.0.113.11:3479"));
  CHECK(a.view().find(AttributeType::kXorMappedAddress) == nullptr);
}

TEST_CASE("rate limiter: a burst passes, a flood does not, other sources are unaffected") {
  RateLimiter limiter(100, 100);
  const auto t0 = std::chrono::steady_clock::now();
  int allowed = 0;
  for (int i = 0; i < 1000; ++i) allowed += limiter.allow(addr("192.0.2.1:1"), t0) ? 1 : 0;
  CHECK(allowed == 100);
  CHECK(limiter.allow(addr("192.0.2.2:1"), t0));
  CHECK(limiter.allow(addr("192.0.2.1:1"), t0 + std::chrono::milliseconds(20)));  // refilled 2
  RateLimiter off(0, 0);
  for (int i = 0; i < 1000; ++i) REQUIRE(off.allow(addr("192.0.2.1:1"), t0));
}

TEST_CASE("server on loopback: a malformed flood is refused, counted, logged briefly, and survived") {
  ServeOptions options;
  options.rate_limit = 0;
  options.log_interval = std::chrono::seconds(60);
  LoopbackServer fixture(options);
  auto client = net::UdpSocket::bind(addr("127.0.0.1:0"));
  // 10,000 malformed datagrams, then a real request that must still be answered.
  std::array<std::uint8_t, 64> junk{};
  for (int i = 0; i < 10000; ++i) {
    junk[0] = static_cast<std::uint8_t>(i);  // some look like STUN headers, most do not
    junk[3] = static_cast<std::uint8_t>(i * 7);
    client.send_to(std::span(junk).first(20 + i % 40), fixture.address());
  }
  net::UdpTransactions tx;
  const auto h = tx.start(net::UdpRequest{&client, fixture.address(),
                                          client::make_binding_request(net::random_transaction_id()),
                                          stun::RetransmitPolicy{std::chrono::milliseconds(100)},
                                          stun::Clock::now() + std::chrono::seconds(3),
                                          net::SourceMatch::kDestination});
  tx.run(stun::Clock::now() + std::chrono::seconds(3));
  REQUIRE(tx.outcome(h).status == net::UdpOutcome::Status::kResponse);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  fixture.halt();
  CHECK(fixture.server->counters().refused[static_cast<std::size_t>(Refusal::kMalformed)].load() > 1000);
  // The flood is summarised, not echoed: within one log interval each reason gets at most two
  // lines (one when it starts, one flushed at stop). Some junk decodes as STUN responses or
  // unknown methods, so more than one reason may appear.
  REQUIRE_FALSE(fixture.log_lines.empty());
  std::map<std::string, int> lines_per_reason;
  for (const auto& line : fixture.log_lines) ++lines_per_reason[line.substr(0, line.find(' '))];
  CHECK(lines_per_reason.count("malformed") == 1);
  for (const auto& [reason, lines] : lines_per_reason) {
    CAPTURE(reason);
    CHECK(lines <= 2);
  }
}

TEST_CASE("server on loopback: one address answers CHANGE-REQUEST 420, RESPONSE-PORT+PADDING 400") {
  LoopbackServer fixture{ServeOptions{}};
  auto client = net::UdpSocket::bind(addr("127.0.0.1:0"));
  auto exchange = [&](const Request& request) {
    net::UdpTransactions tx;
    const auto h = tx.start(net::UdpRequest{&client, fixture.address(), {request.bytes().begin(), request.bytes().end()},
                                            stun::RetransmitPolicy{std::chrono::milliseconds(100)},
                                            stun::Clock::now() + std::chrono::seconds(2),
                                            net::SourceMatch::kDestination});
    tx.run(stun::Clock::now() + std::chrono::seconds(2));
    return tx.outcome(h);
  };
  auto error_code_of = [](const net::UdpOutcome& outcome) {
    auto view = stun::MessageView::parse(outcome.response);
    REQUIRE(view.ok());
    auto value = view->find_value(AttributeType::kErrorCode);
    REQUIRE(value.has_value());
    return stun::decode_error_code(*value)->code;
  };
  const auto change = exchange(binding([](auto& b) { b.add_change_request(true, false); }));
  REQUIRE(change.status == net::UdpOutcome::Status::kResponse);
  CHECK(error_code_of(change) == 420);
  const std::array<std::uint8_t, 16> pad{};
  const auto both = exchange(binding([&](auto& b) {
    b.add_u32(AttributeType::kResponsePort, 40000U << 16);
    b.add_raw(static_cast<std::uint16_t>(AttributeType::kPadding), pad);
  }));
  REQUIRE(both.status == net::UdpOutcome::Status::kResponse);
  CHECK(error_code_of(both) == 400);
}

TEST_CASE("responder: no answer carries RESPONSE-ORIGIN or SOURCE-ADDRESS 0.0.0.0 or ::") {
  for (const char* any : {"0.0.0.0", "::"}) {
    for (const bool flagged : {false, true}) {
      CAPTURE(any);
      CAPTURE(flagged);
      ServerAddresses a;
      a.primary_ip = addr(any);
      a.wildcard = flagged;  // serve --primary 0.0.0.0 once left it false
      const Responder r(ResponderConfig{a, "", false});
      const auto from = addr(std::string_view(any) == "::" ? "[2001:db8::7]:40000" : "198.51.100.7:40000");
      const auto answer = ask(r, binding(), {}, from);
      REQUIRE(answer.reply.send);
      CHECK(answer.view().find(AttributeType::kResponseOrigin) == nullptr);
      CHECK(answer.address(AttributeType::kXorMappedAddress) == from);
      // RFC 3489 requests (no magic cookie) get SOURCE-ADDRESS instead: never a wildcard either.
      Request classic = binding();
      classic.buffer[4] = classic.buffer[5] = classic.buffer[6] = classic.buffer[7] = 0;
      classic.size -= 8;  // the FINGERPRINT needs the cookie: drop it
      classic.buffer[3] = static_cast<std::uint8_t>(classic.buffer[3] - 8);
      const auto old = ask(r, classic, {}, from);
      REQUIRE(old.reply.send);
      CHECK(old.view().find(AttributeType::kSourceAddress) == nullptr);
    }
  }
}

TEST_CASE("binding on loopback: a closed UDP port is refused by the server itself, named in the attempt") {
  // A port the kernel gave us and we closed: the ICMP port unreachable comes from 127.0.0.1.
  std::uint16_t closed = 0;
  {
    auto probe = net::UdpSocket::bind(*TransportAddress::parse("127.0.0.1:0"));
    closed = probe.local_address().port;
  }
  client::BindingOptions o;
  o.host = "127.0.0.1";
  o.port = closed;
  o.timeout = std::chrono::seconds(2);
  const auto report = client::run_binding_test(o);
  REQUIRE(report.attempts.size() == 1);
  const auto& a = report.attempts.front();
  CHECK_FALSE(a.success);
  CHECK(a.failure == client::Failure::kRefusedByServer);
  REQUIRE(a.refused_by.has_value());
  CHECK(a.refused_by->ip_string() == "127.0.0.1");
  CHECK(a.error.find("from the server 127.0.0.1 itself") != std::string::npos);
  CHECK(client::failure_name(a.failure) == "refused-by-server");
}
