// A STUN server that misbehaves on purpose, for the client's robustness tests (loopback only).
//   stun-badserver PORT [--drop] [--turn-400] [--turn-long-realm] [--ip IP] [--tcp STEPS]
// Default mode (UDP): to each Binding request it first sends a response with a wrong
// transaction ID, a truncated packet, and a response whose attribute runs past the message
// end, and only then the right answer (mapped address = the request's source). --drop: reads
// and ignores everything. --turn-400: a TURN server that challenges an Allocate without
// credentials with 401 (REALM, NONCE) and answers the authenticated retry with 400 Bad Request,
// as one widely used Go TURN server does for credentials it cannot verify. --turn-long-realm:
// the same, but the 401 carries a 1,100-byte REALM (RFC 8489 §14.9 allows 763). --tcp STEPS: listens on TCP instead and answers each request on a
// connection with the comma-separated STEPS, in order:
//   echo             the request itself, sent back
//   indication       a Binding indication with the request's transaction ID
//   bad-fingerprint  a success response, right ID, mapped 6.6.6.6:666, a wrong FINGERPRINT
//   wrong-id         a success response with another transaction ID
//   huge             a 64 KiB success response with the right ID and 2,000 attributes
//   garbage          bytes that are not STUN framing ("HTTP/1.1 400")
//   good             the right answer
// Stops after 60 s or 1000 requests, whichever comes first.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "stun/net/socket.hpp"
#include "stun/proto/message.hpp"

using namespace natdiag;

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes hostile_message(const std::string& step, std::span<const std::uint8_t> request_bytes,
                      const stun::MessageView& request, const stun::TransportAddress& peer) {
  const auto id = request.transaction_id();
  const auto success =
      stun::compose_message_type(stun::Method::kBinding, stun::MessageClass::kSuccessResponse);
  const auto bogus = *stun::TransportAddress::parse("6.6.6.6:666");
  std::vector<std::uint8_t> out(70000);
  if (step == "echo") return {request_bytes.begin(), request_bytes.end()};
  if (step == "indication") {
    stun::MessageBuilder b(out, stun::compose_message_type(stun::Method::kBinding, stun::MessageClass::kIndication), id);
    b.add_xor_address(stun::AttributeType::kXorMappedAddress, bogus).add_fingerprint();
    return {b.bytes().begin(), b.bytes().end()};
  }
  if (step == "bad-fingerprint" || step == "wrong-id") {
    auto other = id;
    if (step == "wrong-id") other[0] ^= 0xFF;
    stun::MessageBuilder b(out, success, other);
    b.add_xor_address(stun::AttributeType::kXorMappedAddress, bogus).add_fingerprint();
    Bytes bytes(b.bytes().begin(), b.bytes().end());
    if (step == "bad-fingerprint") bytes.back() ^= 0x5A;
    return bytes;
  }
  if (step == "huge") {
    stun::MessageBuilder b(out, success, id);
    b.add_xor_address(stun::AttributeType::kXorMappedAddress, bogus);
    const std::array<std::uint8_t, 28> filler{};
    for (int i = 0; i < 2000 && b.bytes().size() + 32 < 65536 - 32; ++i) b.add_raw(0x8123, filler);
    return {b.bytes().begin(), b.bytes().end()};
  }
  if (step == "garbage") {
    const std::string text = "HTTP/1.1 400 Bad Request\r\n\r\n";
    return {text.begin(), text.end()};
  }
  stun::MessageBuilder b(out, success, id);
  b.add_xor_address(stun::AttributeType::kXorMappedAddress, peer)
      .add_string(stun::AttributeType::kSoftware, "stun-badserver")
      .add_fingerprint();
  return {b.bytes().begin(), b.bytes().end()};
}

