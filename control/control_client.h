#pragma once
/// The operator's side of the control interface: `medic status`, `pause`, `resume`, `reset`,
/// `recover` and a service's `heartbeat` call the running daemon over D-Bus (the system bus, or
/// $DBUS_SYSTEM_BUS_ADDRESS) and print its answer. When the daemon is not there they say so
/// in one line and exit non-zero; every call has a deadline, so none of them hangs.
#include <string>

#include "runtime/duration.h"

namespace medic::control {

/// Exit codes: 0 done, 1 refused or failed, 2 denied, 3 medic (or the bus) not reachable.
int statusCommand(const std::string& service, bool json);
int pauseCommand(const std::string& service, Duration length, const std::string& reason);
int resumeCommand(const std::string& service);
/// Pushes a heartbeat; `status` is ok, warning or critical. Prints nothing when `quiet`.
int heartbeatCommand(const std::string& service, const std::string& check, const std::string& status,
                     const std::string& message, bool quiet);
int resetCommand(const std::string& service);
/// Waits (up to `timeout`) for the step to be run and verified, and prints the verdict.
int recoverCommand(const std::string& service, const std::string& step, Duration timeout);
/// `medic drill`: a rehearsal; prints what happened (or the JSON). Exit 0 healed in time, 1 not.
int drillCommand(const std::string& service, const std::string& fault, Duration within, bool asJson);

}  // namespace medic::control
