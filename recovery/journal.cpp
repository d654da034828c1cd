#include "recovery/journal.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-journal.h>
#include <sys/uio.h>

#include <vector>

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
  std::vector<std::string> fields = {
      "MESSAGE=" + message, "PRIORITY=" + std::to_string(e.priority), "SYSLOG_IDENTIFIER=medic",
      std::string("MEDIC_SEVERITY=") + severity, "MEDIC_SERVICE=" + e.service, "MEDIC_UNIT=" + e.unit,
      "MEDIC_EVENT=" + e.event, "MEDIC_STEP=" + e.step, "MEDIC_ATTEMPT=" + std::to_string(e.attempt),
      "MEDIC_ROUND=" + std::to_string(e.round)};
  if (e.cause && e.cause->known()) {
    fields.push_back("MEDIC_CAUSE=" + std::string(e.cause->id()));
    fields.push_back("MEDIC_CAUSE_SEVERITY=" + std::string(checks::toString(e.cause->severity())));
    fields.push_back("MEDIC_CAUSE_TEXT=" + escapeText(e.cause->words));
  }
  std::vector<iovec> iov;
  iov.reserve(fields.size());
  for (auto& f : fields) iov.push_back({f.data(), f.size()});
  sd_journal_sendv(iov.data(), int(iov.size()));
}

}  // namespace medic::recovery
