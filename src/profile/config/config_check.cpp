#include "src/profile/config/config_check.hpp"

#include <algorithm>
#include <filesystem>

#include "src/profile/config/check_support.hpp"
#include "src/profile/config/hocon.hpp"
#include "src/profile/config/parsers.hpp"
#include "src/profile/config/properties.hpp"
#include "src/profile/config/xml_config.hpp"
#include "src/profile/servers/bbb_web_config.hpp"
#include "src/profile/servers/config_checkers.hpp"
#include "src/profile/servers/freeswitch_config.hpp"
#include "src/profile/servers/jitsi_config.hpp"

namespace natdiag::profile::config {

std::span<const ConfigFileKind> config_file_kinds() {
  // Where each project's packages and install guides put the file.
  static const std::vector<ConfigFileKind> kKinds = {
      {"kurento",
       "WebRtcEndpoint.conf.ini",
       {"/etc/kurento/modules/kurento/WebRtcEndpoint.conf.ini"},
       "ini",
       check_kurento},
      {"kurento",
       "BaseRtpEndpoint.conf.ini",
       {"/etc/kurento/modules/kurento/BaseRtpEndpoint.conf.ini"},
       "ini",
       check_kurento},
      {"livekit",
       "livekit.yaml",
       {"/etc/livekit.yaml", "/opt/livekit/livekit.yaml"},
       "yaml",
       check_livekit},
      {"plugnmeet", "livekit.yaml", {"/opt/plugNmeet/etc/livekit.yaml"}, "yaml", check_livekit},
      {"freeswitch",
       "vars.xml",
       {"/etc/freeswitch/vars.xml", "/usr/local/freeswitch/conf/vars.xml"},
       "xml",
       check_freeswitch_file},
      {"freeswitch",
       "external.xml",
       {"/etc/freeswitch/sip_profiles/external.xml",
        "/usr/local/freeswitch/conf/sip_profiles/external.xml"},
       "xml",
       check_freeswitch_file},
      {"freeswitch",
       "switch.conf.xml",
       {"/etc/freeswitch/autoload_configs/switch.conf.xml",
        "/usr/local/freeswitch/conf/autoload_configs/switch.conf.xml"},
       "xml",
       check_freeswitch_file},
      {"bigbluebutton",
       "production.yml",
       {"/etc/bigbluebutton/bbb-webrtc-sfu/production.yml"},
       "yaml",
       check_bbb_sfu},
      {"bigbluebutton",
       "default.yml",
       {"/usr/local/bigbluebutton/bbb-webrtc-sfu/config/default.yml"},
       "yaml",
       check_bbb_sfu},
      // BigBlueButton's own FreeSWITCH; bbb-web reads bbb-web.properties over its defaults.
      {"bigbluebutton",
       "vars.xml",
       {"/opt/freeswitch/etc/freeswitch/vars.xml"},
       "xml",
       check_freeswitch_file},
      {"bigbluebutton",
       "external.xml",
       {"/opt/freeswitch/etc/freeswitch/sip_profiles/external.xml"},
       "xml",
       check_freeswitch_file},
      {"bigbluebutton",
       "switch.conf.xml",
       {"/opt/freeswitch/etc/freeswitch/autoload_configs/switch.conf.xml"},
       "xml",
       check_freeswitch_file},
      {"bigbluebutton",
       "bbb-web.properties",
       {"/etc/bigbluebutton/bbb-web.properties",
        "/usr/share/bbb-web/WEB-INF/classes/bigbluebutton.properties"},
       "properties",
       check_bbb_web_file},
      {"bigbluebutton",
       "sip.nginx",
       {"/etc/bigbluebutton/nginx/sip.nginx", "/usr/share/bigbluebutton/nginx/sip.nginx"},
       "nginx",
       check_bbb_sip_nginx_file},
      {"jitsi", "jvb.conf", {"/etc/jitsi/videobridge/jvb.conf"}, "hocon", check_jitsi_file},
      {"jitsi",
       "sip-communicator.properties",
       {"/etc/jitsi/videobridge/sip-communicator.properties"},
       "properties",
       check_jitsi_file},
      {"janus",
       "janus.jcfg",
       {"/etc/janus/janus.jcfg", "/opt/janus/etc/janus/janus.jcfg"},
       "libconfig",
       check_janus},
      {"coturn",
       "turnserver.conf",
       {"/etc/turnserver.conf", "/etc/coturn/turnserver.conf"},
       "coturn",
       check_coturn},
  };
  return kKinds;
}

ConfigFacts config_facts_of(const cli::ProfileFacts& profile) {
  ConfigFacts facts;
  facts.profile = profile;
  for (const auto& m : profile.ports_measured) {
    if (m.family != "ipv4") continue;
    auto& list = m.protocol == "udp" ? facts.udp_ports : facts.tcp_ports;
    list.push_back({{m.first, m.last}, m.state});
  }
  return facts;
}

std::vector<std::string> config_servers() {
  std::vector<std::string> out;
  for (const auto& k : config_file_kinds()) {
    if (std::find(out.begin(), out.end(), k.server) == out.end()) out.emplace_back(k.server);
  }
  return out;
}

const ConfigFileKind* kind_for(std::string_view server, std::string_view path) {
  const std::filesystem::path given{std::string(path)};
  const ConfigFileKind* first = nullptr;
  const ConfigFileKind* same_extension = nullptr;  // a copy named otherwise: "jvb-test.conf"
  for (const auto& k : config_file_kinds()) {
    if (k.server != server) continue;
    if (first == nullptr) first = &k;
    for (const auto p : k.paths) {
      const std::filesystem::path standard{std::string(p)};
      if (standard.filename() == given.filename()) return &k;
      if (same_extension == nullptr && !given.extension().empty() &&
          standard.extension() == given.extension()) {
        same_extension = &k;
      }
    }
  }
  return same_extension != nullptr ? same_extension : first;
}

ParsedFile parse_config(const std::string& path, std::string_view syntax, const std::string& text) {
  ParsedFile f;
  f.path = path;
  f.syntax = std::string(syntax);
  f.lines = split_lines(text);
  if (syntax == "ini") {
    parse_ini(text, f);
  } else if (syntax == "coturn") {
    parse_coturn(text, f);
  } else if (syntax == "yaml") {
    parse_yaml(text, f);
  } else if (syntax == "libconfig") {
    parse_libconfig(text, f);
  } else if (syntax == "xml") {
    f = parse_xml(path, text);
  } else if (syntax == "properties") {
    f = parse_properties(path, text);
  } else if (syntax == "hocon") {
    f = parse_hocon(path, text);
  } else if (syntax == "nginx") {
    f = parse_sip_nginx(path, text);
  } else {
    f.error = ParseError{0, "natdiag has no parser for '" + f.syntax + "'"};
  }
  return f;
}

std::vector<ConfigFinding> check_file(const ParsedFile& file, const ConfigFileKind& kind,
                                      const ConfigFacts& facts) {
  std::vector<ConfigFinding> out;
  if (file.error) {
    FindingSink sink(file, kind.server, out);
    sink.add("config-syntax-error", "critical", file.error->line, "", std::nullopt, std::nullopt,
             "The " + std::string(kind.syntax) + " parser cannot read this file: " +
                 file.error->message + ". " + std::string(kind.server) +
                 " will not read it either; natdiag checked nothing in it.");
    return out;
  }
  kind.check(file, facts, kind, out);
  return out;
}

std::vector<std::pair<std::string, std::uint16_t>> stun_servers_named(const ParsedFile& file,
                                                                      const ConfigFileKind& kind) {
  std::vector<std::pair<std::string, std::uint16_t>> out;
  const auto port_of = [&](const char* key, std::uint16_t fallback) {
    const auto* s = file.find(key);
    return s ? port_number(s->value).value_or(fallback) : fallback;
  };
  if (kind.server == "kurento") {
    if (const auto* s = file.find("stunServerAddress"); s && !s->value.empty())
      out.emplace_back(s->value, port_of("stunServerPort", 3478));
  } else if (kind.server == "janus") {
    if (const auto* s = file.find("nat.stun_server"); s && !s->value.empty())
      out.emplace_back(s->value, port_of("nat.stun_port", 3478));
  } else if (kind.server == "livekit" || kind.server == "plugnmeet") {
    for (const auto& s : file.settings) {
      if (!s.key.starts_with("rtc.stun_servers.")) continue;
      // "host:port", "[v6]:port" or "host" (port 3478).
      const auto colon = s.value.rfind(':');
      const bool has_port = colon != std::string::npos && s.value.find(']') == std::string::npos
                                ? s.value.find(':') == colon
                                : colon != std::string::npos && colon > s.value.find(']');
      std::string host = has_port ? s.value.substr(0, colon) : s.value;
      if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
      const auto port =
          has_port ? port_number(s.value.substr(colon + 1)) : std::optional<std::uint16_t>(3478);
      if (port && !host.empty()) out.emplace_back(host, *port);
    }
  } else if (kind.syntax == "xml") {
    out = freeswitch_stun_servers(file);
  } else if (kind.server == "jitsi") {
    out = jitsi_stun_servers(file);
  }
  return out;
}

void drop_overridden(std::vector<ConfigFinding>& findings,
                     const std::vector<CheckedConfig>& files) {
  const ParsedFile* production = nullptr;
  const ParsedFile* defaults = nullptr;
  for (const auto& f : files) {
    if (f.kind->server != "bigbluebutton" || f.file->error) continue;
    if (f.kind->role == "production.yml") production = f.file;
    if (f.kind->role == "default.yml") defaults = f.file;
  }
  if (production == nullptr || defaults == nullptr) return;
  std::erase_if(findings, [&](const ConfigFinding& f) {
    return f.file == defaults->path && !f.setting.empty() && production->find(f.setting) != nullptr;
  });
}

void sort_findings(std::vector<ConfigFinding>& findings) {
  const auto rank = [](const ConfigFinding& f) {
    return f.severity == "critical" ? 0 : f.severity == "warning" ? 1 : 2;
  };
  std::stable_sort(findings.begin(), findings.end(),
                   [&](const ConfigFinding& a, const ConfigFinding& b) {
                     if (rank(a) != rank(b)) return rank(a) < rank(b);
                     if (a.file != b.file) return a.file < b.file;
                     return a.line < b.line;
                   });
}

std::string config_verdict(const std::vector<ConfigFinding>& findings) {
  bool warning = false;
  for (const auto& f : findings) {
    if (f.severity == "critical") return "broken";
    warning = warning || f.severity == "warning";
  }
  return warning ? "needs-config" : "ok";
}

}  // namespace natdiag::profile::config
