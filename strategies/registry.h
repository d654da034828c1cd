#pragma once
/// The recovery steps medic knows, keyed by a ladder entry's `step:`. Adding a step is one
/// file pair under strategies/, one line in registry.cpp, a section in docs/config.md, and
/// tests.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "strategies/step.h"

namespace medic::strategies {

struct StepType {
  std::string_view name;
  StepParser parse;
};

const std::vector<StepType>& stepTypes();
const StepType* findStepType(std::string_view name);

}  // namespace medic::strategies
