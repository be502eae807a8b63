#include "stun/proto/integrity.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstring>
#include <memory>
#include <string>

namespace natdiag::stun {
namespace {

struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* ctx) const noexcept { EVP_MAC_CTX_free(ctx); }
};

// One HMAC algorithm object per process; EVP_MAC_fetch is costly and the object is shareable.
EVP_MAC* hmac_algorithm() noexcept {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

// Checks the HMAC attribute `attr` of `message` (sha256 selects the algorithm).
Check check_hmac(const MessageView& message, const AttributeRef* attr, bool sha256,
                 std::span<const std::uint8_t> key) noexcept {
  if (attr == nullptr) return Check::kAbsent;
  const auto received = message.value(*attr);
  // RFC 8489 §14.5: MESSAGE-INTEGRITY is 20 bytes. §14.6: MESSAGE-INTEGRITY-SHA256 is 16 to
  // 32 bytes, a multiple of 4.
  if (sha256 ? (received.size() < 16 || received.size() > 32 || received.size() % 4 != 0)
             : received.size() != 20) {
    return Check::kInvalid;
  }
  const auto bytes = message.bytes();
  std::array<std::uint8_t, kHeaderSize> header{};
  std::memcpy(header.data(), bytes.data(), kHeaderSize);
  const std::size_t length = attr->offset + 4u + attr->length - kHeaderSize;
  header[2] = static_cast<std::uint8_t>(length >> 8);
  header[3] = static_cast<std::uint8_t>(length);
  std::array<std::uint8_t, 32> expected{};
  if (!hmac_message(sha256, key, header, bytes.subspan(kHeaderSize, attr->offset - kHeaderSize),
                    std::span(expected).first(sha256 ? 32 : 20))) {
    return Check::kInvalid;
  }
  return CRYPTO_memcmp(expected.data(), received.data(), received.size()) == 0 ? Check::kValid
                                                                               : Check::kInvalid;
}

template <std::size_t N>
std::array<std::uint8_t, N> digest_credentials(const EVP_MD* md, std::string_view username,
                                               std::string_view realm,
                                               std::string_view password) {
  std::string input;
  input.reserve(username.size() + realm.size() + password.size() + 2);
  input.append(username).append(":").append(realm).append(":").append(password);
  std::array<std::uint8_t, N> out{};
  unsigned int out_size = 0;
  if (EVP_Digest(input.data(), input.size(), out.data(), &out_size, md, nullptr) != 1 ||
      out_size != N) {
    out.fill(0);
  }
  return out;
}

}  // namespace

bool hmac_message(bool sha256, std::span<const std::uint8_t> key,
                  std::span<const std::uint8_t, kHeaderSize> header,
                  std::span<const std::uint8_t> rest, std::span<std::uint8_t> out) noexcept {
  EVP_MAC* mac = hmac_algorithm();
  if (mac == nullptr) return false;
  std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter> ctx(EVP_MAC_CTX_new(mac));
  if (!ctx) return false;
  char digest_name[8];
  std::strcpy(digest_name, sha256 ? "SHA256" : "SHA1");
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end()};
  // An empty key is legal for HMAC but OpenSSL wants a non-null pointer.
  static constexpr std::uint8_t kEmpty = 0;
  const std::uint8_t* key_data = key.empty() ? &kEmpty : key.data();
  std::size_t written = 0;
  const bool ok = EVP_MAC_init(ctx.get(), key_data, key.size(), params) == 1 &&
                  EVP_MAC_update(ctx.get(), header.data(), header.size()) == 1 &&
                  (rest.empty() || EVP_MAC_update(ctx.get(), rest.data(), rest.size()) == 1);
  std::array<std::uint8_t, 32> full{};
  if (!ok || EVP_MAC_final(ctx.get(), full.data(), &written, full.size()) != 1 ||
      written < out.size()) {
    return false;
  }
  std::memcpy(out.data(), full.data(), out.size());
  return true;
}

Check check_fingerprint(const MessageView& message) noexcept {
  const AttributeRef* attr = message.find(AttributeType::kFingerprint);
  if (attr == nullptr) return Check::kAbsent;
  if (attr->length != 4) return Check::kInvalid;
  const auto bytes = message.bytes();
  const std::size_t length = attr->offset + 8u - kHeaderSize;
  std::uint32_t crc = 0;
  if (load_u16(bytes.data() + 2) == length) {
    // The usual case, FINGERPRINT last: the header's length is already the one to hash.
    crc = crc32(bytes.first(attr->offset));
  } else {
    std::array<std::uint8_t, kHeaderSize> header{};
    std::memcpy(header.data(), bytes.data(), kHeaderSize);
    header[2] = static_cast<std::uint8_t>(length >> 8);
    header[3] = static_cast<std::uint8_t>(length);
    crc = crc32(bytes.subspan(kHeaderSize, attr->offset - kHeaderSize), crc32(header));
  }
  return load_u32(bytes.data() + attr->offset + 4) == (crc ^ kFingerprintXor) ? Check::kValid
                                                                             : Check::kInvalid;
}

Check check_message_integrity(const MessageView& message,
                              std::span<const std::uint8_t> key) noexcept {
  return check_hmac(message, message.find(AttributeType::kMessageIntegrity), false, key);
}

Check check_message_integrity_sha256(const MessageView& message,
                                     std::span<const std::uint8_t> key) noexcept {
  return check_hmac(message, message.find(AttributeType::kMessageIntegritySha256), true, key);
}

std::vector<std::uint8_t> short_term_key(std::string_view password) {
  return {password.begin(), password.end()};
}

std::array<std::uint8_t, 16> long_term_key_md5(std::string_view username, std::string_view realm,
                                               std::string_view password) {
  return digest_credentials<16>(EVP_md5(), username, realm, password);
}

std::array<std::uint8_t, 32> long_term_key_sha256(std::string_view username,
                                                  std::string_view realm,
                                                  std::string_view password) {
  return digest_credentials<32>(EVP_sha256(), username, realm, password);
}

}  // namespace natdiag::stun
