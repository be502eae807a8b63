#include "src/profile/servers/freeswitch_config.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>

#include "src/profile/config/announced.hpp"
#include "src/profile/config/xml_config.hpp"
#include "src/profile/servers/config_checkers.hpp"

namespace natdiag::profile {
namespace {

using config::ConfigFinding;
using config::LineEdit;
using config::ParsedFile;
using config::Setting;

// Where a value is written: an X-PRE-PROCESS set (data="NAME=VALUE") or a param (value=).
struct Place {
  const ParsedFile* file = nullptr;
  const Setting* setting = nullptr;
  bool preprocess = false;
};

class Checker {
 public:
  Checker(const ParsedFile& file, const ParsedFile* vars, const cli::ProfileFacts& facts,
          const config::Measurements& measured)
      : file_(file), vars_(vars), f_(facts), m_(measured) {}

  std::vector<ConfigFinding> run() {
    if (file_.error) return {};
    for (const auto& s : file_.settings) {
      // FreeSWITCH keeps the last set of a variable or param: an earlier one changes nothing.
      if (file_.find(s.key) != &s) continue;
      if (s.key == "external_rtp_ip" || s.key == "external_sip_ip") {
        announced({&file_, &s, true}, s.value);
      } else if (s.key == "settings.param.ext-rtp-ip" || s.key == "settings.param.ext-sip-ip") {
        if (const auto p = follow({&file_, &s, false})) announced(*p, p->setting->value);
      } else if (s.key == "settings.param.rtp-ip" || s.key == "settings.param.sip-ip") {
        if (const auto p = follow({&file_, &s, false})) bound(*p);
      }
    }
    missing();
    port_range();
    // One variable can stand behind several params: report its line once per finding.
    std::vector<ConfigFinding> unique;
    for (auto& x : out_) {
      const bool seen = std::any_of(unique.begin(), unique.end(), [&](const ConfigFinding& u) {
        return u.id == x.id && u.file == x.file && u.line == x.line;
      });
      if (!seen) unique.push_back(std::move(x));
    }
    return unique;
  }

 private:
  // A param's value, or the vars.xml line that sets the variable it names; nullopt when the
  // value comes from somewhere natdiag does not check here.
  std::optional<Place> follow(const Place& p) const {
    const std::string& v = p.setting->value;
    const auto refs = config::freeswitch_var_refs(v);
    if (refs.empty() || v == "$${local_ip_v4}") return p;
    if (refs.size() != 1 || v != "$${" + refs.front() + "}" || !vars_) return std::nullopt;
    if (refs.front() == "external_rtp_ip" || refs.front() == "external_sip_ip") return std::nullopt;
    const Setting* def = vars_->find(refs.front());
    if (!def) return std::nullopt;
    return Place{vars_, def, true};
  }

  std::string server() const {
    return file_.path.starts_with("/opt/freeswitch/") ? "bigbluebutton" : "freeswitch";
  }

  std::optional<LineEdit> edit(const Place& p, const std::string& value) const {
    const auto& lines = p.file->lines;
    if (p.setting->line < 1 || static_cast<std::size_t>(p.setting->line) > lines.size())
      return std::nullopt;
    const std::string& line = lines[static_cast<std::size_t>(p.setting->line) - 1];
    std::optional<std::string> text;
    if (p.preprocess) {
      text = config::xml_replace_attribute(line, "data", p.setting->key + "=" + value);
      // stun-set looks its value up: a fixed address is written with set.
      if (text && text->find("\"stun-set\"") != std::string::npos && !value.starts_with("stun:")) {
        text = config::xml_replace_attribute(*text, "cmd", "set");
      }
    } else {
      text = config::xml_replace_attribute(line, "value", value);
    }
    if (!text) return std::nullopt;
    return LineEdit{LineEdit::Kind::replace, p.setting->line, *text};
  }

