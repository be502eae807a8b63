// XML configuration files, read with pugixml: FreeSWITCH's vars.xml, sip_profiles/*.xml and
// autoload_configs/switch.conf.xml (also BigBlueButton's copy under /opt/freeswitch/conf).
// Pure: text in, settings out. pugixml keeps no line numbers; they come from its offsets.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/profile/config/config_model.hpp"

namespace natdiag::profile::config {

/// The settings of an XML config (syntax "xml"):
///  - `<X-PRE-PROCESS cmd="set" data="NAME=VALUE"/>` (also cmd="stun-set") -> key NAME, read
///    line by line as FreeSWITCH's pre-processor reads them: also inside XML comments, where
///    FreeSWITCH still applies them;
///  - `<param name="N" value="V"/>` inside `<P>` -> key "P.param.N", e.g.
///    "settings.param.ext-rtp-ip" in a SIP profile, "settings.param.rtp-start-port" in
///    switch.conf.xml.
/// A setting's line is the line of its data= or value= attribute. A document pugixml
/// refuses is an error with the line of the offset pugixml names and its description.
[[nodiscard]] ParsedFile parse_xml(std::string path, std::string_view text);

/// Line `line` (1-based) is inside an XML comment, wholly or in part.
[[nodiscard]] bool xml_line_in_comment(const ParsedFile& file, int line);

/// The names of the `$${NAME}` references in `value` (FreeSWITCH's pre-processor variables).
[[nodiscard]] std::vector<std::string> freeswitch_var_refs(std::string_view value);

/// `value` with every `$${NAME}` replaced by the X-PRE-PROCESS set of NAME in `vars`; nullopt
/// when a NAME is not set there (a built-in such as local_ip_v4, or missing).
[[nodiscard]] std::optional<std::string> resolve_freeswitch_vars(std::string_view value,
                                                                 const ParsedFile& vars);

/// `line` with the value of its attribute `attribute` replaced by `value` (XML-escaped), the
/// quotes and everything else kept. nullopt when the attribute is not on that line.
[[nodiscard]] std::optional<std::string> xml_replace_attribute(std::string_view line,
                                                               std::string_view attribute,
                                                               std::string_view value);

}  // namespace natdiag::profile::config
