// A STUN server that misbehaves on purpose, for the client's robustness tests (loopback only).
//   stun-badserver PORT [--drop] [--turn-400] [--ip IP]
// Default mode: to each Binding request it first sends a response with a wrong transaction
// ID, a truncated packet, and a response whose attribute runs past the message end, and only
// then the right answer (mapped address = the request's source). --drop: reads and ignores
// everything. --turn-400: a TURN server that challenges an Allocate without credentials
// with 401 (REALM, NONCE) and answers the authenticated retry with 400 Bad Request, as one
// widely used Go TURN server does for credentials it cannot verify. Stops after 60 s or 1000 requests, whichever comes first.
#include <poll.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "stun/net/socket.hpp"
#include "stun/proto/message.hpp"

using namespace natdiag;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: stun-badserver PORT [--drop] [--turn-400] [--ip IP]\n");
    return 2;
  }
  const auto port = static_cast<std::uint16_t>(std::stoi(argv[1]));
  bool drop = false;
  bool turn_400 = false;
  std::string ip = "127.0.0.1";
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--drop") == 0) drop = true;
    if (std::strcmp(argv[i], "--turn-400") == 0) turn_400 = true;
    if (std::strcmp(argv[i], "--ip") == 0 && i + 1 < argc) ip = argv[++i];
  }
  auto local = stun::TransportAddress::parse(ip);
  if (!local) return 2;
  local->port = port;
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
      std::array<std::uint8_t, 256> reply{};
      stun::MessageBuilder b(reply,
                             stun::compose_message_type(stun::Method::kAllocate,
                                                        stun::MessageClass::kErrorResponse),
                             request->transaction_id());
      b.add_error_code(authenticated ? 400 : 401, authenticated ? "Bad Request" : "Unauthorized");
      if (!authenticated) {
        b.add_string(stun::AttributeType::kRealm, "badserver.test")
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
