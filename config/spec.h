#pragma once
/// Plain structs for a loaded configuration. Defaults here are the documented defaults
/// (docs/config.md); the loader fills them from YAML and validates them.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <map>

#include "checks/check.h"
#include "runtime/tcp_client.h"
#include "strategies/cause.h"
#include "strategies/step.h"
#include "runtime/duration.h"
#include "runtime/errors.h"

namespace medic::config {

using namespace std::chrono_literals;

struct DiskHeadroom {
  std::string path;
  double minFreePercent = 0;
};

/// Gates checked before every recovery step (the seeds' check-recovery-conditions.sh).
struct ConditionsSpec {
  std::vector<std::string> unitsActive;
  std::vector<DiskHeadroom> diskFree;
  std::optional<double> minMemoryAvailablePercent;
  std::vector<std::string> reachable;  ///< host:port, as written (for messages)
  std::vector<TcpEndpoint> reachablePeers;  ///< the same, parsed once at load
  /// Host checks (the top-level `host:` section) that must not be failing: their latest
  /// result, not a new measurement. A warning (degraded) does not hold a recovery.
  std::vector<std::string> checksHealthy;
  Position checksHealthyAt;
  Duration recheck = 30s;

  bool empty() const {
    return unitsActive.empty() && diskFree.empty() && !minMemoryAvailablePercent && reachable.empty() && checksHealthy.empty();
  }
};

/// One rung of the ladder: which step, how often it is tried, how long it may take.
struct StepSpec {
  std::string kind;  ///< the step's `step:` name (strategies/registry.cpp)
  int attempts = 1;
  Duration timeout = 90s;  ///< for the step's systemd job or command
  std::shared_ptr<const strategies::Step> step;
  /// This step's own gate, instead of the service's `conditions` (see conditionsFor()).
  std::optional<ConditionsSpec> conditions;
  Position where;
};

/// A ladder climbed only for some causes (`recovery: ladders:`): the first whose `when:`
/// names the failure's cause (strategies/cause.h) is climbed instead of the default.
struct LadderSpec {
  std::vector<std::string> when;  ///< cause kinds or groups, check names, rule names
  std::vector<StepSpec> steps;
  Position where;
};

struct RecoverySpec;
/// What gates step `step` of `ladder`: its own `conditions` when it has them; otherwise a
/// failover step nothing (it exists for when the service's conditions do not hold: "the
/// database is down" must not block the switch to the standby), and any other step the
/// service's `conditions`. Fail-back is gated by the service's. nullptr: nothing to check.
const ConditionsSpec* conditionsFor(const RecoverySpec& recovery, const std::vector<StepSpec>& ladder, size_t step);

struct FlappingSpec {
  int maxRecoveries = 5;
  Duration within = 1h;
};

struct RecoverySpec {
  /// The default ladder's index, where a ladder is given by index (chosen(), steps()).
  static constexpr int kDefaultLadder = -1;
  /// The one-step ladder of `on_dependency_restart: restart` (dependencyRestart).
  static constexpr int kDependencyRestart = -2;

  bool enabled = true;
  std::vector<StepSpec> ladder;  ///< the default ladder: restart x2, reload x1 unless given
  std::vector<LadderSpec> ladders;  ///< climbed instead, for the causes their `when:` names
  Duration verifyGrace = 10s;
  Duration cooldown = 5min;
  int maxRounds = 3;
  /// How long the service may be down: a recovery still under way then is an alert of its own.
  std::optional<Duration> rto;
  FlappingSpec flapping;
  ConditionsSpec conditions;
  /// `on_dependency_restart: restart`: one restart, run after medic restarted a dependency
  /// and verified it healthy (for a service that does not reconnect by itself); empty: none.
  std::vector<StepSpec> dependencyRestart;

  /// The ladder `cause` climbs: the first of `ladders` whose `when:` matches it, else the default.
  int chosen(const strategies::Cause& cause) const;
  /// A ladder's steps by index (kDefaultLadder, kDependencyRestart, or one of `ladders`;
  /// out of range: the default).
  const std::vector<StepSpec>& steps(int ladder) const;
  /// Whether `ladder` names a ladder this service has (a saved index may be from before a reload).
  bool hasLadder(int ladder) const;
  /// "ladder 2 (when: config)", "the default ladder", "on_dependency_restart"
  std::string ladderName(int ladder) const;
  /// Every step of every ladder, the default's first (what a step may write, its gates).
  std::vector<const StepSpec*> allSteps() const;
};

/// "N failures within the last M results" instead of N consecutive failures.
struct FailureWindow {
  int failures = 0;
  int of = 0;
};

/// The name the top-level `host:` section goes by: in `medic status`, alerts and journal fields.
inline constexpr const char* kHostName = "host";
/// `depends_on: systemd`: what the unit's own Requires=, BindsTo= and Requisite= say.
inline constexpr const char* kFromSystemd = "systemd";

/// A watched service. The top-level `host:` section is one too, named kHostName, with no
/// unit and no recovery: its checks run, are shown and alert once for the machine, and
/// services' recovery conditions may name them (`checks_healthy`).
struct ServiceSpec {
  std::string name;
  std::string unit;  ///< empty only for the host
  std::vector<checks::CheckSpec> checks;
  int failureThreshold = 3;
  int successThreshold = 1;
  std::optional<FailureWindow> window;
  /// Every alert about this service (unhealthy, gave up, failed over, ...); unset: medic's
  /// defaults (warning, and critical when recovery gives up).
  std::optional<checks::Severity> severity;
  RecoverySpec recovery;
  /// What it needs to work (`depends_on:`): while one of them is down, its failure is put
  /// down to that one and its recovery waits for it.
  struct Dependency {
    std::string name;        ///< another service, or a check of the host section
    bool hostCheck = false;  ///< names a host check (no service has that name)
    Position where;
    /// Where systemd says so (`depends_on: systemd`): "Requires=db.service"; empty: named in
    /// the configuration.
    std::string fromUnit;
  };
  std::vector<Dependency> dependsOn;
  /// `depends_on: systemd` (alone or in the list), where it is written: the services whose
  /// units this unit Requires=, BindsTo= or Requisite= are added (config/loader.h UnitNeeds).
  std::optional<Position> dependsOnSystemd;
  /// The most services one chain of depends_on may hold (db ← app ← worker is 3).
  static constexpr size_t kMaxDependencyChain = 32;
  Position where;

