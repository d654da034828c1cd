#pragma once
/// The supervisor: routes each service's check results and unit events to its recovery
/// machine and carries out the machine's decisions — runs steps (one recovery slot per
/// service, at most max_concurrent_recoveries), verifies them, evaluates conditions,
/// switches units back after a failover, keeps the history and saves the state. It does
/// nothing by itself: time comes from a Clock and every action goes through StepEnv, so unit
/// tests drive it with a hand-moved clock and a scripted systemd.
#include <array>
#include <deque>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "checks/rules.h"
#include "config/spec.h"
#include "recovery/recovery_machine.h"
#include "recovery/state_store.h"
#include "runtime/clock.h"
#include "strategies/step.h"

namespace medic::agent {

class Supervisor {
 public:
  struct Service {
    const config::ServiceSpec* spec = nullptr;
    std::unique_ptr<recovery::RecoveryMachine> machine;
    struct LastResult {
      checks::CheckResult result;
      int64_t atMs = 0;  // wall clock
      uint64_t runs[4] = {};  // results since medic started, by status (indexed by checks::Status)
      // The latest runs' durations in ms, a ring (for the status page's chart).
      static constexpr size_t kRecent = 60;
      float recentMs[kRecent] = {};
      uint8_t recentCount = 0, recentNext = 0;
      void remember(float ms) {
        recentMs[recentNext] = ms;
        recentNext = uint8_t((recentNext + 1) % kRecent);
        if (recentCount < kRecent) ++recentCount;
      }
    };
    /// What medic knows of one check of the spec, kept across reloads that keep the check.
    struct CheckState {
      const checks::CheckSpec* spec = nullptr;  // its settings, as the spec in force has them
      std::optional<LastResult> last;           // none before its first result
    };
    std::map<std::string, CheckState> checks;  // the spec's checks, by name
    size_t withResult = 0;                     // how many of them have had a result
    /// A check's latest result (for `medic status`, alerts and metrics), if it has one.
    const LastResult* last(const std::string& check) const {
      auto it = checks.find(check);
      return it == checks.end() || !it->second.last ? nullptr : &*it->second.last;
    }
    // Kept as results come and rebuilt when the settings change (apply), so that a result
    // and a look at health cost the same with 10 checks or 10,000 (once, every result walked
    // every check: 10,000 first results at start were 10^8 lookups, and medic fell behind):
    std::set<std::string> notHealthy;  // checks of the spec whose latest result is not healthy
    size_t makeUnhealthy = 0, makeDegraded = 0;  // of those, by their checks::weight
    size_t notHealthyOfSeverity[3] = {};  // of those, by the severity they set (if any)
    /// The highest severity set by a check that is not healthy, if any set one.
    std::optional<checks::Severity> failingSeverity() const {
      for (size_t i = std::size(notHealthyOfSeverity); i-- > 0;)
        if (notHealthyOfSeverity[i]) return checks::Severity(i);
      return std::nullopt;
    }
    std::map<std::string, checks::RuleBook> rules;  // per check with rules: its windows
    strategies::UnitState unit;                    // as systemd last reported it
    std::string failOnPurpose;                     // a drill: this check counts as failing until a step runs
    TimePoint upSince{};                           // when it last became active (started, restarted, reloaded)
    Timer timer;                                   // the machine's next "time passed"
    std::optional<TimePoint> timerAt;              // when `timer` fires; unset: not armed
    Timer stepDelay;                               // a step the machine asked to run a little later
    Timer verification;                            // a verification with no check to run: answered soon
    Timer rtoTimer;                                // the recovery under way reaches its rto:
    int64_t rtoFor = 0;                            // (the recovery it is armed for: its start, wall clock)
  };
  /// What the agent hears back (for the status line, alerts and operators' answers).
  struct Listener {
    /// Each event the machine recorded, after the journal has it.
    std::function<void(const std::string& service, const recovery::Decision& d)> recorded;
    /// A check's status or the unit's state changed, or the failure threshold was crossed.
    std::function<void(const std::string& service)> healthNews;
    /// The machine's decisions are carried out (`decided`: there were some).
    std::function<void(const std::string& service, bool decided)> settled;
  };

  Supervisor(Clock& clock, strategies::StepEnv& steps, recovery::StateStore store, Listener listener);

  /// Makes `config`'s services the supervised ones; what is known of those that stay is kept.
  /// `config` must outlive the next apply().
  void apply(const config::Config& config);
  /// Reads the saved state and resumes each service where it stood (once, at start).
  void resumeSavedState();
  void onCheckResult(const std::string& service, const checks::CheckSpec& check, const checks::CheckResult& result);
  void onUnitChanged(const std::string& unit, const strategies::UnitState& state);

