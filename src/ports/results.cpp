#include "src/ports/results.hpp"

#include <algorithm>

namespace natdiag::ports {

std::string_view state_name(State state) noexcept {
  switch (state) {
    case State::kOpen: return "open";
    case State::kClosed: return "closed";
    case State::kFiltered: return "filtered";
    case State::kInUse: return "in-use";
    case State::kAnsweredByOther: return "answered-by-other";
    case State::kUntested: return "untested";
  }
  return "filtered";
}

std::vector<StateRange> collapse(std::vector<PortOutcome> outcomes) {
  std::sort(outcomes.begin(), outcomes.end(),
            [](const PortOutcome& a, const PortOutcome& b) { return a.port < b.port; });
  std::vector<StateRange> out;
  for (auto& o : outcomes) {
    if (!out.empty()) {
      auto& last = out.back();
      if (std::uint32_t{last.range.last} + 1 == o.port && last.state == o.state &&
          last.evidence == o.evidence && last.owner == o.owner) {
        last.range.last = o.port;
        continue;
      }
      if (last.range.last == o.port) continue;  // a duplicate outcome: the first one stands
    }
    out.push_back({{o.port, o.port}, o.state, std::move(o.evidence), std::move(o.owner)});
  }
  return out;
}

PortSet ports_in_state(const std::vector<StateRange>& ranges, State state) {
  PortSet set;
  for (const auto& r : ranges) {
    if (r.state == state) set.add(r.range.first, r.range.last);
  }
  return set;
}

std::string range_text(const PortRange& range) {
  return range.first == range.last ? std::to_string(range.first)
                                   : std::to_string(range.first) + "-" + std::to_string(range.last);
}

}  // namespace natdiag::ports
