#pragma once
/// Logging setup: straight to the journal (with syslog priorities) when systemd started us
/// with stderr connected to it, to stderr otherwise.
#include <string>
#include <string_view>

namespace medic {

/// True when stderr is the journal stream systemd gave us ($JOURNAL_STREAM matches it).
bool stderrIsJournal();
void setupLogging(const std::string& level);

/// What the lines logged while it lives are about: a service, and a check with its status.
/// In the journal they carry MEDIC_SERVICE=, MEDIC_CHECK= and MEDIC_STATUS=, so that
/// `journalctl -u medic MEDIC_SERVICE=web` tells web's whole story (its checks' transitions,
/// what systemd reported, its steps, drills, the alerts sent about it), not only its
/// recovery events. Scoped to the thread; an inner one stands in for the outer one while it
/// lives (a dependent's lines within its dependency's).
/// It copies nothing (it is set for every check result): what it is given must outlive it.
class LogAbout {
 public:
  explicit LogAbout(std::string_view service, std::string_view check = {}, std::string_view status = {});
  ~LogAbout();
  LogAbout(const LogAbout&) = delete;
  LogAbout& operator=(const LogAbout&) = delete;

  /// The innermost one alive on this thread; nullptr: none.
  static const LogAbout* current();
  std::string_view service() const { return service_; }
  std::string_view check() const { return check_; }
  std::string_view status() const { return status_; }

 private:
  const LogAbout* outer_;
  std::string_view service_, check_, status_;
};

}  // namespace medic