  void add(const Place& p, std::string id, std::string severity,
           std::optional<std::string> expected, std::string why) {
    if (p.preprocess && config::xml_line_in_comment(*p.file, p.setting->line)) {
      why += " Line " + std::to_string(p.setting->line) +
             " is inside an XML comment, but FreeSWITCH's pre-processor applies it anyway.";
    }
    ConfigFinding x{std::move(id),    std::move(severity),
                    server(),         p.file->path,
                    p.setting->line,  p.setting->key,
                    p.setting->value, std::move(expected),
                    std::move(why),   {}};
    if (x.expected) {
      if (auto e = edit(p, *x.expected)) x.edits.push_back(*e);
    }
    out_.push_back(std::move(x));
  }

  std::string pinned() const {
    return f_.public_ipv4
               ? " natdiag measured the public address " + *f_.public_ipv4 + ": write it here."
               : "";
  }

  // An address FreeSWITCH puts in its SDP and SIP headers for peers to reach it.
  void announced(const Place& p, const std::string& value) {
    const std::string& name = p.setting->key;
    if (value == "auto-nat") {
      if (f_.behind_nat == true) {
        add(p, "freeswitch-auto-nat", "warning", f_.public_ipv4,
            name +
                " is auto-nat: FreeSWITCH asks the router for the public address by UPnP or "
                "NAT-PMP. natdiag does not test those and has no evidence this router answers "
                "them; without an answer FreeSWITCH announces its private address." +
                pinned());
      }
    } else if (value == "auto" || value == "$${local_ip_v4}") {
      if (f_.behind_nat == true) {
        add(p, "freeswitch-external-ip-private", "critical", f_.public_ipv4,
            name + " is " + value + ": FreeSWITCH announces this host's own address" +
                (f_.local_ipv4 ? " (" + *f_.local_ipv4 + ")" : std::string()) +
                ", and this host is behind NAT, so peers on the Internet cannot reach it." +
                pinned());
      }
    } else if (value.starts_with("stun:")) {
      const auto hp = config::split_host_port(std::string_view(value).substr(5));
      if (const auto problem = config::check_stun_server(hp.host, hp.port, f_, m_)) {
        // A server natdiag did not ask may well answer: nothing measured says to replace it.
        const bool known_bad = problem->kind != "not-asked";
        add(p, "freeswitch-stun-" + problem->kind, problem->severity,
            known_bad ? f_.public_ipv4 : std::nullopt,
            name + " is " + value +
                ": FreeSWITCH asks that STUN server for its public address "
                "when it starts. " +
                problem->why + (known_bad ? pinned() : std::string()));
      }
    } else if (value.starts_with("host:")) {
      if (f_.hostname && value.substr(5) == *f_.hostname &&
          f_.hostname_resolves_to_public == false) {
        add(p, "freeswitch-external-ip-hostname", "warning", f_.public_ipv4,
            name + " is " + value + ": FreeSWITCH announces what " + *f_.hostname +
                " resolves to on this host, and that is not the measured public address." +
                pinned());
      }
    } else if (const auto problem = config::check_announced_ipv4(value, f_)) {
      add(p, "freeswitch-external-ip-" + problem->kind, problem->severity, f_.public_ipv4,
          name + " announces " + problem->why);
    }
  }

