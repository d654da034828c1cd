#pragma once
/// The check types medic knows, keyed by the config's `type:`. Adding a type is one file
/// pair under checks/, one line in registry.cpp, a section in docs/config.md, and tests.
#include <memory>
#include <string_view>
#include <vector>

#include "checks/check.h"
#include "runtime/map_reader.h"

namespace medic::checks {

/// Reads the type-specific keys of one check (the common ones are already read) and
/// returns the configured check, or nullptr after reporting errors to the reader.
using CheckParser = std::unique_ptr<Check> (*)(MapReader& keys, const CheckContext& where);

struct CheckType {
  std::string_view name;
  CheckParser parse;
};

const std::vector<CheckType>& checkTypes();
const CheckType* findCheckType(std::string_view name);

}  // namespace medic::checks
