#pragma once
/// Loads /etc/medic/medic.yaml and the files it includes into a Config. Loading is
/// strict: defaults, then unknown keys rejected, then semantic checks. Every error names
/// file:line:col and all of them are reported, never just the first.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "runtime/errors.h"
#include "config/spec.h"

namespace medic::config {

inline constexpr const char* kDefaultConfigPath = "/etc/medic/medic.yaml";

struct LoadResult {
  std::optional<Config> config;  ///< set only when errors is empty
  ErrorList errors;
};

/// What systemd says a unit needs, for `depends_on: systemd`: the units it Requires=, BindsTo=
/// or Requisite= (Wants= is weak: not a need). Read by the caller's reader (the D-Bus one is
/// strategies/unit_needs.h; tests script it), once per unit per load.
struct UnitNeed {
  std::string property;  ///< Requires, BindsTo or Requisite
  std::string unit;
};
struct UnitNeeds {
  std::vector<UnitNeed> needs;
  std::string error;  ///< non-empty: not read (systemd unreachable, the unit not found)
};
using UnitNeedsReader = std::function<UnitNeeds(const std::string& unit)>;

/// `readNeeds` unset: `depends_on: systemd` adds nothing, with a warning (Config::warnings, as
/// when a unit cannot be read: its edges from systemd are missing until the next load).
LoadResult loadConfig(const std::string& mainFile, const UnitNeedsReader& readNeeds = {});

}  // namespace medic::config