  // Behind NAT, a vars.xml without external_rtp_ip / external_sip_ip, or a SIP profile without
  // ext-rtp-ip / ext-sip-ip, leaves FreeSWITCH announcing the address it binds: the private one.
  void missing() {
    if (f_.behind_nat != true) return;
    const bool vars = file_.path.ends_with("vars.xml");
    const bool profile = file_.find("settings.param.sip-port") != nullptr;
    if (!vars && !profile) return;
    for (const char* name : {"rtp", "sip"}) {
      const std::string key = vars ? "external_" + std::string(name) + "_ip"
                                   : "settings.param.ext-" + std::string(name) + "-ip";
      if (file_.find(key)) continue;
      // Where it goes: before vars.xml's </include>; after the profile's bind address.
      int after = 0;
      std::string text;
      const std::string pub = f_.public_ipv4.value_or("");
      if (vars) {
        for (std::size_t i = file_.lines.size(); i-- > 0 && after == 0;) {
          if (file_.lines[i].find("</include>") != std::string::npos) after = static_cast<int>(i);
        }
        text = "  <X-PRE-PROCESS cmd=\"set\" data=\"" + key + "=" + pub + "\"/>";
      } else {
        const Setting* anchor = file_.find("settings.param." + std::string(name) + "-ip");
        if (!anchor) anchor = file_.find("settings.param.sip-port");
        after = anchor->line;
        const std::string& line = file_.lines[static_cast<std::size_t>(after) - 1];
        text = line.substr(0, line.find_first_not_of(" \t")) + "<param name=\"ext-" + name +
               "-ip\" value=\"" + pub + "\"/>";
      }
      ConfigFinding x{"freeswitch-external-ip-missing",
                      "warning",
                      server(),
                      file_.path,
                      after + 1,
                      key,
                      std::nullopt,
                      f_.public_ipv4,
                      key +
                          " is not set: FreeSWITCH announces the address it binds, and behind NAT "
                          "that is the private one." +
                          pinned(),
                      {}};
      if (f_.public_ipv4 && (after > 0 || !vars)) {
        // A file with CRLF endings gets its new line with one too.
        const std::string& near = file_.lines[static_cast<std::size_t>(std::max(after, 1)) - 1];
        if (!near.empty() && near.back() == '\r') text += '\r';
        x.edits.push_back({LineEdit::Kind::insert_after, after, text});
      }
      out_.push_back(std::move(x));
    }
  }

  // rtp-ip / sip-ip: the address FreeSWITCH binds, which must be on this host.
  void bound(const Place& p) {
    const std::string& v = p.setting->value;
    if (f_.behind_nat == true && f_.public_ipv4 && v == *f_.public_ipv4 &&
        f_.dummy_nic_present != true) {
      add(p, "freeswitch-bind-ip-not-local", "warning", f_.local_ipv4,
          p.setting->key + " binds to " + v +
              ", the public address, which is on the router, not on this host (no dummy NIC "
              "carries it): FreeSWITCH cannot bind it. Bind the local address and announce the "
              "public one with ext-rtp-ip / ext-sip-ip.");
    }
  }

  // switch.conf.xml's rtp-start-port / rtp-end-port: against the UDP ports `natdiag ports`
  // measured; when it did not run, against the range the firewall advice opens.
  void port_range() {
    const Setting* start = file_.find("settings.param.rtp-start-port");
    const Setting* end = file_.find("settings.param.rtp-end-port");
    const auto table = config::firewall_media_range("freeswitch");
    if ((!start && !end) || !table) return;
    const auto first = start ? config::port_number(start->value) : table->first;
    const auto last = end ? config::port_number(end->value) : table->last;
    if (!first || !last) return;  // a $${variable} or not a number: nothing to compare
    const std::string range = std::to_string(*first) + "-" + std::to_string(*last);
    const Setting* at = start ? start : end;
    if (*first > *last) {
      add({&file_, at, false}, "freeswitch-rtp-range-inverted", "warning", std::nullopt,
          "FreeSWITCH's RTP range starts at " + std::to_string(*first) + " and ends at " +
              std::to_string(*last) + ": the start is above the end.");
      return;
    }
    if (!m_.udp_ports.empty()) {
      if (const auto closed = config::ports_not_open(m_.udp_ports, {*first, *last})) {
        add({&file_, at, false}, "freeswitch-rtp-range-not-open", "warning", std::nullopt,
            "FreeSWITCH's RTP range " + range +
                " is not open from the Internet as natdiag measured it: " + *closed +
                ". Media on those ports never arrives: open and forward them to this host.");
      }
      return;
    }
    if (*first >= table->first && *last <= table->last) return;
    const std::string why =
        "FreeSWITCH's RTP range is " + range +
        ", but the firewall and port-forward advice natdiag gives (natdiag ports --for "
        "freeswitch) opens UDP " +
        table->text() +
        " (FreeSWITCH's and BigBlueButton's documented range); calls on ports outside it get no "
        "media unless those ports are opened too. natdiag did not measure the ports here "
        "(natdiag ports would).";
    for (const Setting* s : {start, end}) {
      if (!s) continue;
      const std::string want = std::to_string(s == start ? table->first : table->last);
      if (s->value == want) continue;
      add({&file_, s, false}, "freeswitch-rtp-range-outside-firewall", "info", want, why);
    }
  }

