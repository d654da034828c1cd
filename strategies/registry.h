#pragma once
/// The recovery steps medic knows, keyed by a ladder entry's `step:`. Adding a step is one
/// file pair under strategies/, one line in registry.cpp, a section in docs/config.md, and
/// tests.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/map_reader.h"
#include "strategies/step.h"

namespace medic::strategies {

/// What a step's settings may depend on besides its own keys.
struct StepContext {
  std::string service;
  std::string unit;      ///< the service's own unit
  std::string stateDir;  ///< agent.state_dir (restore keeps its backups under it by default)
};

/// Reads the step-specific keys of one ladder entry (the common ones are already read) and
/// returns the configured step, or nullptr after reporting errors to the reader.
using StepParser = std::shared_ptr<const Step> (*)(MapReader& keys, const StepContext& context);

struct StepType {
  std::string_view name;
  StepParser parse;
};

const std::vector<StepType>& stepTypes();
const StepType* findStepType(std::string_view name);

}  // namespace medic::strategies
