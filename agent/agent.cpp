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
#include "strategies/unit_jobs.h"
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
    for (const auto& step : s.recovery.ladder)
      for (std::string p : step.step->writes()) {
        // The nearest part of the path that exists tells which mount it will be on.
        while (p.size() > 1 && access(p.c_str(), F_OK) != 0) p = p.substr(0, std::max<size_t>(1, p.rfind('/')));
        struct statvfs st {};
        if (statvfs(p.c_str(), &st) == 0 && (st.f_flag & ST_RDONLY))
          spdlog::error("{}: the {} step will need to write {}, which is read-only to medic; add it to ReadWritePaths= "
                        "in a drop-in (systemctl edit medic)",
                        s.name, step.kind, p);
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
    std::string step = d.step < ladder.size() ? ladder[d.step].kind : "";
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
    st.history.push_back({saved_.nextActionId++, ladder.at(d.step).kind, d.attempt, d.round,
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

void Agent::stepFinished(const std::string& name, strategies::StepOutcome outcome) {
  auto& history = saved_.services[name].history;
  if (!history.empty() && history.back().endedMs == 0) {
    history.back().endedMs = wallClockMs();
    history.back().result = outcome.result == strategies::StepOutcome::Result::done    ? "done"
                            : outcome.result == strategies::StepOutcome::Result::failed ? "failed: " + outcome.detail
                                                                            : "skipped: " + outcome.detail;
  }
  if (Service* s = find(name)) carryOut(name, s->machine->onStepFinished(outcome, host_.loop.now()));
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

void Agent::runStepNow(const std::string& name, const recovery::Decision& d) {
  Service* service = find(name);
  const auto& spec = *service->spec;
  const config::StepSpec& step = spec.recovery.ladder.at(d.step);
  std::string where = "(" + step.kind + " " + std::to_string(d.attempt) + " of " + std::to_string(step.attempts) +
                      ", round " + std::to_string(d.round) + " of " + std::to_string(spec.recovery.maxRounds) + ")";
  strategies::StepRun run{name, spec.unit, step.timeout, where, std::time_t(saved_.services[name].recoveryStartedMs / 1000)};
  step.step->run(steps_, run, [this, name](strategies::StepOutcome o) { stepFinished(name, o); });
}

// The machine moves a failed-over service back to its own unit (fail back), or onto the
// backup again when failing back did not heal it.
void Agent::switchUnits(const std::string& name, const recovery::Decision& d) {
  const auto& spec = *find(name)->spec;
  const auto& step = spec.recovery.ladder.at(d.step);
  const std::string& backup = step.step->unitSwitch()->backupUnit;
  if (d.kind == recovery::Decision::Kind::failBack) {
    spdlog::warn("{}: failing back from {} to {}", name, backup, spec.unit);
    strategies::stopThenStart(systemd_, name, backup, spec.unit, step.timeout, [this, name](strategies::StepOutcome o) { stepFinished(name, o); });
  } else {
    spdlog::warn("{}: going back to {}", name, backup);
    strategies::stopThenStart(systemd_, name, spec.unit, backup, step.timeout, [](strategies::StepOutcome) {});
  }
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
    verifier_.run(c->check, c->timeout, [this, name, round, check = c->name](checks::CheckResult r) {
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
    verifier_.run(probe, 2s, [done, target, i = slot++](checks::CheckResult r) {
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