  const ParsedFile& file_;
  const ParsedFile* vars_;
  const cli::ProfileFacts& f_;
  const config::Measurements& m_;
  std::vector<ConfigFinding> out_;
};

}  // namespace

std::vector<std::pair<std::string, std::uint16_t>> freeswitch_stun_servers(
    const config::ParsedFile& file) {
  std::vector<std::pair<std::string, std::uint16_t>> out;
  for (const auto& s : file.settings) {
    const bool announced = s.key == "external_rtp_ip" || s.key == "external_sip_ip" ||
                           s.key == "settings.param.ext-rtp-ip" ||
                           s.key == "settings.param.ext-sip-ip";
    if (!announced || file.find(s.key) != &s || !s.value.starts_with("stun:")) continue;
    const auto hp = config::split_host_port(std::string_view(s.value).substr(5));
    if (hp.host.empty() || hp.bad_port) continue;
    const std::pair<std::string, std::uint16_t> server{hp.host, hp.port.value_or(3478)};
    if (std::find(out.begin(), out.end(), server) == out.end()) out.push_back(server);
  }
  return out;
}

std::vector<config::ConfigFinding> check_freeswitch(const config::ParsedFile& file,
                                                    const cli::ProfileFacts& facts,
                                                    const config::Measurements& measured) {
  return Checker(file, nullptr, facts, measured).run();
}

std::vector<config::ConfigFinding> check_freeswitch(const config::ParsedFile& file,
                                                    const config::ParsedFile& vars,
                                                    const cli::ProfileFacts& facts,
                                                    const config::Measurements& measured) {
  return Checker(file, &vars, facts, measured).run();
}

}  // namespace natdiag::profile

namespace natdiag::profile::config {
namespace {

// The vars.xml that sets a SIP profile's $${NAME}: the one in the profile's FreeSWITCH conf
// directory (sip_profiles/..), else the only one read.
const ParsedFile* vars_for(const ParsedFile& file, const std::vector<const ParsedFile*>& files) {
  namespace fs = std::filesystem;
  if (fs::path(file.path).filename() == "vars.xml") return nullptr;
  const auto conf = fs::path(file.path).parent_path().parent_path();
  const ParsedFile* only = nullptr;
  int count = 0;
  for (const auto* f : files) {
    if (f->syntax != "xml" || f->error || fs::path(f->path).filename() != "vars.xml") continue;
    if (fs::path(f->path).parent_path() == conf) return f;
    only = f;
    ++count;
  }
  return count == 1 ? only : nullptr;
}

}  // namespace

void check_freeswitch_file(const ParsedFile& file, const ConfigFacts& facts,
                           const ConfigFileKind& kind, std::vector<ConfigFinding>& out) {
  const auto* vars = vars_for(file, facts.files);
  auto found = vars ? profile::check_freeswitch(file, *vars, facts.profile, measurements_of(facts))
                    : profile::check_freeswitch(file, facts.profile, measurements_of(facts));
  for (auto& f : found) {
    f.server = kind.server;  // FreeSWITCH's own, or BigBlueButton's copy: the table says which
    out.push_back(std::move(f));
  }
}

}  // namespace natdiag::profile::config
