// Result<T>: an expected-style value-or-error for the codec (std::expected arrives with C++23).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace natdiag::stun {

/// Why a packet or attribute could not be decoded.
enum class DecodeErrorCode : std::uint8_t {
  kTruncated,            ///< fewer bytes than the header or a length field says
  kNotStun,              ///< the two most significant bits are not zero (RFC 8489 §5)
  kBadLength,            ///< message length not a multiple of 4 or not matching the datagram
  kAttributeOverrun,     ///< an attribute's length runs past the end of the message
  kTooManyAttributes,    ///< more attributes than a view can index
  kBadAttributeValue,    ///< an attribute whose value has the wrong size or content
  kBadAddressFamily,     ///< an address attribute with a family other than 0x01/0x02
  kNeedsMagicCookie,     ///< an XOR-encoded attribute in an RFC 3489 message
};

/// A decode failure: what went wrong, for which attribute, and at which byte.
struct DecodeError {
  DecodeErrorCode code{};
  std::uint16_t attribute_type = 0;  ///< 0 when the error is in the header
  std::size_t offset = 0;            ///< byte offset in the message where decoding stopped

  /// One line for people: "attribute 0x0020 at byte 28: attribute runs past the end of the message".
  [[nodiscard]] std::string describe() const;
};

/// Value or DecodeError, in the spirit of std::expected.
template <typename T>
class [[nodiscard]] Result {
 public:
  // Implicit on purpose, like std::expected; by reference so a large T is copied once.
  Result(const T& value) noexcept(std::is_nothrow_copy_constructible_v<T>)  // NOLINT
      : data_(std::in_place_index<0>, value) {}
  Result(T&& value) noexcept(std::is_nothrow_move_constructible_v<T>)  // NOLINT
      : data_(std::in_place_index<0>, std::move(value)) {}
  Result(DecodeError error) noexcept : data_(std::in_place_index<1>, error) {}  // NOLINT

  [[nodiscard]] bool ok() const noexcept { return data_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  [[nodiscard]] const T& value() const& { return std::get<0>(data_); }
  [[nodiscard]] T& value() & { return std::get<0>(data_); }
  [[nodiscard]] T&& value() && { return std::get<0>(std::move(data_)); }
  [[nodiscard]] const T& operator*() const& { return value(); }
  [[nodiscard]] const T* operator->() const { return &std::get<0>(data_); }
  [[nodiscard]] const DecodeError& error() const { return std::get<1>(data_); }

 private:
  std::variant<T, DecodeError> data_;
};

}  // namespace natdiag::stun
