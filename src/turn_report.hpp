// What `natdiag turn` found for one URI, as JSON and as `profile` findings: shared by the turn
// command and `natdiag profile --turn`.
#pragma once

#include <string>
#include <vector>

#include "src/profile/advice.hpp"
#include "src/cli_common.hpp"
#include "stun/client/turn_check.hpp"

namespace natdiag::cli {

/// One checked URI: {uri, host, port, transport, server, ..., findings} (README: `turn` JSON).
[[nodiscard]] OutputJson turn_uri_json(const std::string& uri, const client::TurnCheckReport& r,
                                       bool audit_asked);
/// [{id, severity, message, fix}].
[[nodiscard]] OutputJson turn_findings_json(const std::vector<client::TurnFinding>& findings);
/// The check's result as profile findings: the URI's problem (warning) and its critical and
/// warning findings, ids prefixed "turn-".
[[nodiscard]] std::vector<Finding> turn_profile_findings(const std::string& uri,
                                                         const client::TurnCheckReport& r);

}  // namespace natdiag::cli
