#include "agent/agent.h"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <glob.h>
#include <nlohmann/json.hpp>

#include "recovery/journal.h"
#include "checks/exec_check.h"
#include "checks/tcp_check.h"
#include "strategies/restore_step.h"
#include "config/loader.h"
#include "runtime/path_rules.h"

namespace medic::agent {

using checks::Status;
using namespace std::chrono_literals;

namespace {
constexpr Duration kSystemdDownAlertAfter = std::chrono::seconds(10);
double millis(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
}  // namespace

Agent::Agent(std::string configPath, config::Config config, AgentOptions options)
    : configPath_(std::move(configPath)),
      options_(std::move(options)),
      systemd_(host_.loop, options_.systemd),
      store_(config.agent.stateDir) {
  verifier_ = std::make_unique<checks::ProbeRunner>(host_.env);
  apply(std::make_unique<config::Config>(std::move(config)));
  alerter_ = std::make_unique<alerts::Alerter>(host_.loop, host_.curl, config_->alerts, config_->agent.stateDir, alerts::hostName());
}

void Agent::apply(std::unique_ptr<config::Config> config) {
  std::map<std::string, Service> services;
  serviceOfUnit_.clear();
  for (const auto& s : config->services) {
    auto old = services_.find(s.name);
    Service& service = services[s.name];
    service.spec = &s;
    if (old != services_.end()) {
      // The same service: what medic knows about it carries over to the new settings.
      service.machine = std::move(old->second.machine);
      service.machine->setSpec(s);
      service.timer = std::move(old->second.timer);
      service.stepDelay = std::move(old->second.stepDelay);
      service.unit = old->second.unit;
      for (const auto& c : s.checks)
        if (auto st = old->second.lastStatus.find(c.name); st != old->second.lastStatus.end())
          service.lastStatus[c.name] = st->second;
      for (const auto& c : s.checks)
        if (auto r = old->second.lastResult.find(c.name); r != old->second.lastResult.end())
          service.lastResult[c.name] = r->second;
    } else {
      service.machine = std::make_unique<recovery::RecoveryMachine>(s, host_.loop.now());
    }
    serviceOfUnit_[s.unit] = s.name;
  }
  // Checks start afresh on the new schedule; runs in flight under the old one are cancelled.
  if (runner_) {
    pastStarted_ += runner_->started();
    const auto& late = runner_->latenessMicros();
    pastLateness_.insert(pastLateness_.end(), late.begin(), late.end());
  }
  runner_ = std::make_unique<checks::CheckRunner>(host_.loop, host_.env, config->agent.timerSlack,
                                          [this](const checks::ScheduledCheck& c, const checks::CheckResult& r) { onCheckResult(c, r); });
  for (const auto& s : config->services)
    for (const auto& c : s.checks) runner_->add(s.name, c);
  services_ = std::move(services);
  if (alerter_) alerter_->setSpec(config->alerts);
  config_ = std::move(config);  // the old specs die only now, after nothing refers to them
  std::vector<std::string> gone;
  for (const auto& [name, _] : recoverWaiters_)
    if (!services_.count(name)) gone.push_back(name);
  for (const auto& name : gone) answerRecoverWaiters(name);
}

// Paths a recovery step will write. Under medic.service's ProtectSystem=strict they are
// read-only unless listed in ReadWritePaths=; say so now rather than in the middle of a
// recovery.
static void reportReadOnlyStepPaths(const config::Config& config) {
  for (const auto& s : config.services)
    for (const auto& step : s.recovery.ladder) {
      std::vector<std::string> paths;
      if (auto* r = std::get_if<config::RestartStep>(&step.details)) {
        for (const auto& g : r->cleanup) paths.push_back(g.substr(0, g.rfind('/')));
        if (!r->pidfile.empty()) paths.push_back(r->pidfile.substr(0, r->pidfile.rfind('/')));
      } else if (auto* r = std::get_if<config::RestoreStep>(&step.details)) {
        if (!r->configDir.empty()) paths.push_back(r->configDir);
        paths.insert(paths.end(), r->dataDirs.begin(), r->dataDirs.end());
        paths.push_back(r->backupDir);
      }
      for (std::string p : paths) {
        // The nearest part of the path that exists tells which mount it will be on.
        while (p.size() > 1 && access(p.c_str(), F_OK) != 0) p = p.substr(0, std::max<size_t>(1, p.rfind('/')));
        struct statvfs st {};
        if (statvfs(p.c_str(), &st) == 0 && (st.f_flag & ST_RDONLY))
          spdlog::error("{}: the {} step will need to write {}, which is read-only to medic; add it to ReadWritePaths= "
                        "in a drop-in (systemctl edit medic)",
                        s.name, config::toString(step.kind), p);
      }
    }
}

void Agent::reload() {
  sd_notify(0, "RELOADING=1");
  spdlog::info("SIGHUP: reloading the configuration from {}", configPath_);
  auto result = config::loadConfig(configPath_);
  if (!result.config) {
    for (const auto& e : result.errors.all()) spdlog::error("configuration refused: {}", e.str());
    spdlog::error("reload refused ({} error{}): still running the configuration loaded before", result.errors.size(),
                  result.errors.size() == 1 ? "" : "s");
    std::vector<std::string> errors;
    for (const auto& e : result.errors.all()) errors.push_back(e.str());
    alerter_->setOwnProblem("config", alerts::Condition{"MedicConfigReloadRefused", checks::Severity::warning,
                                                "configuration reload refused; still running the one loaded before",
                                                errors, ""});
  } else {
    apply(std::make_unique<config::Config>(std::move(*result.config)));
    reportReadOnlyStepPaths(*config_);
    runner_->start();
    std::vector<std::string> units;
    for (const auto& s : config_->services) units.push_back(s.unit);
    systemd_.watchUnits(units, [this](const std::string& unit, const strategies::UnitState& state) { onUnitChanged(unit, state); });
    spdlog::info("configuration reloaded: {} services, {} checks", config_->services.size(), config_->checkCount());
    alerter_->setOwnProblem("config", std::nullopt);
  }
  sd_notify(0, "READY=1");
  updateStatus();
}

void Agent::updateStatus() {
  int healthy = 0, degraded = 0, unhealthy = 0;
  for (const auto& [name, service] : services_) {
    Status h = serviceHealth(service);
    (h == Status::healthy ? healthy : h == Status::degraded ? degraded : unhealthy)++;
  }
  sd_notifyf(0, "STATUS=%zu services: %d healthy, %d degraded, %d unhealthy", services_.size(), healthy, degraded,
             unhealthy);
}

Agent::~Agent() = default;

void Agent::onCheckResult(const checks::ScheduledCheck& c, const checks::CheckResult& r) {
  auto found = services_.find(c.service);
  if (found == services_.end()) return;
  Service& service = found->second;
  service.lastResult[c.spec.name] = {r, wallClockMs()};
  auto it = service.lastStatus.find(c.spec.name);
  if (it == service.lastStatus.end() || it->second != r.status) {  // only changes are news
    auto level = r.status == Status::healthy ? spdlog::level::info
                 : r.status == Status::degraded ? spdlog::level::warn
                                                : spdlog::level::err;
    std::string from = it == service.lastStatus.end() ? "first result" : std::string(checks::toString(it->second));
    spdlog::log(level, "{}/{}: {} -> {}: {} ({:.1f}ms)", c.service, c.spec.name, from, checks::toString(r.status),
                r.message, millis(r.duration));
    service.lastStatus[c.spec.name] = r.status;
    updateStatus();
    reconcileAlerts(c.service);  // (a check's first result is news too: health becomes known here)
  }
  bool wasPast = service.machine->pastThreshold();
  auto decisions = service.machine->onCheckResult(c.spec.name, c.spec.critical, c.spec.judged(r.status), r.message,
                                                  host_.loop.now());
  // Past the threshold now: the held health alert goes out before the events it causes.
  if (!wasPast && service.machine->pastThreshold()) reconcileAlerts(c.service);
  carryOut(c.service, decisions);
}

void Agent::onUnitChanged(const std::string& unit, const strategies::UnitState& state) {
  auto it = serviceOfUnit_.find(unit);
  if (it == serviceOfUnit_.end()) return;
  Service& service = services_.at(it->second);
  auto level = state.activeState == "failed" ? spdlog::level::err : spdlog::level::info;
  spdlog::log(level, "{}: systemd reports {} {} ({})", service.spec->name, unit, state.activeState, state.subState);
  std::string name = service.spec->name;
  bool changedHealth = service.unit.activeState != state.activeState;
  service.unit.activeState = state.activeState;
  service.unit.subState = state.subState;
  if (changedHealth) {
    updateStatus();
    reconcileAlerts(name);
  }
  carryOut(name, service.machine->onUnitState(state.activeState, state.subState, host_.loop.now()));
  if (state.activeState == "failed") {
    // Will systemd restart it itself? Its Restart= says; without one, act now.
    systemd_.unitState(unit, [this, name](std::optional<strategies::UnitState> now, std::string) {
      Service* s = find(name);
      if (!now || !s) return;  // (the confirm window still covers it)
      carryOut(name, s->machine->onFailedUnitRead(now->activeState, now->restartPolicy, host_.loop.now()));
    });
  }
}

Agent::Service* Agent::find(const std::string& name) {
  auto it = services_.find(name);
  return it == services_.end() ? nullptr : &it->second;
}

void Agent::carryOut(const std::string& name, const std::vector<recovery::Decision>& decisions) {
  Service* service = find(name);
  if (!service) return;
  for (const auto& d : decisions) {
    noteDecision(name, d);
    const auto& ladder = service->spec->recovery.ladder;
    std::string step = d.step < ladder.size() ? std::string(config::toString(ladder[d.step].kind)) : "";
    switch (d.kind) {
      case recovery::Decision::Kind::record:
        lastRecord_[name] = d;
        alertEvent(name, d);
        recovery::recordEvent({name, service->spec->unit, d.event, d.priority, d.message, step, d.attempt, d.round});
        if (d.event == "recovered") {
          const recovery::Figures& f = saved_.services[name].figures;
          recovery::Figures all = saved_.totals();
          spdlog::info("{}: {} recoveries, {} recovered, {} gave up; time to recover: mean {:.1f}s, p95 {:.1f}s "
                       "(all services: {} recoveries, {} recovered, {} gave up; mean {:.1f}s, p95 {:.1f}s)",
                       name, f.recoveries, f.successes, f.gaveUp, f.meanSeconds(), f.p95Seconds(), all.recoveries,
                       all.successes, all.gaveUp, all.meanSeconds(), all.p95Seconds());
        }
        break;
      case recovery::Decision::Kind::runStep:
        if (recovering_.count(name) || static_cast<int>(recovering_.size()) < config_->agent.maxConcurrentRecoveries) {
          recovering_.insert(name);
          runStep(name, d);
        } else {
          waiting_.emplace_back(name, d);
          recovery::recordEvent({name, service->spec->unit, "queued", 5,
                       "waiting for a recovery slot: " + std::to_string(recovering_.size()) +
                           " services are recovering (max_concurrent_recoveries)",
                       step, d.attempt, d.round});
        }
        break;
      case recovery::Decision::Kind::verify:
        verify(name);
        break;
      case recovery::Decision::Kind::checkConditions:
        checkConditions(name);
        break;
      case recovery::Decision::Kind::failBack:
      case recovery::Decision::Kind::returnToBackup:
        switchUnits(name, d);
        break;
    }
  }
  recovery::Phase phase = service->machine->phase();
  if (phase != recovery::Phase::recovering && phase != recovery::Phase::verifying) releaseSlot(name);
  armTimer(name);
  persist(name, !decisions.empty());
  answerRecoverWaiters(name);
  if (!decisions.empty()) reconcileAlerts(name);
}


// History and figures, kept beside the machine's own state.
void Agent::noteDecision(const std::string& name, const recovery::Decision& d) {
  recovery::ServiceState& st = saved_.services[name];
  if (d.kind == recovery::Decision::Kind::runStep) {
    const auto& ladder = find(name)->spec->recovery.ladder;
    st.history.push_back({saved_.nextActionId++, std::string(config::toString(ladder.at(d.step).kind)), d.attempt, d.round,
                          st.recoveryReason, wallClockMs(), 0, ""});
    while (st.history.size() > recovery::StateStore::kHistoryKept) st.history.pop_front();
    return;
  }
  if (d.kind != recovery::Decision::Kind::record) return;
  // The step's own result says whether it ran; whether it healed is known after its
  // verification, and is added to it.
  if (!st.history.empty() && st.history.back().result == "done") {
    if (d.event == "recovered" || d.event == "failed-over") st.history.back().result = "done, healed";
    else if (d.event == "step-failed" || d.event == "round-failed" || d.event == "gave-up" || d.event == "recovery-stopped")
      st.history.back().result = "done, did not heal";
  }
  if (d.event == "recovery-started") {
    ++st.figures.recoveries;
    st.recoveryStartedMs = wallClockMs();
    st.recoveryReason = d.message.substr(d.message.find(": ") + 2);
  } else if (d.event == "recovered") {
    ++st.figures.successes;
    if (st.recoveryStartedMs) st.figures.recoverySeconds.push_back(double(wallClockMs() - st.recoveryStartedMs) / 1000.0);
    while (st.figures.recoverySeconds.size() > recovery::StateStore::kRecoveryTimesKept)
      st.figures.recoverySeconds.erase(st.figures.recoverySeconds.begin());
  } else if (d.event == "gave-up") {
    ++st.figures.gaveUp;
  }
}

// Runs after every event, so it must be cheap when nothing changed: only a transition (a
// change of phase, round, step, attempt or a step under way) or a decision is worth a write.
// Durations in the snapshot move with time alone and are not a reason to write.
void Agent::persist(const std::string& name, bool decided) {
  Service* s = find(name);
  if (!s) return;
  recovery::MachineSnapshot now = s->machine->snapshot(host_.loop.now());
  recovery::MachineSnapshot& saved = saved_.services[name].machine;
  bool changed = decided || now.phase != saved.phase || now.round != saved.round || now.step != saved.step ||
                 now.attempt != saved.attempt || now.stepRunning != saved.stepRunning;
  saved = std::move(now);
  if (!changed) return;
  // The file says how long ago it was written (saved_at_ms), and the next start ages every
  // service by that: so every service's snapshot must be taken now, not at its own last
  // event (a quiet service's pause otherwise ended later at each restart of medic).
  TimePoint at = host_.loop.now();
  for (const auto& [other, service] : services_)
    if (other != name) saved_.services[other].machine = service.machine->snapshot(at);
  saved_.savedAtMs = wallClockMs();
  std::string error = store_.save(saved_);
  if (!error.empty() && error != lastSaveError_) spdlog::error("cannot save medic's state: {}", error);
  lastSaveError_ = error;
}

void Agent::resumeSavedState() {
  std::string warning;
  recovery::SavedState loaded = store_.load(warning);
  if (!warning.empty()) spdlog::warn("{}", warning);
  saved_.nextActionId = loaded.nextActionId;
  // The saved durations were measured when the file was written; time went on since (while
  // medic ran on without a change to save, and while it was down). A clock set back counts as none.
  Duration down = loaded.savedAtMs > 0 ? std::chrono::milliseconds(std::max<int64_t>(0, wallClockMs() - loaded.savedAtMs))
                                       : Duration::zero();
  for (auto& [name, st] : loaded.services) {
    Service* s = find(name);
    if (!s) continue;  // no longer configured: forgotten
    for (auto& a : st.history)
      if (a.endedMs == 0) {
        a.endedMs = wallClockMs();
        a.result = "interrupted: medic stopped while it ran";
      }
    st.machine = st.machine.agedBy(down);
    saved_.services[name] = st;
    carryOut(name, s->machine->resume(st.machine, host_.loop.now()));
  }
}

void Agent::releaseSlot(const std::string& name) {
  if (!recovering_.erase(name)) return;
  while (!waiting_.empty() && static_cast<int>(recovering_.size()) < config_->agent.maxConcurrentRecoveries) {
    auto [next, d] = waiting_.front();
    waiting_.pop_front();
    Service* s = find(next);
    // It may have healed, or been removed by a reload, while it waited.
    if (!s || s->machine->phase() != recovery::Phase::recovering) continue;
    recovering_.insert(next);
    spdlog::info("{}: a recovery slot is free; going on", next);
    runStep(next, d);
  }
}

void Agent::stepFinished(const std::string& name, recovery::StepOutcome outcome) {
  auto& history = saved_.services[name].history;
  if (!history.empty() && history.back().endedMs == 0) {
    history.back().endedMs = wallClockMs();
    history.back().result = outcome.result == recovery::StepOutcome::Result::done    ? "done"
                            : outcome.result == recovery::StepOutcome::Result::failed ? "failed: " + outcome.detail
                                                                            : "skipped: " + outcome.detail;
  }
  if (Service* s = find(name)) carryOut(name, s->machine->onStepFinished(outcome, host_.loop.now()));
}

// Maps a finished systemd job onto the step's outcome, and says so in the log.
static recovery::StepOutcome jobOutcome(const std::string& service, const std::string& what, const strategies::JobOutcome& o) {
  double ms = std::chrono::duration<double, std::milli>(o.took).count();
  if (o.ok()) {
    spdlog::info("{}: {} done in {:.0f}ms", service, what, ms);
    return {recovery::StepOutcome::Result::done, "done"};
  }
  spdlog::error("{}: {} ended '{}'{}{} after {:.0f}ms", service, what, o.result, o.error.empty() ? "" : ": ", o.error, ms);
  return {recovery::StepOutcome::Result::failed, "systemd's job ended '" + o.result + "'" + (o.error.empty() ? "" : ": " + o.error)};
}

void Agent::runStep(const std::string& name, const recovery::Decision& d) {
  Service* service = find(name);
  if (d.after <= Duration::zero()) return runStepNow(name, d);
  service->stepDelay = host_.loop.addTimer(host_.loop.now() + d.after, 10ms, [this, name, d] {
    Service* s = find(name);
    if (!s) return;
    recovery::Decision now = d;
    now.after = Duration::zero();
    runStepNow(name, now);
  });
}

void Agent::startUnit(const std::string& name, strategies::JobKind kind, const std::string& unit, Duration timeout,
                      std::function<void(strategies::JobOutcome)> done) {
  // systemd's start limit (StartLimitBurst starts within StartLimitIntervalSec) refuses a
  // start without trying it, and would turn a crash loop into an outage until the interval
  // ends. Its Result= says start-limit-hit only when the unit had not failed already, so the
  // sign read here is the unit's own: the job failed, and the unit never began to start.
  systemd_.unitState(unit, [this, name, kind, unit, timeout, done](std::optional<strategies::UnitState> before, std::string) {
    uint64_t lastStart = before ? before->inactiveExitUs : 0;
    systemd_.runJob(kind, unit, timeout, [this, name, kind, unit, timeout, done, lastStart](strategies::JobOutcome o) {
      if (o.ok() || o.result != "failed") return done(std::move(o));
      systemd_.unitState(unit, [this, name, kind, unit, timeout, done, o, lastStart](std::optional<strategies::UnitState> st, std::string) {
        bool refused = st && (st->result == "start-limit-hit" || (st->activeState == "failed" && st->inactiveExitUs == lastStart));
        if (!refused) return done(o);
        // medic's own flapping limit still bounds how often it recovers: resetting is not
        // overriding a crash loop, and it is said.
        spdlog::warn("{}: {} hit systemd's start limit (\"Start request repeated too quickly\"); resetting it "
                     "(systemctl reset-failed {}) and trying once more: medic's own flapping limit still applies",
                     name, unit, unit);
        systemd_.resetFailed(unit, [this, name, kind, unit, timeout, done, o](std::string error) {
          if (!error.empty()) {
            spdlog::error("{}: cannot reset {}'s start limit: {}", name, unit, error);
            return done(o);
          }
          systemd_.runJob(kind, unit, timeout, done);
        });
      });
    });
  });
}

void Agent::runStepNow(const std::string& name, const recovery::Decision& d) {
  Service* service = find(name);
  const auto& spec = *service->spec;
  const config::StepSpec& step = spec.recovery.ladder.at(d.step);
  const std::string& unit = spec.unit;
  std::string where = "(" + std::string(config::toString(step.kind)) + " " + std::to_string(d.attempt) + " of " +
                      std::to_string(step.attempts) + ", round " + std::to_string(d.round) + " of " +
                      std::to_string(spec.recovery.maxRounds) + ")";
  switch (step.kind) {
    case config::StepKind::restart: {
      const auto& restart = std::get<config::RestartStep>(step.details);
      if (!restart.cleanup.empty() || !restart.pidfile.empty()) return restartWithCleanup(name, step, restart);
      spdlog::info("{}: restarting {} {}", name, unit, where);
      startUnit(name, strategies::JobKind::restart, unit, step.timeout, [this, name, unit](strategies::JobOutcome o) {
        stepFinished(name, jobOutcome(name, "restart of " + unit, o));
      });
      return;
    }
    case config::StepKind::reload:
      // Only a unit with a reload command can be reloaded; otherwise the step does not apply.
      systemd_.unitState(unit, [this, name, unit, where, timeout = step.timeout](std::optional<strategies::UnitState> st,
                                                                                 std::string error) {
        if (!st) return stepFinished(name, {recovery::StepOutcome::Result::failed, "cannot read " + unit + ": " + error});
        if (!st->canReload) {
          spdlog::info("{}: {} has no reload command; skipping the reload step", name, unit);
          return stepFinished(name, {recovery::StepOutcome::Result::skipped, unit + " has no reload command"});
        }
        if (st->activeState != "active") {  // nothing runs that could re-read its config
          spdlog::info("{}: {} is {}; skipping the reload step", name, unit, st->activeState);
          return stepFinished(name, {recovery::StepOutcome::Result::skipped, unit + " is " + st->activeState + ", not running"});
        }
        spdlog::info("{}: reloading {} {}", name, unit, where);
        systemd_.runJob(strategies::JobKind::reload, unit, timeout, [this, name, unit](strategies::JobOutcome o) {
          stepFinished(name, jobOutcome(name, "reload of " + unit, o));
        });
      });
      return;
    case config::StepKind::restore:
      return restore(name, step, where);
    case config::StepKind::exec:
      return execStep(name, step, where);
    case config::StepKind::failover: {
      const auto& f = std::get<config::FailoverStep>(step.details);
      spdlog::warn("{}: failing over from {} to {} {}", name, unit, f.backupUnit, where);
      stopThenStart(name, unit, f.backupUnit, step.timeout, [this, name](recovery::StepOutcome o) {
        o.primaryDown = true;
        stepFinished(name, o);
      });
      return;
    }
  }
}

// Stops one unit, then starts the other: failover (primary -> backup) and back.
void Agent::stopThenStart(const std::string& name, const std::string& stop, const std::string& start, Duration timeout,
                          std::function<void(recovery::StepOutcome)> done) {
  systemd_.runJob(strategies::JobKind::stop, stop, timeout, [this, name, stop, start, timeout, done](strategies::JobOutcome o) {
    recovery::StepOutcome stopped = jobOutcome(name, "stop of " + stop, o);
    if (stopped.result != recovery::StepOutcome::Result::done) return done(stopped);
    startUnit(name, strategies::JobKind::start, start, timeout, [name, start, done](strategies::JobOutcome o) {
      done(jobOutcome(name, "start of " + start, o));
    });
  });
}

void Agent::switchUnits(const std::string& name, const recovery::Decision& d) {
  const auto& spec = *find(name)->spec;
  const auto& step = spec.recovery.ladder.at(d.step);
  const auto& f = std::get<config::FailoverStep>(step.details);
  if (d.kind == recovery::Decision::Kind::failBack) {
    spdlog::warn("{}: failing back from {} to {}", name, f.backupUnit, spec.unit);
    stopThenStart(name, f.backupUnit, spec.unit, step.timeout, [this, name](recovery::StepOutcome o) { stepFinished(name, o); });
  } else {
    spdlog::warn("{}: going back to {}", name, f.backupUnit);
    stopThenStart(name, spec.unit, f.backupUnit, step.timeout, [](recovery::StepOutcome) {});
  }
}

// An operator's own command, run exactly as an exec check runs (as its user, in its own
// process group, killed at the step's timeout, output capped): exit 0 is success.
void Agent::execStep(const std::string& name, const config::StepSpec& step, const std::string& where) {
  const auto& e = std::get<config::ExecStep>(step.details);
  checks::ExecSpec spec;
  spec.command = e.command;
  spec.user = e.user;
  if (!checks::resolveUser(e.user, spec)) {
    spdlog::error("{}: exec step: unknown user '{}'", name, e.user);
    host_.loop.post([this, name, user = e.user] { stepFinished(name, {recovery::StepOutcome::Result::failed, "unknown user '" + user + "'"}); });
    return;
  }
  std::string line;
  for (const auto& a : e.command) line += (line.empty() ? "" : " ") + a;
  spdlog::warn("{}: running '{}' as {} {}", name, line, e.user, where);
  auto command = std::make_shared<checks::ExecCheck>(std::move(spec));
  verifier_->run(command, step.timeout, [this, name](checks::CheckResult r) {
    bool ok = r.status == Status::healthy;
    spdlog::log(ok ? spdlog::level::info : spdlog::level::err, "{}: exec step {}: {}", name, ok ? "done" : "failed", r.message);
    stepFinished(name, {ok ? recovery::StepOutcome::Result::done : recovery::StepOutcome::Result::failed, r.message});
  });
}

// stop; the file work on a worker thread (it may be large); start.
void Agent::restore(const std::string& name, const config::StepSpec& step, const std::string& where) {
  const std::string unit = find(name)->spec->unit;
  auto work = std::make_shared<strategies::RestoreStep>(std::get<config::RestoreStep>(step.details));
  std::time_t recoveryStart = std::time_t(saved_.services[name].recoveryStartedMs / 1000);
  if (auto why = work->check()) {
    spdlog::error("{}: restore refused: {}", name, *why);
    host_.loop.post([this, name, why = *why] { stepFinished(name, {recovery::StepOutcome::Result::failed, "restore refused: " + why}); });
    return;
  }
  spdlog::warn("{}: restoring {} {}: stopping it", name, unit, where);
  systemd_.runJob(strategies::JobKind::stop, unit, step.timeout, [this, name, unit, work, recoveryStart, timeout = step.timeout](strategies::JobOutcome o) {
    recovery::StepOutcome stopped = jobOutcome(name, "stop of " + unit, o);
    if (stopped.result != recovery::StepOutcome::Result::done) return stepFinished(name, stopped);
    auto lines = std::make_shared<std::vector<std::string>>();  // logged back on the loop
    background_.run(
        [work, lines, recoveryStart] {
          auto error = work->run([&](const std::string& line) { lines->push_back(line); }, recoveryStart);
          return error.value_or("");
        },
        [this, name, unit, lines, timeout](std::string error) {
          for (const auto& line : *lines) spdlog::warn("{}: restore: {}", name, line);
          if (!error.empty()) {
            spdlog::error("{}: restore failed: {}", name, error);
            return stepFinished(name, {recovery::StepOutcome::Result::failed, "restore failed: " + error});
          }
          startUnit(name, strategies::JobKind::start, unit, timeout, [this, name, unit](strategies::JobOutcome o) {
            stepFinished(name, jobOutcome(name, "start of " + unit, o));
          });
        });
  });
}

// stop; remove the listed leftovers (each path re-checked against the safety rules, never
// following a symlink); start.
void Agent::restartWithCleanup(const std::string& name, const config::StepSpec& step, const config::RestartStep& restart) {
  const std::string unit = find(name)->spec->unit;
  spdlog::info("{}: stopping {} to clean up before starting it again", name, unit);
  systemd_.runJob(strategies::JobKind::stop, unit, step.timeout, [this, name, unit, step, restart](strategies::JobOutcome o) {
    recovery::StepOutcome stopped = jobOutcome(name, "stop of " + unit, o);
    if (stopped.result != recovery::StepOutcome::Result::done) return stepFinished(name, stopped);
    std::vector<std::string> victims;
    for (const auto& pattern : restart.cleanup) {
      if (auto why = checkDestructiveGlob(pattern)) {
        spdlog::error("{}: not cleaning {}: {}", name, pattern, *why);
        continue;
      }
      glob_t g{};
      if (::glob(pattern.c_str(), GLOB_NOSORT, nullptr, &g) == 0)
        for (size_t i = 0; i < g.gl_pathc; ++i) victims.emplace_back(g.gl_pathv[i]);
      globfree(&g);
    }
    if (!restart.pidfile.empty()) victims.push_back(restart.pidfile);
    for (const auto& path : victims) {
      std::error_code ec;
      if (!std::filesystem::exists(std::filesystem::symlink_status(path, ec))) continue;
      auto removed = std::filesystem::remove_all(path, ec);  // removes a symlink itself, never its target
      if (ec) spdlog::error("{}: cannot remove {}: {}", name, path, ec.message());
      else spdlog::info("{}: removed {} ({} entries)", name, path, removed);
    }
    startUnit(name, strategies::JobKind::start, unit, step.timeout, [this, name, unit](strategies::JobOutcome o) {
      stepFinished(name, jobOutcome(name, "start of " + unit, o));
    });
  });
}

void Agent::verify(const std::string& name) {
  Service* service = find(name);
  std::vector<const checks::CheckSpec*> critical;
  for (const auto& c : service->spec->checks)
    if (c.critical) critical.push_back(&c);
  if (critical.empty()) {
    // Nothing to ask but systemd, and the machine already knows the unit is active.
    host_.loop.post([this, name] {
      if (Service* s = find(name)) carryOut(name, s->machine->onVerified(true, s->spec->unit + " is active", host_.loop.now()));
    });
    return;
  }
  // All critical checks at once; passed only when every one is healthy. The message names
  // the failing checks, or all of them when they pass.
  struct Round {
    size_t pending = 0;
    std::vector<std::string> failing, passing;
  };
  auto round = std::make_shared<Round>();
  round->pending = critical.size();
  for (const auto* c : critical)
    verifier_->run(c->check, c->timeout, [this, name, round, check = c->name](checks::CheckResult r) {
      (r.status == Status::healthy ? round->passing : round->failing).push_back(check + ": " + r.message);
      if (--round->pending > 0) return;
      bool passed = round->failing.empty();
      std::string message;
      for (const auto& m : passed ? round->passing : round->failing) message += (message.empty() ? "" : "; ") + m;
      if (Service* s = find(name)) carryOut(name, s->machine->onVerified(passed, message, host_.loop.now()));
    });
}

// The recovery conditions (the seeds' check-recovery-conditions.sh): every listed unit
// active, disk and memory headroom, every listed host:port accepting connections. They are
// evaluated concurrently; the first one not met, in config order, is the reason given.
void Agent::checkConditions(const std::string& name) {
  const config::ConditionsSpec* gate = find(name)->machine->conditionsInForce();
  static const config::ConditionsSpec kNone;
  const config::ConditionsSpec& c = gate ? *gate : kNone;
  struct Pending {
    size_t left = 0;
    std::vector<std::string> unmet;  // one slot per condition, in config order
  };
  auto pending = std::make_shared<Pending>();
  pending->left = c.unitsActive.size() + c.reachable.size() + 1;  // +1: the synchronous ones below
  pending->unmet.resize(pending->left);
  auto done = [this, name, pending](size_t slot, std::string unmet) {
    pending->unmet[slot] = std::move(unmet);
    if (--pending->left > 0) return;
    std::string why;
    for (const auto& u : pending->unmet)
      if (!u.empty()) {
        why = u;
        break;
      }
    if (Service* s = find(name)) carryOut(name, s->machine->onConditions(why.empty(), why, host_.loop.now()));
  };
  size_t slot = 0;
  for (const auto& unit : c.unitsActive)
    systemd_.unitState(unit, [done, unit, i = slot++](std::optional<strategies::UnitState> st, std::string error) {
      if (!st) return done(i, "cannot read " + unit + ": " + error);
      done(i, st->activeState == "active" ? "" : unit + " is " + st->activeState);
    });
  for (const auto& target : c.reachable) {
    size_t colon = target.rfind(':');
    checks::TcpSpec spec;
    spec.host = target.substr(0, colon);
    spec.port = std::atoi(target.c_str() + colon + 1);
    auto probe = std::make_shared<checks::TcpCheck>(std::move(spec));
    verifier_->run(probe, 2s, [done, target, i = slot++](checks::CheckResult r) {
      done(i, r.status == Status::healthy ? "" : target + " is unreachable: " + r.message);
    });
  }
  std::string local;
  for (const auto& d : c.diskFree) {
    struct statvfs st {};
    if (statvfs(d.path.c_str(), &st) != 0) {
      local = "cannot stat " + d.path;
      break;
    }
    double freePercent = st.f_blocks ? 100.0 * double(st.f_bavail) / double(st.f_blocks) : 0;
    if (freePercent < d.minFreePercent) {
      local = fmt::format("only {:.1f}% free on {} (needs {:.0f}%)", freePercent, d.path, d.minFreePercent);
      break;
    }
  }
  if (local.empty() && c.minMemoryAvailablePercent) {
    std::ifstream meminfo("/proc/meminfo");
    std::string key;
    double value = 0, total = 0, available = 0;
    std::string unit;
    while (meminfo >> key >> value >> unit) {
      if (key == "MemTotal:") total = value;
      if (key == "MemAvailable:") available = value;
    }
    double percent = total > 0 ? 100.0 * available / total : 0;
    if (percent < *c.minMemoryAvailablePercent)
      local = fmt::format("only {:.1f}% memory available (needs {:.0f}%)", percent, *c.minMemoryAvailablePercent);
  }
  done(slot, local);
}

void Agent::armTimer(const std::string& name) {
  Service* service = find(name);
  if (!service) return;
  auto when = service->machine->wakeAt();
  if (!when) return service->timer.disable();
  if (service->timer) return service->timer.rearm(*when);
  service->timer = host_.loop.addTimer(*when, 1ms, [this, name] {
    if (Service* s = find(name)) carryOut(name, s->machine->onTimer(host_.loop.now()));
  });
}

int Agent::run() {
  auto stop = [this](const char* why) {
    spdlog::info("{}: stopping", why);
    host_.loop.exit(0);
  };
  signals_.push_back(host_.loop.addSignal(SIGTERM, [stop] { stop("SIGTERM"); }));
  signals_.push_back(host_.loop.addSignal(SIGINT, [stop] { stop("SIGINT"); }));
  signals_.push_back(host_.loop.addSignal(SIGHUP, [this] { reload(); }));
  if (options_.exitAfter)
    exitTimer_ = host_.loop.addTimer(host_.loop.now() + *options_.exitAfter, 1ms, [stop] { stop("--exit-after elapsed"); });

  std::vector<std::string> units;
  for (const auto& s : config_->services) units.push_back(s.unit);
  systemd_.watchUnits(units, [this](const std::string& unit, const strategies::UnitState& state) { onUnitChanged(unit, state); });
  systemd_.onConnectionChange([this](bool up, const std::string& why) {
    if (up) {
      systemdDown_.reset();
      return alerter_->setOwnProblem("systemd", std::nullopt);
    }
    if (systemdDown_) return;
    systemdDown_ = host_.loop.addTimer(host_.loop.now() + kSystemdDownAlertAfter, 100ms, [this, why] {
      alerter_->setOwnProblem("systemd", alerts::Condition{"MedicSystemdUnreachable", checks::Severity::critical,
                                                   "medic has not reached systemd over D-Bus for " +
                                                       formatDuration(kSystemdDownAlertAfter) + " (" + why +
                                                       "): failures are seen by checks only, and no step can run",
                                                   {}, ""});
    });
  });
  systemd_.connect();  // on failure it keeps retrying; checks run meanwhile
  resumeSavedState();
  control_ = std::make_unique<control::ControlServer>(host_.loop, options_.systemd.busAddress, static_cast<control::ControlHandler&>(*this));
  control_->start();  // on failure it keeps retrying; medic runs without it meanwhile
  alerter_->start();
  reportReadOnlyStepPaths(*config_);
  runner_->start();
  host_.loop.enableWatchdog();
  spdlog::info("medic running: {} services, {} checks from {}", config_->services.size(), config_->checkCount(), configPath_);
  sd_notify(0, "READY=1");
  updateStatus();
  int rc = host_.loop.run();
  sd_notify(0, "STOPPING=1");
  for (auto& [name, waiters] : recoverWaiters_)
    for (auto& done : waiters) done(false, "medic stopped before the step was verified");
  recoverWaiters_.clear();
  writeReport();
  return rc < 0 ? 1 : 0;
}

void Agent::writeReport() const {
  if (options_.reportFile.empty()) return;
  std::vector<uint32_t> late = pastLateness_;
  late.insert(late.end(), runner_->latenessMicros().begin(), runner_->latenessMicros().end());
  std::sort(late.begin(), late.end());
  auto pct = [&](double p) { return late.empty() ? 0.0 : late[std::min(late.size() - 1, size_t(p * late.size()))] / 1000.0; };
  nlohmann::json report = {{"checks_started", pastStarted_ + runner_->started()},
                           {"lateness_ms", {{"p50", pct(0.50)}, {"p99", pct(0.99)}, {"max", pct(1.0)}}}};
  std::ofstream(options_.reportFile) << report.dump(2) << "\n";
}

}  // namespace medic::agent
