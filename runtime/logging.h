#pragma once
/// Logging setup: straight to the journal (with syslog priorities) when systemd started us
/// with stderr connected to it, to stderr otherwise.
#include <string>

namespace medic {

/// True when stderr is the journal stream systemd gave us ($JOURNAL_STREAM matches it).
bool stderrIsJournal();
void setupLogging(const std::string& level);

}  // namespace medic
