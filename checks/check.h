#pragma once
/// The check abstraction. A Check is configured once from YAML and is then immutable and
/// stateless: each run is a Probe started with a deadline that reports exactly one
/// CheckResult. A Probe never schedules itself and never sleeps; destroying it cancels it.
/// Thresholds, intervals and timeouts are the scheduler's and state machine's business.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/duration.h"
#include "runtime/errors.h"

namespace medic::checks {

enum class Status { healthy, degraded, unhealthy, unknown };

std::string_view toString(Status s);
/// The status toString() names; nullopt for any other word.
std::optional<Status> parseStatus(std::string_view word);
/// Nagios plugin API: 0 OK, 1 WARNING, 2 CRITICAL, 3+ UNKNOWN.
Status statusFromExitCode(int code);
/// The exit codes of every medic command, in one place (docs/control.md, "Exit codes"): the
/// Nagios convention for health, and the rest beyond it.
namespace exitcode {
constexpr int healthy = 0;    ///< healthy; done; healed
constexpr int degraded = 1;   ///< degraded; refused (with the reason); not healed; invalid config
constexpr int unhealthy = 2;
constexpr int unknown = 3;    ///< the health cannot be told: medic not running, no bus, no answer
constexpr int denied = 4;     ///< permission denied
constexpr int usage = 64;     ///< a value on the command line medic cannot read (EX_USAGE)
}  // namespace exitcode
/// The exit code for a status (the Nagios convention).
int exitCodeFor(Status s);
/// Worse of two statuses, for summaries: unhealthy > unknown > degraded > healthy.
Status worst(Status a, Status b);
/// One check's latest status, as a service's health sees it.
struct CheckVerdict {
  bool critical = true;
  Status status = Status::unknown;
};
/// A service's health from its checks, judged the same by `medic check`, `medic status` and
/// the agent: a critical check that is unhealthy makes it unhealthy; any other check not
/// healthy (a non-critical failure, a warning, an unknown) only degrades it.
Status serviceHealth(const std::vector<CheckVerdict>& checks);
/// What one check's verdict makes of its service by that rule: unhealthy, degraded, or
/// nothing (healthy). (The agent keeps a count of each as results come.)
Status weight(const CheckVerdict& check);

/// One performance figure from a Nagios plugin: 'label'=value[UOM];warn;crit;min;max
struct PerfDatum {
  std::string label;
  double value = 0;
  std::string unit;
  std::optional<double> warn{}, crit{}, min{}, max{};
};

struct CheckResult {
  Status status = Status::unknown;
  std::string message;  ///< short, human, valid UTF-8
  Duration duration{};  ///< filled in by the runner
  std::vector<PerfDatum> perfdata;

  static CheckResult healthy(std::string message) { return {Status::healthy, std::move(message), {}, {}}; }
  static CheckResult degraded(std::string message) { return {Status::degraded, std::move(message), {}, {}}; }
  static CheckResult unhealthy(std::string message) { return {Status::unhealthy, std::move(message), {}, {}}; }
  static CheckResult unknown(std::string message) { return {Status::unknown, std::move(message), {}, {}}; }
};

using ResultCallback = std::function<void(CheckResult)>;

/// One run of a check in flight. Destroying it before it reports cancels it and releases
/// everything it holds (sockets, transfers, child processes).
class Probe {
 public:
  virtual ~Probe() = default;
  /// What the probe is waiting on, for the timeout message ("connecting", "reading").
  virtual std::string stage() const { return {}; }
};

struct ProbeEnv;

/// A value a check type measures and reports in CheckResult::perfdata under `name`, in
/// `unit`: "s" seconds, "B" bytes, "%" percent, "c" a counter that only grows, "" a number.
struct ValueInfo {
  std::string_view name;
  std::string_view unit;
};

class Check {
 public:
  virtual ~Check() = default;
  /// The values every run reports (when it could measure them), for rules and the docs.
  virtual std::vector<ValueInfo> values() const { return {}; }
  /// True when the values are only known at run time (a plugin's perfdata labels).
  virtual bool valuesFromOutput() const { return false; }
  /// What is probed, for tables and logs: "GET http://127.0.0.1:8080/health".
  virtual std::string target() const = 0;
  /// The server a run connects to, "host:port"; empty for a check that connects nowhere.
  /// The scheduler does not gather many runs at one server into the same instant.
  virtual std::string server() const { return {}; }
  /// Starts one probe. `done` is called exactly once, possibly before start() returns
  /// (checks that need no waiting, like disk, answer at once), unless the probe is
  /// destroyed first. The runner enforces `deadline`; probes may also use it.
  virtual std::unique_ptr<Probe> start(ProbeEnv& env, TimePoint deadline, ResultCallback done) const = 0;
};

/// Where a check is configured, for the types that need their own address: a heartbeat is
/// pushed to "SERVICE/CHECK", and by default only the processes of the service's unit may
/// push it.
struct CheckContext {
  std::string service;
  std::string check;
  std::string unit;  ///< empty for a host-wide check
};

/// How much an alert matters: a sink takes those at or above its `min_severity`.
enum class Severity { info, warning, critical };
std::string_view toString(Severity s);

/// A statistic of a value over a rule's window.
enum class Stat { last, avg, min, max, p50, p90, p95, p99, rate };
std::string_view toString(Stat s);

/// A rule over a window of one of a check's values (`rules:`): "p95 of time over 5m above
/// 800ms for 1m" makes the check `then` while it holds. Judged by RuleBook (checks/rules.h).
struct RuleSpec {
  std::string name;              ///< optional: what a recovery ladder's `when:` calls it
  std::string value;             ///< a value the check reports (ValueInfo::name, or a plugin's label)
  std::string unit;              ///< that value's unit, for reading thresholds and writing sentences
  Stat stat = Stat::last;
  Duration over{};               ///< the window; zero for `last`
  bool above = true;             ///< above `threshold`, or below it
  double threshold = 0;
  Duration holdFor{};            ///< `for:` the condition must hold this long before the rule fires
  int minSamples = 1;            ///< fewer samples in the window: the rule cannot fire
  Status then = Status::degraded;
  /// "p95 of time over 5m above 800ms" (as configured).
  std::string describe() const;
};

/// A check as configured: how often and how long it runs, how it counts, and the Check.
struct CheckSpec {
  std::string name;
  std::string type;
  Duration interval = std::chrono::seconds(30);
  Duration timeout = std::chrono::seconds(5);
  std::optional<Duration> initialDelay;  ///< unset: first run spread over the first interval
  /// After a failed run, the next one comes this long after it instead of at its next slot
  /// (shorter than `interval`), until a run passes: the threshold is reached sooner.
  std::optional<Duration> failingInterval;
  bool critical = true;                  ///< non-critical failures degrade, never recover
  std::optional<Severity> severity;      ///< the service's health alert when this check fails
  /// An `unknown` result (a plugin missing, crashing, or saying UNKNOWN) counts as a failure:
  /// it starts recovery like `unhealthy`. Default: it only degrades the service.
  bool unknownIsFailure = false;
  /// How a result counts for the service's health and its recovery.
  Status judged(Status s) const {
    return unknownIsFailure && s == Status::unknown ? Status::unhealthy : s;
  }
  std::shared_ptr<const checks::Check> check;
  std::vector<RuleSpec> rules;  ///< judged over windows of the check's values
  Position where;
};

}  // namespace medic::checks
