// What `natdiag profile` measures, for the commands that need the same facts without its
// report (config check). Implemented in cmd_profile.cpp.
#pragma once

#include <string>
#include <vector>

#include "src/profile/advice.hpp"

namespace natdiag::cli {

/// Runs profile's measurements with profile's own options ("--server", "HOST", "--timeout",
/// "2", ...; validated as profile validates them) and returns the facts.
[[nodiscard]] ProfileFacts measure_profile_facts(const std::vector<std::string>& profile_args);

}  // namespace natdiag::cli
