#pragma once
/// The status JSON of docs/status.schema.json: every service with its health, phase and
/// recovery, or (`only`, which must be a supervised service) one with its checks, history
/// and figures. `now` is the loop's time, to turn the machine's times into wall-clock ones.
#include <nlohmann/json.hpp>
#include <string>

#include "agent/supervisor.h"

namespace medic::agent {

std::string statusJson(const Supervisor& supervisor, const std::string& only, TimePoint now);
/// A check's measured values as one run reported them: [{name, value, unit}].
nlohmann::json valuesJson(const std::vector<checks::PerfDatum>& perfdata);
/// Each rule's state: firing (it judges the check), pending (breached, not yet for `for:`),
/// ok, or waiting (fewer samples than min_samples); `book` null: no result yet.
nlohmann::json rulesJson(const std::vector<checks::RuleSpec>& rules, const checks::RuleBook* book);

}  // namespace medic::agent
