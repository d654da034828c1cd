#pragma once
/// The Nagios plugin output format: "TEXT | perfdata\nlong text | more perfdata".
#include <string>
#include <string_view>
#include <vector>

#include "checks/check.h"

namespace medic::checks {

struct PluginOutput {
  std::string message;  ///< the first line's text, trimmed, valid UTF-8
  std::vector<PerfDatum> perfdata;
};

PluginOutput parsePluginOutput(std::string_view output);

/// Parses "'label'=value[UOM];warn;crit;min;max ..." (malformed items are skipped).
std::vector<PerfDatum> parsePerfdata(std::string_view text);

}  // namespace medic::checks
