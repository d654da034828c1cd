#include "recovery/journal.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-journal.h>

#include "runtime/logging.h"
#include "runtime/text.h"

namespace medic::recovery {

void recordEvent(const RecoveryEvent& e) {
  std::string message = escapeText(e.service + ": " + e.message);  // one line, whatever it quotes
  if (!stderrIsJournal()) {
    auto level = e.priority <= 2 ? spdlog::level::critical
                 : e.priority == 3 ? spdlog::level::err
                 : e.priority == 4 ? spdlog::level::warn
                                   : spdlog::level::info;
    spdlog::log(level, "{}", message);
    return;
  }
  // The alert sinks' words for the same thing (info, warning, critical), to filter on.
  const char* severity = e.priority <= 2 ? "critical" : e.priority <= 4 ? "warning" : "info";
  sd_journal_send("MESSAGE=%s", message.c_str(), "PRIORITY=%d", e.priority, "SYSLOG_IDENTIFIER=medic",
                  "MEDIC_SEVERITY=%s", severity, "MEDIC_SERVICE=%s", e.service.c_str(), "MEDIC_UNIT=%s", e.unit.c_str(), "MEDIC_EVENT=%s",
                  e.event.c_str(), "MEDIC_STEP=%s", e.step.c_str(), "MEDIC_ATTEMPT=%d", e.attempt, "MEDIC_ROUND=%d",
                  e.round, nullptr);
}

}  // namespace medic::recovery
