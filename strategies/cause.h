#pragma once
/// Why a service failed, as a typed value: what systemd reported of the unit (its Result and
/// the main process' exit code or signal), or the check or rule that failed. A failure's cause
/// picks the recovery ladder (`when:` in a service's `recovery: ladders:`), is kept in the
/// history, journalled as MEDIC_CAUSE= and said in every alert about the failure.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checks/check.h"
#include "strategies/systemd_client.h"

namespace medic::strategies {

enum class CauseKind : uint8_t {
  none,
  check,       ///< a critical check failed its threshold (or window)
  rule,        ///< a critical check's rule over its values fired
  exitCode,    ///< the main process exited with a non-zero status
  signal,      ///< the main process was killed by a signal
  coreDump,    ///< the main process dumped core
  oomKill,     ///< the kernel's OOM killer (systemd's Result=oom-kill)
  watchdog,    ///< the service missed its WatchdogSec=
  timeout,     ///< a start or stop timed out
  startLimit,  ///< systemd's start limit was hit
  resources,   ///< systemd could not set up the unit's resources
  failed,      ///< systemd reported it failed for another reason
  stopped,     ///< stopped cleanly, but not by medic, while expected up
  dependency,  ///< a service (or host check) it depends on is down: its recovery waits for that one
};
/// The word a `when:` names it by: check, rule, exit-code, signal, core-dump, oom-kill, ...
std::string_view toString(CauseKind kind);
/// Every kind's word but none's: what a cause can be said as (the status schema's enum).
std::vector<std::string_view> causeKindWords();
/// The kind a word names (as toString() writes it); nullopt for anything else.
std::optional<CauseKind> causeKindFrom(std::string_view word);

/// Words a `when:` may name besides check and rule names: every kind but `none` and
/// `dependency` (a failure put down to a dependency climbs no ladder of its own), and the
/// groups: `crash` (exit-code, signal, core-dump), `unhealthy` (check, rule), `unit`
/// (anything systemd reported).
const std::vector<std::string_view>& causeWords();

struct Cause {
  CauseKind kind = CauseKind::none;
  std::string name;   ///< check: the check; rule: the rule's name (empty when it has none); dependency: the one down
  std::string check;  ///< rule: the check it judges
  int code = 0;       ///< exit-code: the status; signal, core-dump: the signal's number
  std::string words;  ///< the sentence: "killed by signal 9 (KILL)"

  std::string_view id() const { return toString(kind); }
  bool known() const { return kind != CauseKind::none; }
  /// How bad the fault is, by its kind: a crash, an OOM kill, a hang or a start limit is
  /// critical; a failing check or rule and a unit stopped behind medic's back a warning.
  checks::Severity severity() const;
  /// Whether a `when:` entry names this cause: its kind, a group it belongs to, its check
  /// by name (a rule of that check too), or its rule by name.
  bool matches(std::string_view when) const;

  static Cause ofCheck(const std::string& check, const std::string& words);
  static Cause ofRule(const std::string& rule, const std::string& check, const std::string& words);
  /// From systemd's report of a failed unit: Result, ExecMainCode, ExecMainStatus.
  static Cause ofUnit(const std::string& unit, const UnitState& state);
  static Cause stoppedBehindBack(const std::string& unit);
  /// `dependency` (a service, or a host check) is down; `name` is it.
  static Cause ofDependency(const std::string& dependency, const std::string& words);
};

/// "KILL" for 9: the signal's name without SIG, or its number when it has none.
std::string signalName(int signal);

}  // namespace medic::strategies