// One connection at a time: read requests, answer each with the steps.
int serve_tcp(const stun::TransportAddress& local, const std::vector<std::string>& steps) {
  net::FileDescriptor listener(::socket(net::to_af(local.family), SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int on = 1;
  setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  const auto sa = net::to_sockaddr(local);
  if (::bind(listener.get(), sa.get(), sa.length) != 0 || ::listen(listener.get(), 16) != 0) {
    std::perror("stun-badserver: bind/listen");
    return 3;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int requests = 0;
  while (std::chrono::steady_clock::now() < end && requests < 1000) {
    pollfd p{listener.get(), POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    net::SockAddr peer_sa;
    peer_sa.length = sizeof peer_sa.storage;
    net::FileDescriptor conn(::accept(listener.get(), peer_sa.get(), &peer_sa.length));
    if (!conn.valid()) continue;
    const auto peer = net::from_sockaddr(peer_sa.get()).value_or(stun::TransportAddress{});
    Bytes buffer;
    while (std::chrono::steady_clock::now() < end) {
      pollfd c{conn.get(), POLLIN, 0};
      if (::poll(&c, 1, 200) <= 0) continue;
      std::array<std::uint8_t, 4096> in{};
      const ssize_t n = ::recv(conn.get(), in.data(), in.size(), 0);
      if (n <= 0) break;
      buffer.insert(buffer.end(), in.begin(), in.begin() + n);
      const auto size = stun::stun_message_size(buffer);
      if (!size || buffer.size() < *size) continue;
      const Bytes request_bytes(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(*size));
      buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(*size));
      auto request = stun::MessageView::parse(request_bytes);
      if (!request) continue;
      ++requests;
      for (const auto& step : steps) {
        const Bytes out = hostile_message(step, request_bytes, *request, peer);
        if (::send(conn.get(), out.data(), out.size(), MSG_NOSIGNAL) < 0) break;
      }
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: stun-badserver PORT [--drop] [--turn-400] [--turn-long-realm] [--ip IP] [--tcp STEPS]\n");
    return 2;
  }
  const auto port = static_cast<std::uint16_t>(std::stoi(argv[1]));
  bool drop = false;
  bool turn_400 = false;
  bool long_realm = false;
  std::string ip = "127.0.0.1";
  std::vector<std::string> tcp_steps;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--drop") == 0) drop = true;
    if (std::strcmp(argv[i], "--turn-400") == 0) turn_400 = true;
    if (std::strcmp(argv[i], "--turn-long-realm") == 0) turn_400 = long_realm = true;
    if (std::strcmp(argv[i], "--ip") == 0 && i + 1 < argc) ip = argv[++i];
    if (std::strcmp(argv[i], "--tcp") == 0 && i + 1 < argc) {
      std::stringstream steps(argv[++i]);
      for (std::string step; std::getline(steps, step, ',');) tcp_steps.push_back(step);
    }
  }
  auto local = stun::TransportAddress::parse(ip);
  if (!local) return 2;
  local->port = port;
  if (!tcp_steps.empty()) return serve_tcp(*local, tcp_steps);
  auto socket = net::UdpSocket::bind(*local);
  std::printf("ready\n");
  std::fflush(stdout);
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int requests = 0;
  while (std::chrono::steady_clock::now() < end && requests < 1000) {
    pollfd p{socket.fd(), POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    std::array<std::uint8_t, 2048> in{};
    int error = 0;
    auto got = socket.receive(in, error);
    if (!got) continue;
    ++requests;
    if (drop) continue;
    auto request = stun::MessageView::parse(std::span(in).first(got->size));
    if (!request) continue;
    if (turn_400) {
      if (request->method() != static_cast<std::uint16_t>(stun::Method::kAllocate)) continue;
      const bool authenticated = request->find(stun::AttributeType::kUsername) != nullptr;
      std::array<std::uint8_t, 1500> reply{};
      stun::MessageBuilder b(reply,
                             stun::compose_message_type(stun::Method::kAllocate,
                                                        stun::MessageClass::kErrorResponse),
                             request->transaction_id());
      b.add_error_code(authenticated ? 400 : 401, authenticated ? "Bad Request" : "Unauthorized");
      if (!authenticated) {
        b.add_string(stun::AttributeType::kRealm,
                     long_realm ? std::string(1100, 'r') : std::string("badserver.test"))
            .add_string(stun::AttributeType::kNonce, "0123456789abcdef");
      }
      b.add_string(stun::AttributeType::kSoftware, "stun-badserver").add_fingerprint();
      socket.send_to(b.bytes(), got->source);
      continue;
    }
    const auto type =
        stun::compose_message_type(stun::Method::kBinding, stun::MessageClass::kSuccessResponse);
    std::array<std::uint8_t, 256> out{};

    // 1. Right shape, wrong transaction ID.
    auto wrong_id = request->transaction_id();
    wrong_id[0] ^= 0xFF;
    stun::TransportAddress bogus = *stun::TransportAddress::parse("192.0.2.66:6666");
    stun::MessageBuilder b1(out, type, wrong_id);
    b1.add_xor_address(stun::AttributeType::kXorMappedAddress, bogus).add_fingerprint();
    socket.send_to(b1.bytes(), got->source);

    // 2. The right answer, truncated to 26 bytes.
    stun::MessageBuilder b2(out, type, request->transaction_id());
    b2.add_xor_address(stun::AttributeType::kXorMappedAddress, bogus);
    socket.send_to(b2.bytes().first(26), got->source);

    // 3. Right ID, but an attribute that claims 200 bytes in a 32-byte message.
    stun::MessageBuilder b3(out, type, request->transaction_id());
    b3.add_xor_address(stun::AttributeType::kXorMappedAddress, bogus);
    std::array<std::uint8_t, 256> overrun{};
    std::memcpy(overrun.data(), b3.bytes().data(), b3.bytes().size());
    overrun[22] = 0;
    overrun[23] = 200;  // attribute length field
    socket.send_to(std::span(overrun).first(b3.bytes().size()), got->source);

    // 4. The right answer.
    stun::MessageBuilder b4(out, type, request->transaction_id());
    b4.add_xor_address(stun::AttributeType::kXorMappedAddress, got->source)
        .add_string(stun::AttributeType::kSoftware, "stun-badserver")
        .add_fingerprint();
    socket.send_to(b4.bytes(), got->source);
  }
  return 0;
}
