#pragma once
/// Recovery events as structured journal entries, so `journalctl MEDIC_SERVICE=web` and
/// `journalctl -u medic -p crit` find them. When medic does not log to the journal (run
/// by hand), the same sentence goes to its log instead.
#include <string>

#include "strategies/cause.h"

namespace medic::recovery {

struct RecoveryEvent {
  std::string service;
  std::string unit;
  std::string event;  ///< recovery-started, step-failed, step-skipped, round-failed, gave-up, recovered, ...
  int priority = 6;   ///< syslog priority
  std::string message;
  std::string step;
  int attempt = 0;
  int round = 0;
  /// The failure this event is about (none for an operator's pause and such): journalled as
  /// MEDIC_CAUSE= (its kind), MEDIC_CAUSE_SEVERITY= and MEDIC_CAUSE_TEXT= (its sentence).
  const strategies::Cause* cause = nullptr;
};

void recordEvent(const RecoveryEvent& e);

}  // namespace medic::recovery
