// The `serve --web` options: parsed here, run by src/web/ (the serve command stays as it was).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <cxxopts.hpp>

#include "src/web/web_service.hpp"

namespace natdiag::cli {

/// Adds --web, --tls-cert, --tls-key, --media-ports, --turn, --turn-secret, --results.
void add_web_options(cxxopts::Options& options);
/// The web options, or nullopt without --web; bad values throw UsageError.
std::optional<web::WebOptions> parse_web_options(const cxxopts::ParseResult& args);
/// Starts the web service next to a STUN server listening on LISTENERS ("udp ip:port", ...);
/// nullptr without --web. Prints the URLs. Throws (exit 3) when it cannot bind or write results.
std::unique_ptr<web::WebService> start_web(const std::optional<web::WebOptions>& options,
                                           const std::vector<std::string>& listeners);

}  // namespace natdiag::cli
