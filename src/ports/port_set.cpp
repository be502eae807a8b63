#include "src/ports/port_set.hpp"

#include <algorithm>
#include <charconv>

namespace natdiag::ports {
namespace {

std::string quoted(std::string_view text) {
  std::string out(text);  // (not "'" + string: GCC 12 warns a false -Wrestrict)
  out.insert(out.begin(), '\'');
  out.push_back('\'');
  return out;
}

std::uint16_t parse_one(std::string_view text, std::string_view item, std::string_view what) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 1 ||
      value > 65535) {
    throw SpecError(std::string(what) + ": ports are 1 to 65535, got " + quoted(item));
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

void PortSet::add(std::uint16_t first, std::uint16_t last) {
  if (first > last) std::swap(first, last);
  // Ports usually come in ascending order: append or extend the last range in O(1).
  if (ranges_.empty() || std::uint32_t{first} > std::uint32_t{ranges_.back().last} + 1) {
    if (ranges_.empty() || first > ranges_.back().first) {
      ranges_.push_back({first, last});
      return;
    }
  } else if (first >= ranges_.back().first) {
    ranges_.back().last = std::max(ranges_.back().last, last);
    return;
  }
  ranges_.push_back({first, last});
  std::sort(ranges_.begin(), ranges_.end(),
            [](const PortRange& a, const PortRange& b) { return a.first < b.first; });
  std::vector<PortRange> merged;
  for (const auto& r : ranges_) {
    if (!merged.empty() && std::uint32_t{r.first} <= std::uint32_t{merged.back().last} + 1) {
      merged.back().last = std::max(merged.back().last, r.last);
    } else {
      merged.push_back(r);
    }
  }
  ranges_ = std::move(merged);
}

void PortSet::add(const PortSet& other) {
  for (const auto& r : other.ranges_) add(r.first, r.last);
}

void PortSet::remove(std::uint16_t port) {
  for (auto it = ranges_.begin(); it != ranges_.end(); ++it) {
    if (port < it->first || port > it->last) continue;
    const PortRange r = *it;
    it = ranges_.erase(it);
    if (port < r.last) it = ranges_.insert(it, {static_cast<std::uint16_t>(port + 1), r.last});
    if (port > r.first) ranges_.insert(it, {r.first, static_cast<std::uint16_t>(port - 1)});
    return;
  }
}

bool PortSet::contains(std::uint16_t port) const noexcept {
  const auto it = std::upper_bound(ranges_.begin(), ranges_.end(), port,
                                   [](std::uint16_t p, const PortRange& r) { return p < r.first; });
  return it != ranges_.begin() && port <= std::prev(it)->last;
}

std::uint32_t PortSet::size() const noexcept {
  std::uint32_t n = 0;
  for (const auto& r : ranges_) n += r.size();
  return n;
}

std::vector<std::uint16_t> PortSet::ports() const {
  std::vector<std::uint16_t> out;
  out.reserve(size());
  for (const auto& r : ranges_) {
    for (std::uint32_t p = r.first; p <= r.last; ++p) out.push_back(static_cast<std::uint16_t>(p));
  }
  return out;
}

std::string PortSet::to_string(char range_separator, std::string_view list_separator) const {
  std::string out;
  for (const auto& r : ranges_) {
    if (!out.empty()) out += list_separator;
    out += std::to_string(r.first);
    if (r.last != r.first) out += range_separator + std::to_string(r.last);
  }
  return out;
}

PortSet parse_port_set(std::string_view text, std::string_view what) {
  if (text.empty())
    throw SpecError(std::string(what) + " needs ports (e.g. 80,443 or 50000-60000), got ''");
  PortSet set;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const auto item = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (item.empty()) throw SpecError(std::string(what) + ": empty item in " + quoted(text));
    const auto dash = item.find('-');
    if (dash == std::string_view::npos) {
      const auto port = parse_one(item, item, what);
      set.add(port, port);
    } else {
      const auto first = parse_one(item.substr(0, dash), item, what);
      const auto last = parse_one(item.substr(dash + 1), item, what);
      if (first > last) {
        throw SpecError(std::string(what) + ": the range " + quoted(item) +
                        " goes down (write the lower port first)");
      }
      set.add(first, last);
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return set;
}

std::string with_thousands(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

}  // namespace natdiag::ports
