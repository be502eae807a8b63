#include "src/profile/servers/bbb_web_config.hpp"

#include <algorithm>
#include <optional>
#include <string>

#include "src/profile/config/announced.hpp"
#include "src/profile/config/parsers.hpp"
#include "src/profile/config/properties.hpp"
#include "src/profile/servers/config_checkers.hpp"

namespace natdiag::profile {
namespace {

using config::ConfigFinding;
using config::Setting;

// An absolute http(s) URL cut at its host: "https://" + host + rest (":port/path").
struct Url {
  std::string scheme;
  std::string host;
  std::string rest;
  bool bracketed = false;  ///< an IPv6 host in [ ]
  [[nodiscard]] std::string text() const {
    return scheme + "://" + (bracketed ? "[" + host + "]" : host) + rest;
  }
};

std::optional<Url> parse_url(std::string_view value) {
  const auto sep = value.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  Url u{std::string(value.substr(0, sep)), "", "", false};
  if (u.scheme != "http" && u.scheme != "https") return std::nullopt;
  std::string_view authority = value.substr(sep + 3);
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    u.host = std::string(authority.substr(1, close - 1));
    u.rest = std::string(authority.substr(close + 1));
    u.bracketed = true;
    return u;
  }
  const auto end = authority.find_first_of(":/?#");
  u.host = std::string(authority.substr(0, end));
  if (end != std::string_view::npos) u.rest = std::string(authority.substr(end));
  if (u.host.empty()) return std::nullopt;
  return u;
}

// 127.0.0.0/8, ::1 or "localhost": a service on the same machine.
bool loopback_host(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  return config::plain_ip(host) && host.starts_with("127.");
}

struct Problem {
  std::string id;
  std::string severity;
  std::string why;
};

int rank(const std::string& severity) {
  return severity == "critical" ? 0 : severity == "warning" ? 1 : 2;
}

}  // namespace

std::vector<config::ConfigFinding> check_bbb_web(const config::ParsedFile& file,
                                                 const cli::ProfileFacts& facts) {
  std::vector<ConfigFinding> out;
  if (file.error) return out;
  const std::string server_url_key = "bigbluebutton.web.serverURL";
  for (const Setting& s : file.settings) {
    // A value built from ${other.key} is checked where the other key is set.
    if (s.value.find("${") != std::string::npos) continue;
    const auto url = parse_url(s.value);
    if (!url) continue;
    const bool server_url = s.key == server_url_key;
    const std::string id = server_url ? "bbb-web-server-url" : "bbb-web-url";
    std::vector<Problem> problems;
    Url fixed = *url;
    if (loopback_host(url->host)) {
      // Other keys may name a service on this machine (bbb-web talks to its neighbours over
      // loopback); the server URL is opened by every user's browser, where it means their own PC.
      if (!server_url) continue;
      problems.push_back({id + "-loopback", "critical",
                          s.key + " names " + url->host +
                              ": users' browsers open this URL, and there it means their own "
                              "computer, not this server."});
      if (facts.hostname && !config::plain_ip(*facts.hostname)) {
        fixed.host = *facts.hostname;
        fixed.bracketed = false;
      } else if (facts.public_ipv4) {
        fixed.host = *facts.public_ipv4;
        fixed.bracketed = false;
      }
    } else if (const auto p = config::check_announced_ipv4(url->host, facts)) {
      problems.push_back({id + "-" + p->kind, p->severity, s.key + " names the host " + p->why});
      if (facts.public_ipv4) fixed.host = *facts.public_ipv4;
    } else if (server_url && !config::plain_ip(url->host) && facts.hostname &&
               !config::plain_ip(*facts.hostname)) {
      if (url->host != *facts.hostname) {
        problems.push_back({id + "-other-host", "info",
                            s.key + " names " + url->host + ", but natdiag checked the host name " +
                                *facts.hostname + " (--hostname): what it says about " +
                                *facts.hostname + " does not apply to this URL."});
      } else if (facts.hostname_resolves_to_public == false && facts.public_ipv4) {
        problems.push_back(
            {id + "-hostname-not-public", "warning",
             url->host + " does not resolve to the measured public address " + *facts.public_ipv4 +
                 " on this host: bbb-web and the HTML5 client reach themselves "
                 "through this URL (fix DNS or /etc/hosts: see the etc_hosts advice)."});
      }
    }
    if (server_url && url->scheme == "http") {
      problems.push_back({id + "-http", "warning",
                          s.key + " is http: browsers give camera and microphone (getUserMedia) "
                                  "only to secure pages, so the HTML5 client needs https."});
      fixed.scheme = "https";
    }
    if (problems.empty()) continue;
    std::stable_sort(problems.begin(), problems.end(), [](const Problem& a, const Problem& b) {
      return rank(a.severity) < rank(b.severity);
    });
    ConfigFinding x{problems.front().id,
                    problems.front().severity,
                    "bigbluebutton",
                    file.path,
                    s.line,
                    s.key,
                    s.value,
                    std::nullopt,
                    "",
                    {}};
    for (const auto& p : problems) x.why += (x.why.empty() ? "" : " ") + p.why;
    if (fixed.text() != s.value) {
      x.expected = fixed.text();
      const auto index = static_cast<std::size_t>(s.line) - 1;
      if (s.line >= 1 && index < file.lines.size()) {
        if (auto text = config::properties_replace_value(file.lines[index], *x.expected)) {
          x.edits.push_back({config::LineEdit::Kind::replace, s.line, *text});
        }
      }
    }
    out.push_back(std::move(x));
  }
  return out;
}

