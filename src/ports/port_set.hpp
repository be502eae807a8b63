// Sets of ports as the install guides write them: lists "80,443,7881" and ranges
// "50000-60000". Pure: no sockets.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace natdiag::ports {

/// Bad port-list text; what() is one line naming the option and the bad value.
class SpecError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// An inclusive range of ports, first <= last.
struct PortRange {
  std::uint16_t first = 0;
  std::uint16_t last = 0;

  [[nodiscard]] std::uint32_t size() const noexcept { return std::uint32_t{last} - first + 1; }
  friend bool operator==(const PortRange&, const PortRange&) = default;
};

/// A set of ports kept as sorted, disjoint, non-adjacent ranges.
class PortSet {
 public:
  PortSet() = default;
  /// Adds [first, last]; merges with what is there.
  void add(std::uint16_t first, std::uint16_t last);
  void add(const PortSet& other);
  /// Removes one port.
  void remove(std::uint16_t port);

  [[nodiscard]] bool contains(std::uint16_t port) const noexcept;
  [[nodiscard]] bool empty() const noexcept { return ranges_.empty(); }
  /// The number of ports.
  [[nodiscard]] std::uint32_t size() const noexcept;
  [[nodiscard]] const std::vector<PortRange>& ranges() const noexcept { return ranges_; }
  /// Every port, ascending.
  [[nodiscard]] std::vector<std::uint16_t> ports() const;
  /// "80,443,7881" / "50000-60000": the text parse_port_set reads back.
  [[nodiscard]] std::string to_string(char range_separator = '-',
                                      std::string_view list_separator = ",") const;
  friend bool operator==(const PortSet&, const PortSet&) = default;

 private:
  std::vector<PortRange> ranges_;
};

/// Parses "80,443,7881", "50000-60000", "16384-32768,5060". `what` names the option in the
/// error ("--udp"). Throws SpecError for '', a port outside 1-65535, a range that goes down,
/// or anything that is not a number.
[[nodiscard]] PortSet parse_port_set(std::string_view text, std::string_view what);

/// "10,001" for people.
[[nodiscard]] std::string with_thousands(std::uint64_t n);

}  // namespace natdiag::ports
