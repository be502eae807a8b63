// The browser page's files (src/web/page/), embedded at build time by embed.cmake.
#pragma once

#include <span>
#include <string_view>

namespace natdiag::web {

/// One embedded file: its URL path ("/index.html"), Content-Type and bytes.
struct Asset {
  std::string_view path;
  std::string_view content_type;
  std::string_view body;
};

/// Every embedded file of the page.
std::span<const Asset> assets();

}  // namespace natdiag::web
