#pragma once
/// The systemd jobs steps are made of, each logged and mapped onto a StepOutcome.
#include <string>

#include "strategies/step.h"

namespace medic::strategies {

/// Runs `kind` (start or restart) on `unit` through systemd's start limit: when systemd
/// refuses because the unit hit it, the limit is reset (journalled) and the job run once more.
void startUnit(SystemdClient& systemd, const std::string& service, JobKind kind, const std::string& unit,
               Duration timeout, SystemdClient::JobDone done);

/// Runs one job and reports it as the step's outcome, said in the journal ("restart of
/// web.service done in 120ms").
void unitJob(SystemdClient& systemd, const std::string& service, JobKind kind, const std::string& unit,
             Duration timeout, StepDone done);

/// Stops `stop`, then starts `start`: a failover (primary -> backup) and back.
void stopThenStart(SystemdClient& systemd, const std::string& service, const std::string& stop,
                   const std::string& start, Duration timeout, StepDone done);

}  // namespace medic::strategies