  // ---- What an operator asks (the control interface's verbs). Each is journalled by the
  // machine with `who`, and what must outlive a restart goes into the saved state. A
  // refusal is returned in words ("" when done); the service must exist.
  void pause(const std::string& name, std::optional<TimePoint> until, const std::string& reason, int uid, const std::string& who);
  std::string resume(const std::string& name, const std::string& who);
  std::string reset(const std::string& name, const std::string& who);
  /// Runs the `step`th step of its ladder now, then verifies.
  std::string recoverNow(const std::string& name, size_t step, const std::string& who);
  std::string failBackNow(const std::string& name, const std::string& who);
  /// A drill under way (`check`: the check that counts as failing until a step runs, or ""),
  /// or over (nullopt).
  void drill(const std::string& name, std::optional<std::string> check);
  /// The unit's journal lines that go with its alerts about the latest failure.
  void keepExcerpt(const std::string& name, std::vector<std::string> lines);

  const Service* find(const std::string& name) const;
  const std::map<std::string, Service>& services() const { return services_; }
  /// What is remembered across restarts; written by the supervisor alone.
  const recovery::SavedState& saved() const { return saved_; }
  /// Health as `medic status` and the alerts judge it: unknown until every check has answered
  /// once (and, for a service without checks, until systemd has said how its unit is), unless
  /// what is known already makes it unhealthy.
  checks::Status health(const Service& s) const;
  /// Every check of the service has had a result, and there is something to judge by.
  static bool healthKnown(const Service& s);
  /// How many services have each health, indexed by checks::Status (STATUS=, the summary).
  std::array<size_t, 4> healthCounts() const;
  /// Healthy, its unit active and no recovery under way or held: what a drill starts from
  /// and what a config snapshot is known good by.
  bool runsWell(const Service& s) const;
  /// Why the service counts as down for those that depend on it ("recovering (restart 1 of
  /// 2, round 1 of 3)", "unhealthy: ..."), or nullopt: a recovery under way, held or over
  /// without healing it, or a critical check failing. (Failed over, it serves: not down.)
  std::optional<std::string> downAsDependency(const Service& s) const;
  /// The units whose states systemd is to report (onUnitChanged): the services' own, and
  /// those their recovery conditions name (units_active), so a blocked recovery wakes up.
  std::vector<std::string> unitsToWatch() const;

 private:
  Service* owned(const std::string& name);  // (find, for the supervisor alone to change)
  /// Carries out what the service's machine decided, then re-arms its timer and saves.
  void carryOut(const std::string& name, const std::vector<recovery::Decision>& decisions);
  void runStep(const std::string& name, const recovery::Decision& d);
  void runStepNow(const std::string& name, const recovery::Decision& d);
  void switchUnits(const std::string& name, const recovery::Decision& d);
  void verify(const std::string& name);
  void checkConditions(const std::string& name);
  void stepFinished(const std::string& name, strategies::StepOutcome outcome);
  void armTimer(const std::string& name);
  void watchRto(const std::string& name);
  void releaseSlot(const std::string& name);
  void noteDecision(const std::string& name, const recovery::Decision& d);
  void persist(const std::string& name, bool decided);
  /// Every blocked service whose conditions in force `name` (a host check, a unit) looks at
  /// them again now: what held its recovery may have changed.
  void wakeConditions(const std::function<bool(const config::ConditionsSpec&)>& names);
  /// The first of the service's dependencies that is down (but `except`), as the cause its
  /// failure is put down to.
  std::optional<strategies::Cause> firstDependencyDown(const Service& s, const std::string& except = "") const;
  /// Tells the service's machine which of its dependencies is down (if one is), when that changed.
  void tellDependencies(const std::string& name);
  /// medic restarted `name` and verified it: the services depending on it with
  /// `on_dependency_restart: restart` are restarted once too (before they hear it is up).
  void restartDependents(const std::string& name);
  /// The same for every service that depends on `name` (or on a host check, for the host).
  void tellDependents(const std::string& name);
  /// A run's verdict with the check's rules (and a drill's failure on purpose) applied.
  checks::CheckResult judge(Service& service, const checks::CheckSpec& c, const checks::CheckResult& measured);
  /// Makes `r` the check's latest result: tallies, the log line and health news on a change.
  void remember(const std::string& name, Service& service, Service::CheckState& check, const checks::CheckResult& r);
  // Counts `status` of check `c` into (sign 1) or out of (sign -1) the service's tallies.
  static void tally(Service& s, const checks::CheckSpec& c, checks::Status status, int sign);

  Clock& clock_;
  strategies::StepEnv& steps_;
  Listener listener_;
  int maxConcurrentRecoveries_ = 3;
  std::map<std::string, Service> services_;
  std::map<std::string, std::string> serviceOfUnit_;
  std::map<std::string, std::vector<std::string>> dependents_;  // a service (or the host) -> those depending on it
  // At most max_concurrent_recoveries services recover at once; the steps of others wait.
  std::set<std::string> recovering_;
  std::deque<std::pair<std::string, recovery::Decision>> waiting_;
  // Memory across restarts: saved whenever a service's recovery state changes.
  recovery::StateStore store_;
  recovery::SavedState saved_;
  std::string lastSaveError_;  // said once, not on every failed write
};

}  // namespace medic::agent
