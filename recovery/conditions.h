#pragma once
/// The recovery conditions (the seeds' check-recovery-conditions.sh): every listed unit
/// active, disk and memory headroom (measured exactly as the disk and memory checks measure
/// them), every listed host:port accepting connections, every named host check not failing
/// (its latest result, as the agent holds it). Evaluated concurrently; the first one not
/// met, in config order, is the reason given.
#include <functional>
#include <string>

#include "checks/check_runner.h"
#include "config/spec.h"
#include "strategies/systemd_client.h"

namespace medic::recovery {

/// Why a host check holds a recovery ("host check 'root-disk' is unhealthy: ..."), or "".
using HostCheckGate = std::function<std::string(const std::string& check)>;

/// `done` gets the first condition not met ("postgresql.service is failed"), or "" when all
/// hold; it is called exactly once, on the loop.
void evaluateConditions(const config::ConditionsSpec& conditions, strategies::SystemdClient& systemd,
                        checks::ProbeRunner& probes, const HostCheckGate& hostChecks,
                        std::function<void(std::string unmet)> done);

}  // namespace medic::recovery
