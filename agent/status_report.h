#pragma once
/// The status JSON of docs/status.schema.json: every service with its health, phase and
/// recovery, or (`only`, which must be a supervised service) one with its checks, history
/// and figures. `now` is the loop's time, to turn the machine's times into wall-clock ones.
#include <string>

#include "agent/supervisor.h"

namespace medic::agent {

std::string statusJson(Supervisor& supervisor, const std::string& only, TimePoint now);

}  // namespace medic::agent
