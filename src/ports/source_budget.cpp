#include "src/ports/source_budget.hpp"

namespace natdiag::ports {

using namespace std::chrono_literals;

SourceBudget::SourceBudget(int per_minute, int max_running, int ipv6_prefix, std::size_t max_sources)
    : per_minute_(per_minute), max_running_(max_running), ipv6_prefix_(ipv6_prefix), max_sources_(max_sources) {}

SourceBudget::Key SourceBudget::key_of(const stun::TransportAddress& source) const {
  const auto k = server::source_key(source, ipv6_prefix_);
  Key key(k.ip.begin(), k.ip.end());
  key.push_back(static_cast<char>(k.family));
  return key;
}

std::string SourceBudget::key_text(const stun::TransportAddress& source) const {
  if (source.family == stun::Family::kIPv4) return source.ip_string();
  stun::TransportAddress cut = source;
  cut.ip = server::source_key(source, ipv6_prefix_).ip;
  return cut.ip_string() + "/" + std::to_string(ipv6_prefix_);
}

void SourceBudget::sweep(TimePoint now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    auto& started = it->second.started;
    while (!started.empty() && now - started.front() > 60s) started.pop_front();
    it = started.empty() && it->second.running == 0 ? entries_.erase(it) : std::next(it);
  }
}

std::string SourceBudget::admit(const stun::TransportAddress& source, TimePoint now) {
  const Key key = key_of(source);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    auto& started = it->second.started;
    while (!started.empty() && now - started.front() > 60s) started.pop_front();
    if (static_cast<int>(started.size()) >= per_minute_) return "per-ip-budget";
    if (it->second.running > 0) return "busy-ip";
  }
  if (running_ >= max_running_) return "busy";
  if (it == entries_.end()) {
    // Forgotten keys go once a minute, or at once when the table is full.
    if (entries_.size() >= max_sources_ || now - last_sweep_ > 60s) {
      sweep(now);
      last_sweep_ = now;
    }
    if (entries_.size() >= max_sources_) return "too-many-sources";
    it = entries_.emplace(key, Entry{}).first;
  }
  it->second.started.push_back(now);
  ++it->second.running;
  ++running_;
  return {};
}

void SourceBudget::release(const stun::TransportAddress& source) {
  const auto it = entries_.find(key_of(source));
  if (it == entries_.end() || it->second.running == 0) return;
  --it->second.running;
  --running_;
  // Its start times still count against the key's minute: it stays until sweep() finds it empty.
}

}  // namespace natdiag::ports
