// BigBlueButton's /etc/bigbluebutton/bbb-web.properties against the measured network: the
// server URL the HTML5 client and the API hand out (bigbluebutton.web.serverURL) and every
// other absolute URL the file sets; and sip.nginx, nginx's proxy to FreeSWITCH's WebSocket,
// which the guide points at the public address behind NAT. Pure: files and facts in.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "src/profile/advice.hpp"
#include "src/profile/config/config_model.hpp"

namespace natdiag::profile {

/// Findings for a parsed bbb-web.properties: a URL whose host is a private or old IP, the
/// server URL over http, the server URL's host name not the one natdiag checked or not
/// resolving to the measured public address. One finding (and at most one edit) per setting.
[[nodiscard]] std::vector<config::ConfigFinding> check_bbb_web(const config::ParsedFile& file,
                                                               const cli::ProfileFacts& facts);

/// /usr/share/bigbluebutton/nginx/sip.nginx read line by line (syntax "nginx"): every
/// `proxy_pass URL;` outside a '#' comment is the setting "proxy_pass" with the URL. Only that
/// directive is read; the file is not otherwise checked as nginx syntax.
[[nodiscard]] config::ParsedFile parse_sip_nginx(std::string path, std::string_view text);

/// Findings for sip.nginx: behind NAT the BigBlueButton guide has nginx proxy the SIP
/// WebSocket to FreeSWITCH on the public address (the dummy NIC carries it), not the private
/// one; an address that is neither is an old one.
[[nodiscard]] std::vector<config::ConfigFinding> check_bbb_sip_nginx(
    const config::ParsedFile& file, const cli::ProfileFacts& facts);

}  // namespace natdiag::profile
