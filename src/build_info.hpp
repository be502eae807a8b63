// What this binary was built from (the generated build_info.cpp, see scripts/build-info.cmake).
#pragma once

#include <string_view>

namespace natdiag {

/// The git commit of the sources ("66a74ba1c2d3", "...-dirty" with local changes, or "unknown ...").
std::string_view build_commit();

}  // namespace natdiag
