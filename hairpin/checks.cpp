#include "hairpin/checks.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <stdexcept>

namespace natdiag::hairpin {

std::string_view protocol_name(Protocol protocol) noexcept {
  return protocol == Protocol::kTcp ? "tcp" : "udp";
}

std::string_view result_name(Result result) noexcept {
  switch (result) {
    case Result::kSupported: return "supported";
    case Result::kNotSupported: return "not-supported";
    case Result::kInconclusive: return "inconclusive";
    case Result::kSkipped: return "skipped";
  }
  return "inconclusive";
}

std::string_view method_name(Method method) noexcept {
  switch (method) {
    case Method::kNone: return "none";
    case Method::kNonce: return "nonce";
    case Method::kTlsCertificate: return "tls-certificate";
    case Method::kResponseBytes: return "response-bytes";
    case Method::kStunMapping: return "stun-mapping";
  }
  return "none";
}

CheckResult check_for(Protocol protocol, std::uint16_t port) {
  CheckResult r;
  r.protocol = protocol;
  r.port = port;
  return r;
}

void PathRtt::record(Duration rtt) noexcept {
  const std::int64_t value = std::max<std::int64_t>(rtt.count(), 0);
  std::int64_t current = micros_.load();
  while ((current < 0 || value < current) && !micros_.compare_exchange_weak(current, value)) {
  }
}

std::optional<Duration> PathRtt::shortest() const noexcept {
  const std::int64_t value = micros_.load();
  if (value < 0) return std::nullopt;
  return std::chrono::duration_cast<Duration>(std::chrono::microseconds(value));
}

std::optional<Duration> silence_window(std::optional<Duration> rtt) noexcept {
  if (!rtt) return std::nullopt;
  return std::max<Duration>(kSilenceFloor, *rtt * kSilenceRttFactor);
}

std::string random_nonce() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw std::runtime_error("no random bytes for a hairpin nonce");
  }
  std::string hex;
  char buf[3];
  for (unsigned char b : bytes) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    hex += buf;
  }
  return hex;
}

std::string format_seconds(Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", static_cast<double>(d.count()) / 1e6);
  return buf;
}

}  // namespace natdiag::hairpin