config::ParsedFile parse_sip_nginx(std::string path, std::string_view text) {
  config::ParsedFile file;
  file.path = std::move(path);
  file.syntax = "nginx";
  file.lines = config::split_lines(text);
  for (std::size_t i = 0; i < file.lines.size(); ++i) {
    std::string_view line = file.lines[i];
    line = line.substr(0, line.find('#'));
    const auto at = line.find("proxy_pass");
    if (at == std::string_view::npos ||
        (at > 0 && line[at - 1] != ' ' && line[at - 1] != '\t' && line[at - 1] != '{')) {
      continue;
    }
    auto rest = line.substr(at + 10);
    if (rest.empty() || (rest.front() != ' ' && rest.front() != '\t')) continue;
    const auto begin = rest.find_first_not_of(" \t");
    const auto end = rest.find(';');
    if (begin == std::string_view::npos || end == std::string_view::npos || end < begin) continue;
    auto url = rest.substr(begin, end - begin);
    while (!url.empty() && (url.back() == ' ' || url.back() == '\t')) url.remove_suffix(1);
    file.settings.push_back({"proxy_pass", std::string(url), static_cast<int>(i) + 1});
  }
  return file;
}

std::vector<config::ConfigFinding> check_bbb_sip_nginx(const config::ParsedFile& file,
                                                       const cli::ProfileFacts& facts) {
  std::vector<ConfigFinding> out;
  if (file.error || facts.behind_nat != true) return out;
  for (const Setting& s : file.settings) {
    const auto url = parse_url(s.value);
    if (!url || !config::plain_ip(url->host) ||
        (facts.public_ipv4 && url->host == *facts.public_ipv4))
      continue;
    std::string id;
    std::string why;
    if (facts.local_ipv4 && url->host == *facts.local_ipv4) {
      id = "bbb-sip-nginx-private";
      why = "nginx proxies the SIP WebSocket to FreeSWITCH on the private address " + url->host +
            "; behind NAT the BigBlueButton guide has FreeSWITCH on the public address (the dummy "
            "NIC "
            "carries it) and nginx proxy there, or browsers' audio fails (WebRTC error 1002 or "
            "1007).";
    } else if (const auto p = config::check_announced_ipv4(url->host, facts);
               p && p->kind == "stale") {
      id = "bbb-sip-nginx-stale";
      why = "nginx proxies the SIP WebSocket to " + url->host +
            ", which is neither this host's "
            "private address nor the measured public address " +
            facts.public_ipv4.value_or("") + ": an old address.";
    } else {
      continue;  // loopback or another private address: nothing measured to compare with
    }
    ConfigFinding x{id,    "warning", "bigbluebutton", file.path, s.line,
                    s.key, s.value,   std::nullopt,    why,       {}};
    if (facts.public_ipv4) {
      Url fixed = *url;
      fixed.host = *facts.public_ipv4;
      x.expected = fixed.text();
      const std::string& line = file.lines[static_cast<std::size_t>(s.line) - 1];
      const auto at = line.find(s.value);
      if (at != std::string::npos) {
        x.edits.push_back({config::LineEdit::Kind::replace, s.line,
                           line.substr(0, at) + *x.expected + line.substr(at + s.value.size())});
      }
    }
    out.push_back(std::move(x));
  }
  return out;
}

}  // namespace natdiag::profile

namespace natdiag::profile::config {

void check_bbb_web_file(const ParsedFile& file, const ConfigFacts& facts,
                        const ConfigFileKind& kind, std::vector<ConfigFinding>& out) {
  for (auto& f : profile::check_bbb_web(file, facts.profile)) {
    f.server = kind.server;
    out.push_back(std::move(f));
  }
}

void check_bbb_sip_nginx_file(const ParsedFile& file, const ConfigFacts& facts,
                              const ConfigFileKind& kind, std::vector<ConfigFinding>& out) {
  for (auto& f : profile::check_bbb_sip_nginx(file, facts.profile)) {
    f.server = kind.server;
    out.push_back(std::move(f));
  }
}

}  // namespace natdiag::profile::config
