// Bounds-checked big-endian reading and writing over byte spans (style.md rule 2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace natdiag::stun {

/// Reads big-endian integers from a span; every read is checked against the bytes left.
class ByteReader {
 public:
  explicit ByteReader(std::span<const std::uint8_t> bytes) noexcept : bytes_(bytes) {}

  [[nodiscard]] std::size_t offset() const noexcept { return offset_; }
  [[nodiscard]] std::size_t remaining() const noexcept { return bytes_.size() - offset_; }

  bool read_u8(std::uint8_t& out) noexcept {
    if (remaining() < 1) return false;
    out = bytes_[offset_++];
    return true;
  }
  bool read_u16(std::uint16_t& out) noexcept {
    if (remaining() < 2) return false;
    out = static_cast<std::uint16_t>((bytes_[offset_] << 8) | bytes_[offset_ + 1]);
    offset_ += 2;
    return true;
  }
  bool read_u32(std::uint32_t& out) noexcept {
    if (remaining() < 4) return false;
    out = (std::uint32_t{bytes_[offset_]} << 24) | (std::uint32_t{bytes_[offset_ + 1]} << 16) |
          (std::uint32_t{bytes_[offset_ + 2]} << 8) | std::uint32_t{bytes_[offset_ + 3]};
    offset_ += 4;
    return true;
  }
  bool read_u64(std::uint64_t& out) noexcept {
    std::uint32_t hi = 0;
    std::uint32_t lo = 0;
    if (remaining() < 8) return false;
    read_u32(hi);
    read_u32(lo);
    out = (std::uint64_t{hi} << 32) | lo;
    return true;
  }
  /// A view of the next n bytes, or false when fewer are left.
  bool read_bytes(std::size_t n, std::span<const std::uint8_t>& out) noexcept {
    if (remaining() < n) return false;
    out = bytes_.subspan(offset_, n);
    offset_ += n;
    return true;
  }
  bool skip(std::size_t n) noexcept {
    if (remaining() < n) return false;
    offset_ += n;
    return true;
  }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t offset_ = 0;
};

/// Writes big-endian integers into a caller's buffer. Never writes past its end: once a
/// write does not fit, the writer is marked overflowed and every later write is dropped.
class ByteWriter {
 public:
  explicit ByteWriter(std::span<std::uint8_t> buffer) noexcept : buffer_(buffer) {}

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool overflowed() const noexcept { return overflowed_; }
  [[nodiscard]] std::span<std::uint8_t> written() const noexcept {
    return buffer_.first(size_);
  }
  [[nodiscard]] std::span<std::uint8_t> buffer() const noexcept { return buffer_; }

  void u8(std::uint8_t v) noexcept {
    if (reserve(1)) buffer_[size_++] = v;
  }
  void u16(std::uint16_t v) noexcept {
    if (!reserve(2)) return;
    buffer_[size_++] = static_cast<std::uint8_t>(v >> 8);
    buffer_[size_++] = static_cast<std::uint8_t>(v);
  }
  void u32(std::uint32_t v) noexcept {
    if (!reserve(4)) return;
    for (int shift = 24; shift >= 0; shift -= 8) {
      buffer_[size_++] = static_cast<std::uint8_t>(v >> shift);
    }
  }
  void u64(std::uint64_t v) noexcept {
    u32(static_cast<std::uint32_t>(v >> 32));
    u32(static_cast<std::uint32_t>(v));
  }
  void bytes(std::span<const std::uint8_t> data) noexcept {
    if (!reserve(data.size()) || data.empty()) return;
    std::memcpy(buffer_.data() + size_, data.data(), data.size());
    size_ += data.size();
  }
  void fill(std::size_t n, std::uint8_t value) noexcept {
    if (!reserve(n)) return;
    std::memset(buffer_.data() + size_, value, n);
    size_ += n;
  }
  /// Overwrites a u16 already written at offset (used for length fields).
  void patch_u16(std::size_t offset, std::uint16_t v) noexcept {
    if (offset + 2 > size_) return;
    buffer_[offset] = static_cast<std::uint8_t>(v >> 8);
    buffer_[offset + 1] = static_cast<std::uint8_t>(v);
  }

 private:
  bool reserve(std::size_t n) noexcept {
    if (overflowed_ || buffer_.size() - size_ < n) {
      overflowed_ = true;
      return false;
    }
    return true;
  }

  std::span<std::uint8_t> buffer_;
  std::size_t size_ = 0;
  bool overflowed_ = false;
};

[[nodiscard]] inline std::uint16_t load_u16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
[[nodiscard]] inline std::uint32_t load_u32(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

}  // namespace natdiag::stun
