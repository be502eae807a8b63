#include "src/ports/control.hpp"

#include <openssl/crypto.h>

namespace natdiag::ports {
namespace {

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::optional<PortSet> optional_ports(const nlohmann::json& m, const char* field) {
  const auto it = m.find(field);
  if (it == m.end() || it->is_null()) return PortSet{};
  if (!it->is_string()) return std::nullopt;
  const auto text = it->get<std::string>();
  if (text.empty()) return PortSet{};
  try {
    return parse_port_set(text, field);
  } catch (const SpecError&) {
    return std::nullopt;
  }
}

}  // namespace

std::string request_mac(const nlohmann::json& request_without_mac, std::string_view challenge,
                        std::string_view secret) {
  const std::string input = std::string(challenge) + "\n" + request_without_mac.dump();
  return to_hex(hmac_sha256(as_bytes(secret), as_bytes(input)));
}

nlohmann::json make_request(const ProbeRequest& r, std::string_view challenge,
                            std::string_view secret) {
  std::array<std::uint8_t, 8> session{};
  for (int i = 0; i < 8; ++i) session[i] = static_cast<std::uint8_t>(r.session >> (56 - 8 * i));
  nlohmann::json m = {{"type", "request"},          {"key", to_hex(r.key)},
                      {"session", to_hex(session)}, {"tcp", r.tcp.to_string()},
                      {"udp", r.udp.to_string()},   {"compare_tcp", r.compare_tcp.to_string()},
                      {"seconds", r.seconds}};
  m["mac"] =
      secret.empty() ? nlohmann::json(nullptr) : nlohmann::json(request_mac(m, challenge, secret));
  return m;
}

std::optional<ProbeRequest> parse_request(const nlohmann::json& m, std::string_view challenge,
                                          std::string_view secret, std::string& refusal) {
  refusal = "malformed";
  if (!m.is_object() || m.value("type", "") != "request") return std::nullopt;
  if (!secret.empty()) {
    const auto mac = m.find("mac");
    if (mac == m.end() || !mac->is_string()) {
      refusal = "bad-mac";
      return std::nullopt;
    }
    nlohmann::json without = m;
    without.erase("mac");
    const auto expected = request_mac(without, challenge, secret);
    const auto given = mac->get<std::string>();
    if (given.size() != expected.size() ||
        CRYPTO_memcmp(given.data(), expected.data(), expected.size()) != 0) {
      refusal = "bad-mac";
      return std::nullopt;
    }
  }
  ProbeRequest r;
  const auto key = m.find("key");
  const auto session = m.find("session");
  const auto seconds = m.find("seconds");
  if (key == m.end() || !key->is_string() || session == m.end() || !session->is_string() ||
      seconds == m.end() || !seconds->is_number_integer()) {
    return std::nullopt;
  }
  const auto k = from_hex<32>(key->get<std::string>());
  const auto s = from_hex<8>(session->get<std::string>());
  if (!k || !s) return std::nullopt;
  r.key = *k;
  for (auto b : *s) r.session = r.session << 8 | b;
  r.seconds = seconds->get<int>();
  if (r.seconds < 1 || r.seconds > kMaxRequestSeconds) {
    refusal = "too-long";
    return std::nullopt;
  }
  const auto tcp = optional_ports(m, "tcp");
  const auto udp = optional_ports(m, "udp");
  const auto compare = optional_ports(m, "compare_tcp");
  if (!tcp || !udp || !compare) return std::nullopt;
  r.tcp = *tcp;
  r.udp = *udp;
  r.compare_tcp = *compare;
  if (r.udp.size() > kMaxRequestUdpPorts ||
      r.tcp.size() + r.compare_tcp.size() > kMaxRequestTcpPorts) {
    refusal = "too-many-ports";
    return std::nullopt;
  }
  if (r.udp.empty() && r.tcp.empty() && r.compare_tcp.empty()) return std::nullopt;
  refusal.clear();
  return r;
}

bool LineReader::feed(std::string_view bytes) {
  buffer_.append(bytes);
  const auto newline = buffer_.find('\n');
  return newline != std::string::npos ? newline <= kMaxLine : buffer_.size() <= kMaxLine;
}

std::optional<std::string> LineReader::next() {
  const auto newline = buffer_.find('\n');
  if (newline == std::string::npos) return std::nullopt;
  std::string line = buffer_.substr(0, newline);
  buffer_.erase(0, newline + 1);
  return line;
}

std::optional<nlohmann::json> parse_message(std::string_view line) {
  auto m = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!m.is_object()) return std::nullopt;
  const auto type = m.find("type");
  if (type == m.end() || !type->is_string()) return std::nullopt;
  return m;
}

}  // namespace natdiag::ports
