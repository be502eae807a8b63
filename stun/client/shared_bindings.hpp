// One Binding test per server and transport within one run: the parts of `natdiag profile`
// (its own bindings, nat's TCP check, ice's diagnostic probes) ask the same server the same
// question; the first ask starts the test and the others share its report.
#pragma once

#include <future>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "stun/client/binding.hpp"

namespace natdiag::client {

/// Binding tests already started, by server, port, transport (and family for a host name).
class SharedBindings {
 public:
  /// The report of the test `options` describes: started now on first ask, shared after. The
  /// options of later asks (timeout, retransmissions) are not used. get() rethrows what
  /// run_binding_test threw.
  std::shared_future<BindingReport> get(const BindingOptions& options) {
    const bool literal = stun::TransportAddress::parse(options.host).has_value();
    const Key key{options.host, options.port, static_cast<int>(options.transport),
                  literal ? -1 : static_cast<int>(options.family)};
    std::lock_guard lock(mutex_);
    auto it = runs_.find(key);
    if (it == runs_.end()) {
      it = runs_.emplace(key, std::async(std::launch::async, run_binding_test, options).share()).first;
    }
    return it->second;
  }

 private:
  using Key = std::tuple<std::string, std::uint16_t, int, int>;
  std::mutex mutex_;
  std::map<Key, std::shared_future<BindingReport>> runs_;
};

}  // namespace natdiag::client
