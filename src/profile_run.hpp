// What `natdiag profile` measures: its options, the measurements of one run (every test at
// once within one budget) and the facts derived from them. Shared by profile's report and the
// commands that need the same facts without it (config check). Implemented in profile_run.cpp.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hairpin/hairpin.hpp"
#include "ice/diagnose.hpp"
#include "src/ports/families.hpp"
#include "src/profile/advice.hpp"
#include "stun/client/binding.hpp"
#include "stun/client/nat_discovery.hpp"
#include "stun/client/turn_check.hpp"

namespace natdiag::cli {

/// profile's command line, validated.
struct ProfileCommand {
  std::vector<client::ServerTarget> servers;
  bool default_servers = false;
  std::optional<ice::IceServer> turn;
  std::optional<stun::TransportAddress> external_ip;
  std::optional<std::string> hostname;
  std::vector<std::string> targets;
  std::string config_root;  ///< --root: where the media servers' configuration files are looked for
  stun::Duration timeout = std::chrono::seconds(4);
  bool json = false;
  std::vector<ports::FarEndName> via;  ///< --via: natdiag serve --probe-back outside (port check)
  std::string probe_secret;
};

// Everything one run measured, as the parts reported it.
struct Measured {
  client::BindingReport udp, tcp;
  std::optional<client::BindingReport> udp6;
  client::NatReport nat;
  std::optional<hairpin::HairpinReport> hairpin;
  std::string hairpin_error;
  std::optional<ice::IceReport> ice;
  std::string ice_error;
  std::optional<client::TurnCheckReport> turn_check;  ///< natdiag turn's check of --turn
  std::optional<ports::FamiliesResult> ports;         ///< --via: the ports measured from outside
  std::string ports_error;                            ///< --via: why the port check could not run
  stun::Duration elapsed{};
};

/// Runs every measurement of `cmd`: bindings, NAT discovery, ICE and TURN at once, then hairpin
/// with the public address, then (--via) the port check alone.
[[nodiscard]] Measured measure(const ProfileCommand& cmd);

/// The facts the findings and advice are derived from (saved in profile's JSON as `facts`).
[[nodiscard]] ProfileFacts facts_of(const ProfileCommand& cmd, const Measured& m);

/// Runs profile's measurements with profile's own options ("--server", "HOST", "--timeout",
/// "2", ...; validated as profile validates them) and returns the facts.
[[nodiscard]] ProfileFacts measure_profile_facts(const std::vector<std::string>& profile_args);

}  // namespace natdiag::cli
