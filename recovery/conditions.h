#pragma once
/// The recovery conditions (the seeds' check-recovery-conditions.sh): every listed unit
/// active, disk and memory headroom (measured exactly as the disk and memory checks measure
/// them), every listed host:port accepting connections. Evaluated concurrently; the first
/// one not met, in config order, is the reason given.
#include <functional>
#include <string>

#include "checks/check_runner.h"
#include "config/spec.h"
#include "strategies/systemd_client.h"

namespace medic::recovery {

/// `done` gets the first condition not met ("postgresql.service is failed"), or "" when all
/// hold; it is called exactly once, on the loop.
void evaluateConditions(const config::ConditionsSpec& conditions, strategies::SystemdClient& systemd,
                        checks::ProbeRunner& probes, std::function<void(std::string unmet)> done);

}  // namespace medic::recovery