  bool isHost() const { return unit.empty(); }
  /// Every cause a failure of this service can have, one of each kind systemd reports and
  /// one for each critical check and each of its rules: which ladder each climbs is what
  /// `medic plan` shows and the loader checks.
  std::vector<strategies::Cause> possibleCauses() const;
};

struct AgentSpec {
  std::string stateDir = "/var/lib/medic";
  std::string logLevel = "info";
  Duration timerSlack = 20ms;  ///< checks due within this window share one wake-up
  int maxConcurrentRecoveries = 3;
  std::vector<std::string> include = {"checks.d/*.yaml"};
};

/// One place alerts go (medic.yaml `alerts: sinks:`). The journal is always on and not a sink.
struct SinkSpec {
  std::string name;
  std::string type;  ///< webhook, email, alertmanager
  checks::Severity minSeverity = checks::Severity::info;
  std::vector<std::string> services;  ///< empty: every service (and medic's own alerts)
  int rateMax = 10;                   ///< notifications per `ratePer`; the rest go into one digest; 0: no limit
  Duration ratePer = 1min;
  std::optional<Duration> repeatInterval;  ///< reminders of still-firing alerts
  Duration timeout = 10s;
  /// Notify of a service's first failing run. Default: only once the service's own
  /// failure_threshold (or failure_window) says unhealthy, the judgment that starts recovery.
  bool everyFailure = false;
  /// Hold a service's alerts while its failure is put down to a dependency (depends_on): the
  /// dependency's own alerts page; the symptoms are sent only if they outlast it.
  bool inhibitDependents = true;
  std::string caFile;
  // webhook
  std::string url;  ///< webhook: the URL; email: smtp:// or smtps://
  std::string format = "json";  ///< json or slack
  std::map<std::string, std::string> headers, headerFiles;  ///< header_files: value read from the file
  // email
  std::string starttls = "required";  ///< smtp://: required or off (smtps:// is TLS from the start)
  std::string from;
  std::vector<std::string> to;
  std::string username, passwordFile;
  // alertmanager
  std::vector<std::string> urls;
  Duration resendInterval = 1min;  ///< firing alerts are sent again this often (Alertmanager's resolve_timeout is 5m)
  Position where;
};

struct AlertsSpec {
  Duration maxAge = 24h;  ///< an alert undelivered this long is dropped, and the drop logged
  int maxQueued = 1000;   ///< undelivered notifications kept per receiver; beyond, the oldest is dropped (logged)
  /// A failure's alerts carry the unit's last this many journal lines (0: none).
  int journalLines = 20;
  std::vector<SinkSpec> sinks;
};

/// medic.yaml `http:`: the read-only HTTP endpoints (/metrics, /api/v1/status, /-/healthy).
struct WebSpec {
  bool enabled = false;            ///< on when the section is there, unless `enabled: false`
  std::string address = "127.0.0.1";
  uint16_t port = 9968;            ///< medic's default: loopback only
  std::string certFile, keyFile;   ///< TLS: both or neither (PEM)
  std::string usersFile;           ///< basic auth: "name:hash" lines (bcrypt $2y$/$2b$, SHA-crypt $5$/$6$)
  std::map<std::string, std::string> users;  ///< read from usersFile at load: name -> hash
};

struct Config {
  AgentSpec agent;
  WebSpec http;
  AlertsSpec alerts;
  std::vector<ServiceSpec> services;  ///< the host's first, when there is a `host:` section
  std::vector<std::string> files;  ///< every file read, main file first
  /// Not errors, but likely mistakes ("file:line:col: ladder 2 can never be chosen ..."):
  /// `medic validate` prints them, the agent logs them.
  std::vector<std::string> warnings;

  size_t checkCount() const;
  const ServiceSpec* findService(const std::string& name) const;
  const ServiceSpec* host() const;
};

}  // namespace medic::config
