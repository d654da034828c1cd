#pragma once
/// Loads /etc/medic/medic.yaml and the files it includes into a Config. Loading is
/// strict: defaults, then unknown keys rejected, then semantic checks. Every error names
/// file:line:col and all of them are reported, never just the first.
#include <optional>
#include <string>

#include "runtime/errors.h"
#include "config/spec.h"

namespace medic::config {

inline constexpr const char* kDefaultConfigPath = "/etc/medic/medic.yaml";

struct LoadResult {
  std::optional<Config> config;  ///< set only when errors is empty
  ErrorList errors;
};

LoadResult loadConfig(const std::string& mainFile);

}  // namespace medic::config
