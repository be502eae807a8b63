// From checks and local facts to a verdict and to what the administrator should do: the dummy
// NIC commands (now, and persisted for the detected network stack), the /etc/hosts line, and
// the warning that comes with a dummy NIC. Pure: no I/O, unit-tested.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hairpin/checks.hpp"
#include "hairpin/local_facts.hpp"

namespace natdiag::hairpin {

/// The overall answer to "does this host reach its own public address?".
enum class Verdict : std::uint8_t {
  kSupported,     ///< every deciding check came back through the router
  kPartial,       ///< some did, some did not
  kNotSupported,  ///< none did
  kInconclusive,  ///< no check could decide
  kNotNeeded,     ///< EXTERNAL_IP is on this host (dummy NIC, or no NAT at all)
};

/// "supported", "partial", "not-supported", "inconclusive", "not-needed".
[[nodiscard]] std::string_view verdict_name(Verdict verdict) noexcept;

/// A UDP check on a port natdiag sampled, not one the user named as forwarded: no echo there
/// may only mean the router does not forward that port, so it becomes inconclusive and leaves
/// the verdict to the TCP checks and the named ports.
void not_known_forwarded(CheckResult& check);

/// The verdict from the checks that decide it (not the STUN-mapping check) and local facts.
[[nodiscard]] Verdict overall_verdict(const std::vector<CheckResult>& checks,
                                      const LocalAddressFacts& local);

/// Whether the dummy NIC is needed: nullopt when no check could decide.
[[nodiscard]] std::optional<bool> dummy_nic_needed(Verdict verdict, const LocalAddressFacts& local);

/// What the command's exit code reports (design.md: 0, 1, 3).
enum class Health : std::uint8_t { kHealthy, kProblem, kCannotRun };

/// Healthy: hairpin supported, or EXTERNAL_IP on this host and every service reachable on it.
/// Cannot run: no deciding check could even be set up here.
[[nodiscard]] Health assess(const std::vector<CheckResult>& checks, Verdict verdict,
                            const LocalAddressFacts& local);

/// How to keep the address across reboots with one network stack.
struct PersistPlan {
  NetworkStack stack = NetworkStack::kUnknown;
  std::string file;                ///< the file to edit or create; empty when commands do it
  std::string where;               ///< "under the lo stanza (iface lo inet loopback)", "new file"
  std::vector<std::string> lines;  ///< the exact lines for `file`
  std::vector<std::string> commands;  ///< run after writing the file (or instead of it)
};

/// The dummy NIC: the command that adds it now, and how to persist it (nullopt: stack unknown).
struct DummyNicPlan {
  std::vector<std::string> commands;
  std::optional<PersistPlan> persist;
};

/// "203.0.113.1/32" or "2001:db8::1/128".
[[nodiscard]] std::string host_prefix(const TransportAddress& ip);
/// The plan for `ip` on a host whose addresses `stack` configures.
[[nodiscard]] DummyNicPlan dummy_nic_plan(const TransportAddress& ip, NetworkStack stack);

/// One piece of advice: a sentence, and the exact commands or lines that go with it.
struct Advice {
  std::string text;
  std::vector<std::string> lines;
};

/// Everything the advice is made from.
struct AdviceInput {
  TransportAddress external_ip;
  Verdict verdict = Verdict::kInconclusive;
  std::vector<CheckResult> checks;
  LocalAddressFacts local;
  StackFacts stack;
  std::optional<bool> persisted;  ///< the address is in the stack's configuration
  std::optional<HostnameFacts> hostname;
  std::optional<TransportAddress> measured_public;  ///< this host's public address, if measured
};

/// What to do, most important first.
[[nodiscard]] std::vector<Advice> make_advice(const AdviceInput& input);

/// The first line of the text output: "Hairpin NAT: not supported — ...".
[[nodiscard]] std::string headline(Verdict verdict, const TransportAddress& external_ip,
                                   const LocalAddressFacts& local);

/// The first line when EXTERNAL_IP is not the public address measured for this host.
/// The headline when EXTERNAL_IP is a private address not on this host (no dummy NIC advice).
[[nodiscard]] std::string private_target_headline(const TransportAddress& external_ip);
[[nodiscard]] std::string not_this_host_headline(const TransportAddress& external_ip,
                                                 const TransportAddress& measured_public);

/// The /etc/hosts line for --hostname when it does not resolve to EXTERNAL_IP: "IP NAME";
/// nullopt when it does, or when the "name" is an IP address (nothing to put in /etc/hosts).
[[nodiscard]] std::optional<std::string> etc_hosts_line(const HostnameFacts& hostname,
                                                        const TransportAddress& external_ip);

}  // namespace natdiag::hairpin
