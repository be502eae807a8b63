// BigBlueButton's /etc/bigbluebutton/bbb-web.properties against the measured network: the
// server URL the HTML5 client and the API hand out (bigbluebutton.web.serverURL) and every
// other absolute URL the file sets. Pure: file and facts in.
#pragma once

#include <vector>

#include "src/advice.hpp"
#include "src/profile/config/config_model.hpp"

namespace natdiag::profile {

/// Findings for a parsed bbb-web.properties: a URL whose host is a private or old IP, the
/// server URL over http, the server URL's host name not the one natdiag checked or not
/// resolving to the measured public address. One finding (and at most one edit) per setting.
[[nodiscard]] std::vector<config::ConfigFinding> check_bbb_web(const config::ParsedFile& file,
                                                               const cli::ProfileFacts& facts);

}  // namespace natdiag::profile
