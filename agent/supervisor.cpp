#include "agent/supervisor.h"

#include "runtime/logging.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "recovery/conditions.h"
#include "recovery/journal.h"
#include "strategies/unit_jobs.h"

namespace medic::agent {

using checks::Status;
using recovery::Decision;
using namespace std::chrono_literals;

Supervisor::Supervisor(Clock& clock, strategies::StepEnv& steps, recovery::StateStore store, Listener listener)
    : clock_(clock), steps_(steps), listener_(std::move(listener)), store_(std::move(store)) {}

void Supervisor::apply(const config::Config& config) {
  std::map<std::string, Service> services;
  serviceOfUnit_.clear();
  dependents_.clear();
  for (const auto& s : config.services) {
    auto old = services_.find(s.name);
    Service* before = old != services_.end() ? &old->second : nullptr;
    Service& service = services[s.name];
    service.spec = &s;
    if (before) {
      // The same service: what medic knows about it carries over to the new settings.
      service.machine = std::move(before->machine);
      service.machine->setSpec(s);
      service.timer = std::move(before->timer);
      service.timerAt = before->timerAt;
      service.stepDelay = std::move(before->stepDelay);
      service.verification = std::move(before->verification);
      service.unit = before->unit;
    } else {
      service.machine = std::make_unique<recovery::RecoveryMachine>(s, clock_.now());
    }
    for (const auto& c : s.checks) {
      Service::CheckState& check = service.checks[c.name];
      check.spec = &c;
      Service::CheckState* was = nullptr;
      if (before)
        if (auto it = before->checks.find(c.name); it != before->checks.end()) was = &it->second;
      if (was) {  // a check that stays keeps its latest result, and its windows: a reload does not restart "for 5m"
        check.last = std::move(was->last);
        auto book = before->rules.find(c.name);
        if (book != before->rules.end() && !c.rules.empty()) {
          book->second.keep(was->spec->rules, c.rules);
          service.rules[c.name] = std::move(book->second);
        }
      }
      if (check.last) {
        ++service.withResult;
        tally(service, c, check.last->result.status, 1);
      }
    }
    if (!s.isHost()) serviceOfUnit_[s.unit] = s.name;
    for (const auto& d : s.dependsOn) {
      auto& those = dependents_[d.hostCheck ? std::string(config::kHostName) : d.name];
      if (those.empty() || those.back() != s.name) those.push_back(s.name);
    }
  }
  services_ = std::move(services);
  maxConcurrentRecoveries_ = config.agent.maxConcurrentRecoveries;
  // What each depends on may have changed: a service held by one it no longer names is
  // verified now.
  for (const auto& s : config.services) tellDependencies(s.name);
}

Supervisor::Service* Supervisor::owned(const std::string& name) {
  auto it = services_.find(name);
  return it == services_.end() ? nullptr : &it->second;
}

const Supervisor::Service* Supervisor::find(const std::string& name) const {
  auto it = services_.find(name);
  return it == services_.end() ? nullptr : &it->second;
}

void Supervisor::pause(const std::string& name, std::optional<TimePoint> until, const std::string& reason, int uid,
                       const std::string& who) {
  LogAbout about(name);
  Service& s = *owned(name);
  recovery::ServiceState& st = saved_.services[name];
  st.pausedByUid = uid;
  st.pausedBy = who;
  st.pauseReason = reason;
  carryOut(name, s.machine->pause(until, (reason.empty() ? "no reason given" : reason) + ", by " + who, clock_.now()));
}

std::string Supervisor::resume(const std::string& name, const std::string& who) {
  LogAbout about(name);
  Service& s = *owned(name);
  if (!s.machine->paused()) return name + " is not paused";
  recovery::ServiceState& st = saved_.services[name];
  st.pausedByUid = -1;
  st.pausedBy.clear();
  st.pauseReason.clear();
  carryOut(name, s.machine->unpause("by " + who, clock_.now()));
  return "";
}

std::string Supervisor::reset(const std::string& name, const std::string& who) {
  LogAbout about(name);
  Service& s = *owned(name);
  std::string refused;
  auto decisions = s.machine->reset("by " + who, clock_.now(), refused);
  if (!refused.empty()) {
    recovery::recordEvent({name, s.spec->unit, std::string(toString(recovery::Event::resetRefused)), 5,
                           "reset by " + who + " refused: " + refused, "", 0, 0});
    return refused;
  }
  carryOut(name, decisions);
  return "";
}

std::string Supervisor::recoverNow(const std::string& name, size_t step, const std::string& who) {
  LogAbout about(name);
  Service& s = *owned(name);
  std::string refused;
  auto decisions = s.machine->recoverNow(step, "requested by " + who, clock_.now(), refused);
  if (refused.empty()) carryOut(name, decisions);
  return refused;
}

std::string Supervisor::failBackNow(const std::string& name, const std::string& who) {
  LogAbout about(name);
  Service& s = *owned(name);
  std::string refused;
  auto decisions = s.machine->failBackNow("requested by " + who, clock_.now(), refused);
  if (refused.empty()) carryOut(name, decisions);
  return refused;
}

void Supervisor::drill(const std::string& name, std::optional<std::string> check) {
  LogAbout about(name);
  Service* s = owned(name);
  if (!s) return;  // (removed by a reload while drilled)
  s->failOnPurpose = check.value_or("");
  saved_.services[name].drill = check.has_value();
}

void Supervisor::keepExcerpt(const std::string& name, std::vector<std::string> lines) {
  if (owned(name)) saved_.services[name].excerpt = std::move(lines);
}

void Supervisor::tally(Service& s, const checks::CheckSpec& c, Status status, int sign) {
  if (status != Status::healthy) {
    if (sign > 0) s.notHealthy.insert(c.name);
    else s.notHealthy.erase(c.name);
    if (c.severity) s.notHealthyOfSeverity[size_t(*c.severity)] += size_t(sign);
  }
  Status weight = checks::weight({c.critical, c.judged(status)});
  if (weight == Status::unhealthy) s.makeUnhealthy += size_t(sign);
  if (weight == Status::degraded) s.makeDegraded += size_t(sign);
}

bool Supervisor::healthKnown(const Service& s) {
  return s.withResult == s.checks.size() && (!s.checks.empty() || s.unit.known());
}

// unhealthy: a critical check fails, or the unit is down (not on purpose); degraded: a
// non-critical check fails, or the service runs on its backup unit; unknown: neither, and a
// check has not answered yet (a healthy answer from the others says nothing of it).
Status Supervisor::health(const Service& s) const {
  // checks::serviceHealth of every check's latest verdict, from the tallies.
  Status worst = s.makeUnhealthy ? Status::unhealthy : s.makeDegraded ? Status::degraded : Status::healthy;
  recovery::Phase phase = s.machine->phase();
  bool failedOver = phase == recovery::Phase::failedOver || phase == recovery::Phase::failingBack;
  if (!failedOver && s.unit.down()) return Status::unhealthy;
  if (worst == Status::unhealthy) return worst;
  if (!healthKnown(s)) return Status::unknown;
  if (failedOver) return checks::worst(worst, Status::degraded);
  return worst;
}

std::array<size_t, 4> Supervisor::healthCounts() const {
  std::array<size_t, 4> counts{};
  for (const auto& [name, s] : services_) ++counts[size_t(health(s))];
  return counts;
}

bool Supervisor::runsWell(const Service& s) const {
  return health(s) == Status::healthy && s.machine->phase() == recovery::Phase::healthy && s.unit.up();
}

checks::CheckResult Supervisor::judge(Service& service, const checks::CheckSpec& c, const checks::CheckResult& measured) {
  // The check's rules judge its values over their windows; their verdict joins the check's.
  checks::CheckResult judged = c.rules.empty() ? measured : service.rules[c.name].judge(c.rules, measured, clock_.now());
  if (service.failOnPurpose == c.name) {  // a drill: failing as told, the service untouched
    judged = measured;
    judged.status = Status::unhealthy;
    judged.message = "failing on purpose for a drill (medic drill); measured: " + measured.message;
  }
  return judged;
}

void Supervisor::remember(const std::string& name, Service& service, Service::CheckState& check, const checks::CheckResult& r) {
  LogAbout about(name, check.spec->name, checks::toString(r.status));
  std::optional<Service::LastResult>& last = check.last;
  bool first = !last;
  bool news = first || last->result.status != r.status;  // only changes are news
  if (news) {
    auto level = r.status == Status::healthy    ? spdlog::level::info
                 : r.status == Status::degraded ? spdlog::level::warn
                                                : spdlog::level::err;
    std::string from = first ? "first result" : std::string(checks::toString(last->result.status));
    spdlog::log(level, "{}/{}: {} -> {}: {} ({:.1f}ms)", name, check.spec->name, from, checks::toString(r.status), r.message,
                millis(r.duration));
  }
  // Tallied by the check's settings as they are now (a result under way across a reload
  // was started by the old ones).
  if (!first) tally(service, *check.spec, last->result.status, -1);
  tally(service, *check.spec, r.status, 1);
  if (first) {
    last.emplace(Service::LastResult{r, clock_.wallNowMs()});
    ++service.withResult;
  } else {
    last->result = r;
    last->atMs = clock_.wallNowMs();
  }
  ++last->runs[size_t(r.status)];
  last->remember(float(std::chrono::duration<double, std::milli>(r.duration).count()));
  if (news) listener_.healthNews(name);  // (a check's first result is news too: health becomes known here)
  if (news && service.spec->isHost())
    wakeConditions([&](const config::ConditionsSpec& c) {
      return std::find(c.checksHealthy.begin(), c.checksHealthy.end(), check.spec->name) != c.checksHealthy.end();
    });
}

void Supervisor::onCheckResult(const std::string& name, const checks::CheckSpec& c, const checks::CheckResult& measured) {
  LogAbout about(name, c.name);
  Service* service = owned(name);
  if (!service) return;
  // A run started before a reload removed its check: its result is of no check now.
  auto now = service->checks.find(c.name);
  if (now == service->checks.end()) {
    spdlog::debug("{}/{}: result dropped, the check was removed by a reload: {}", name, c.name, measured.message);
    return;
  }
  checks::CheckResult r = judge(*service, c, measured);
  remember(name, *service, now->second, r);
  // A rule that made a passing run fail is the failure's cause, not the check's run.
  const checks::RuleSpec* rule = nullptr;
  if (!c.rules.empty() && c.judged(r.status) == Status::unhealthy && c.judged(measured.status) != Status::unhealthy) {
    const auto& states = service->rules[c.name].states();
    for (size_t i = 0; i < states.size() && i < c.rules.size() && !rule; ++i)
      if (states[i].firing && c.judged(c.rules[i].then) == Status::unhealthy) rule = &c.rules[i];
  }
  bool wasPast = service->machine->pastThreshold();
  auto decisions = service->machine->onCheckResult(c.name, c.critical, c.judged(r.status), r.message, clock_.now(), rule);
  // Past the threshold now: the held health alert goes out before the events it causes.
  if (!wasPast && service->machine->pastThreshold()) listener_.healthNews(name);
  carryOut(name, decisions);
}

std::vector<std::string> Supervisor::unitsToWatch() const {
  std::set<std::string> units;
  for (const auto& [name, s] : services_) {
    if (!s.spec->isHost()) units.insert(s.spec->unit);
    units.insert(s.spec->recovery.conditions.unitsActive.begin(), s.spec->recovery.conditions.unitsActive.end());
    for (const auto* step : s.spec->recovery.allSteps())
      if (step->conditions) units.insert(step->conditions->unitsActive.begin(), step->conditions->unitsActive.end());
  }
  return {units.begin(), units.end()};
}

void Supervisor::wakeConditions(const std::function<bool(const config::ConditionsSpec&)>& names) {
  std::vector<std::string> woken;
  for (const auto& [name, s] : services_)
    if (s.machine->phase() == recovery::Phase::blocked)
      if (const config::ConditionsSpec* gate = s.machine->conditionsInForce(); gate && names(*gate)) woken.push_back(name);
  for (const auto& name : woken)
    if (Service* s = owned(name)) carryOut(name, s->machine->onConditionsChanged(clock_.now()));
}

void Supervisor::onUnitChanged(const std::string& unit, const strategies::UnitState& state) {
  wakeConditions([&](const config::ConditionsSpec& c) {
    return std::find(c.unitsActive.begin(), c.unitsActive.end(), unit) != c.unitsActive.end();
  });
  auto it = serviceOfUnit_.find(unit);
  if (it == serviceOfUnit_.end()) return;
  std::string name = it->second;
  LogAbout about(name);
  Service& service = services_.at(name);
  auto level = state.failed() ? spdlog::level::err : spdlog::level::info;
  spdlog::log(level, "{}: systemd reports {} {}{}", name, unit, state.words(),
              state.jobQueued ? ", a job queued" : "");
  bool changedHealth = service.unit.activeState != state.activeState;
  if (changedHealth && state.up()) service.upSince = clock_.now();
  service.unit.activeState = state.activeState;
  service.unit.subState = state.subState;
  if (changedHealth) listener_.healthNews(name);
  carryOut(name, service.machine->onUnitState(state, clock_.now()));
  if (state.failed()) {
    // Will systemd restart it itself? Its Restart= says; without one, act now.
    steps_.systemd.unitState(unit, [this, name](std::optional<strategies::UnitState> now, std::string) {
      Service* s = owned(name);
      if (!now || !s) return;  // (the confirm window still covers it)
      carryOut(name, s->machine->onFailedUnitRead(*now, clock_.now()));
      listener_.healthNews(name);  // why it failed is known now: its alert may go
    });
  }
}

void Supervisor::carryOut(const std::string& name, const std::vector<Decision>& decisions) {
  LogAbout about(name);
  Service* service = owned(name);
  if (!service) return;
  bool restarted = false;  // medic restarted the unit and verified it: on_dependency_restart follows
  for (const auto& d : decisions) {
    noteDecision(name, d);
    const auto& ladder = service->machine->ladder();
    std::string step = d.step < ladder.size() ? ladder[d.step].kind : "";
    if (d.kind == Decision::Kind::record && d.event == recovery::Event::recovered && d.step < ladder.size())
      restarted = restarted || ladder[d.step].step->restartsUnit();
    switch (d.kind) {
      case Decision::Kind::record:
        recovery::recordEvent({name, service->spec->unit, std::string(toString(d.event)), d.priority, d.message, step, d.attempt,
                               d.round, recovery::concernsFailure(d.event) ? &service->machine->cause() : nullptr});
        listener_.recorded(name, d);
        if (d.event == recovery::Event::recovered) {
          const recovery::Figures& f = saved_.services[name].figures;
          recovery::Figures all = saved_.totals();
          spdlog::info("{}: {} recoveries, {} recovered, {} gave up; time to recover: mean {:.1f}s, p95 {:.1f}s "
                       "(all services: {} recoveries, {} recovered, {} gave up; mean {:.1f}s, p95 {:.1f}s)",
                       name, f.recoveries, f.successes, f.gaveUp, f.meanSeconds(), f.p95Seconds(), all.recoveries,
                       all.successes, all.gaveUp, all.meanSeconds(), all.p95Seconds());
        }
        break;
      case Decision::Kind::runStep:
        service->failOnPurpose.clear();  // the drill's failure has done its work: the step is verified by the truth
        if (recovering_.count(name) || static_cast<int>(recovering_.size()) < maxConcurrentRecoveries_) {
          recovering_.insert(name);
          runStep(name, d);
        } else {
          waiting_.emplace_back(name, d);
          recovery::recordEvent({name, service->spec->unit, std::string(toString(recovery::Event::queued)), 5,
                                 "waiting for a recovery slot: " + std::to_string(recovering_.size()) +
                                     " services are recovering (max_concurrent_recoveries)",
                                 step, d.attempt, d.round});
        }
        break;
      case Decision::Kind::verify: verify(name); break;
      case Decision::Kind::checkConditions: checkConditions(name); break;
      case Decision::Kind::failBack:
      case Decision::Kind::returnToBackup: switchUnits(name, d); break;
    }
  }
  recovery::Phase phase = service->machine->phase();
  if (phase != recovery::Phase::recovering && phase != recovery::Phase::verifying) releaseSlot(name);
  armTimer(name);
  watchRto(name);
  persist(name, !decisions.empty());
  listener_.settled(name, !decisions.empty());
  if (restarted) restartDependents(name);  // (before they hear it is up: a held one is restarted, not verified)
  tellDependents(name);
}

// History and figures, kept beside the machine's own state.
void Supervisor::noteDecision(const std::string& name, const Decision& d) {
  recovery::ServiceState& st = saved_.services[name];
  if (d.kind == Decision::Kind::runStep)
    st.stepStarted(saved_.nextActionId++, owned(name)->machine->ladder().at(d.step).kind, d, clock_.wallNowMs());
  else if (d.kind == Decision::Kind::record)
    st.noteEvent(d, clock_.wallNowMs());
}

// Runs after every event, so it must be cheap when nothing changed: only a transition (a
// change of phase, round, step, attempt or a step under way) or a decision is worth a write.
// Durations in the snapshot move with time alone and are not a reason to write.
void Supervisor::persist(const std::string& name, bool decided) {
  Service* s = owned(name);
  if (!s) return;
  recovery::MachineSnapshot now = s->machine->snapshot(clock_.now());
  recovery::MachineSnapshot& saved = saved_.services[name].machine;
  bool changed = decided || now.phase != saved.phase || now.round != saved.round || now.step != saved.step ||
                 now.attempt != saved.attempt || now.stepRunning != saved.stepRunning;
  saved = std::move(now);
  if (!changed) return;
  // The file says how long ago it was written (saved_at_ms), and the next start ages every
  // service by that: so every service's snapshot must be taken now, not at its own last
  // event (a quiet service's pause otherwise ended later at each restart of medic).
  TimePoint at = clock_.now();
  for (const auto& [other, service] : services_)
    if (other != name) saved_.services[other].machine = service.machine->snapshot(at);
  saved_.savedAtMs = clock_.wallNowMs();
  std::string error = store_.save(saved_);
  if (!error.empty() && error != lastSaveError_) spdlog::error("cannot save medic's state: {}", error);
  if (error.empty() && !lastSaveError_.empty()) spdlog::info("medic's state is saved again to {}", store_.path());
  lastSaveError_ = error;
}

void Supervisor::resumeSavedState() {
  std::string warning;
  recovery::SavedState loaded = store_.load(warning);
  if (!warning.empty()) spdlog::warn("{}", warning);
  saved_.nextActionId = loaded.nextActionId;
  // The saved durations were measured when the file was written; time went on since (while
  // medic ran on without a change to save, and while it was down). A clock set back counts as none.
  Duration down = loaded.savedAtMs > 0 ? std::chrono::milliseconds(std::max<int64_t>(0, clock_.wallNowMs() - loaded.savedAtMs))
                                       : Duration::zero();
  for (auto& [name, st] : loaded.services) {
    Service* s = owned(name);
    if (!s) continue;  // no longer configured: forgotten
    for (auto& a : st.history)
      if (a.endedMs == 0) {
        a.endedMs = clock_.wallNowMs();
        a.result = "interrupted: medic stopped while it ran";
      }
    st.machine = st.machine.agedBy(down);
    saved_.services[name] = st;
    carryOut(name, s->machine->resume(st.machine, clock_.now()));
  }
  // A service held when medic stopped waits on as long as its dependency is down, and is
  // verified now if it is up.
  for (const auto& [name, _] : services_) tellDependencies(name);
}

std::optional<std::string> Supervisor::downAsDependency(const Service& s) const {
  const recovery::RecoveryMachine& m = *s.machine;
  const auto& ladder = m.ladder();
  switch (m.phase()) {
    case recovery::Phase::healthy:
    case recovery::Phase::failedOver:
      break;
    case recovery::Phase::recovering:
    case recovery::Phase::verifying:
      if (m.round() > 0 && m.step() < ladder.size())
        return "recovering (" + ladder[m.step()].kind + " " + std::to_string(m.attempt()) + " of " +
               std::to_string(ladder[m.step()].attempts) + ", round " + std::to_string(m.round()) + " of " +
               std::to_string(s.spec->recovery.maxRounds) + ")";
      return std::string("recovering");
    case recovery::Phase::held:
      return "held itself, waiting for " + m.cause().name;
    default:
      return std::string(toString(m.phase()));
  }
  if (health(s) != Status::unhealthy) return std::nullopt;
  for (const auto& check : s.notHealthy)
    if (const auto* r = s.last(check); r && r->result.status == Status::unhealthy)
      return "unhealthy (" + check + ": " + r->result.message + ")";
  if (s.unit.down()) return "unhealthy (" + s.spec->unit + " is " + std::string(strategies::toString(s.unit.activeState)) + ")";
  return std::string("unhealthy");
}

std::optional<strategies::Cause> Supervisor::firstDependencyDown(const Service& s, const std::string& except) const {
  for (const auto& d : s.spec->dependsOn) {
    if (d.name == except) continue;
    if (d.hostCheck) {
      const Service* host = find(config::kHostName);
      const Service::LastResult* last = host ? host->last(d.name) : nullptr;
      if (last && last->result.status == Status::unhealthy)
        return strategies::Cause::ofDependency(d.name, "host check '" + d.name + "' is unhealthy: " + last->result.message);
    } else if (const Service* other = find(d.name)) {
      if (auto why = downAsDependency(*other)) return strategies::Cause::ofDependency(d.name, d.name + " is " + *why);
    }
  }
  return std::nullopt;
}

void Supervisor::tellDependencies(const std::string& name) {
  Service* s = owned(name);
  if (!s || (s->spec->dependsOn.empty() && !s->machine->dependencyDown())) return;
  std::optional<strategies::Cause> down = firstDependencyDown(*s);
  const auto& told = s->machine->dependencyDown();
  bool same = told.has_value() == down.has_value() && (!down || (told->name == down->name && told->words == down->words));
  // Held with nothing down: so it was when medic stopped, and the machine has not heard yet.
  bool stillHeld = !down && s->machine->phase() == recovery::Phase::held;
  if (same && !stillHeld) return;
  auto decisions = s->machine->onDependency(std::move(down), clock_.now());
  if (!decisions.empty()) carryOut(name, decisions);
}

void Supervisor::restartDependents(const std::string& name) {
  auto it = dependents_.find(name);
  if (it == dependents_.end()) return;
  for (const auto& dependent : it->second) {
    Service* s = owned(dependent);
    if (!s || s->spec->recovery.dependencyRestart.empty()) continue;
    LogAbout about(dependent);
    std::string refused;
    // (`name` itself is verified, though its checks' latest results may not say so yet)
    if (auto other = firstDependencyDown(*s, name)) refused = "what else it depends on is down: " + other->words;
    auto decisions = refused.empty() ? s->machine->afterDependencyRestart(name, clock_.now(), refused) : std::vector<Decision>{};
    if (!refused.empty()) {
      spdlog::warn("{}: not restarted after {}'s restart (on_dependency_restart: restart): {}", dependent, name, refused);
      continue;
    }
    carryOut(dependent, decisions);
  }
}

void Supervisor::tellDependents(const std::string& name) {
  auto it = dependents_.find(name);
  if (it == dependents_.end()) return;
  for (const auto& dependent : it->second) tellDependencies(dependent);
}

void Supervisor::releaseSlot(const std::string& name) {
  if (!recovering_.erase(name)) return;
  while (!waiting_.empty() && static_cast<int>(recovering_.size()) < maxConcurrentRecoveries_) {
    // In order of waiting, but what others depend on first: their recovery may heal those.
    auto first = std::find_if(waiting_.begin(), waiting_.end(), [this](const auto& w) { return dependents_.count(w.first) > 0; });
    if (first == waiting_.end()) first = waiting_.begin();
    auto [next, d] = *first;
    waiting_.erase(first);
    Service* s = owned(next);
    // It may have healed, or been removed by a reload, while it waited.
    if (!s || s->machine->phase() != recovery::Phase::recovering) continue;
    recovering_.insert(next);
    spdlog::info("{}: a recovery slot is free; going on", next);
    runStep(next, d);
  }
}

void Supervisor::stepFinished(const std::string& name, strategies::StepOutcome outcome) {
  LogAbout about(name);
  saved_.services[name].stepEnded(outcome, clock_.wallNowMs());
  if (Service* s = owned(name)) carryOut(name, s->machine->onStepFinished(outcome, clock_.now()));
}

void Supervisor::runStep(const std::string& name, const Decision& d) {
  Service* service = owned(name);
  if (d.after <= Duration::zero()) return runStepNow(name, d);
  service->stepDelay = clock_.at(clock_.now() + d.after, [this, name, d] {
    if (!owned(name)) return;
    Decision now = d;
    now.after = Duration::zero();
    runStepNow(name, now);
  });
}

void Supervisor::runStepNow(const std::string& name, const Decision& d) {
  LogAbout about(name);
  const auto& spec = *owned(name)->spec;
  const config::StepSpec& step = owned(name)->machine->ladder().at(d.step);
  std::string where = "(" + step.kind + " " + std::to_string(d.attempt) + " of " + std::to_string(step.attempts) +
                      ", round " + std::to_string(d.round) + " of " + std::to_string(spec.recovery.maxRounds) + ")";
  strategies::StepRun run{name, spec.unit, step.timeout, where, std::time_t(saved_.services[name].recoveryStartedMs / 1000)};
  step.step->run(steps_, run, [this, name](strategies::StepOutcome o) { stepFinished(name, o); });
}

// The machine moves a failed-over service back to its own unit (fail back), or onto the
// backup again when failing back did not heal it.
void Supervisor::switchUnits(const std::string& name, const Decision& d) {
  LogAbout about(name);
  const auto& spec = *owned(name)->spec;
  const auto& step = owned(name)->machine->ladder().at(d.step);
  const std::string& backup = step.step->unitSwitch()->backupUnit;
  if (d.kind == Decision::Kind::failBack) {
    spdlog::warn("{}: failing back from {} to {}", name, backup, spec.unit);
    strategies::stopThenStart(steps_.systemd, name, backup, spec.unit, step.timeout,
                              [this, name](strategies::StepOutcome o) { stepFinished(name, o); });
  } else {
    spdlog::warn("{}: going back to {}", name, backup);
    strategies::stopThenStart(steps_.systemd, name, spec.unit, backup, step.timeout, [](strategies::StepOutcome) {});
  }
}

void Supervisor::verify(const std::string& name) {
  LogAbout about(name);
  Service* service = owned(name);
  std::vector<const checks::CheckSpec*> critical;
  for (const auto& c : service->spec->checks)
    if (c.critical) critical.push_back(&c);
  if (critical.empty()) {
    // Nothing to ask but systemd: after a step the machine asks once the unit is active (or
    // down on purpose, failed over); a service held by a dependency passes if its unit is up.
    service->verification = clock_.at(clock_.now(), [this, name] {
      Service* s = owned(name);
      if (!s) return;
      bool passed = s->machine->phase() != recovery::Phase::held || s->unit.up();
      std::string state = s->unit.known() ? std::string(strategies::toString(s->unit.activeState)) : "not known yet";
      carryOut(name, s->machine->onVerified(passed, s->spec->unit + " is " + (passed ? "active" : state), clock_.now()));
    });
    return;
  }
  // All critical checks at once; passed only when every one is healthy. The message names
  // the failing checks, or all of them when they pass.
  // The verification's results are also each check's latest (after the machine has heard the
  // verdict, so a recovery's end is said before its health alert resolves): right after
  // "recovered", status must not show the failure the verification just saw healed.
  struct Round {
    size_t pending = 0;
    std::vector<std::string> failing, passing;
    std::vector<std::pair<std::string, checks::CheckResult>> results;
  };
  auto round = std::make_shared<Round>();
  round->pending = critical.size();
  for (const auto* c : critical)
    steps_.commands.run(c->check, c->timeout, [this, name, round, check = c->name](checks::CheckResult r) {
      (r.status == Status::healthy ? round->passing : round->failing).push_back(check + ": " + r.message);
      round->results.emplace_back(check, r);
      if (--round->pending > 0) return;
      bool passed = round->failing.empty();
      std::string message;
      for (const auto& m : passed ? round->passing : round->failing) message += (message.empty() ? "" : "; ") + m;
      Service* s = owned(name);
      if (!s) return;
      carryOut(name, s->machine->onVerified(passed, message, clock_.now()));
      for (const auto& [checkName, result] : round->results) {
        s = owned(name);  // (a reload may have changed its checks meanwhile)
        if (!s) return;
        auto it = s->checks.find(checkName);
        if (it != s->checks.end()) remember(name, *s, it->second, judge(*s, *it->second.spec, result));
      }
      tellDependents(name);  // (its health may have changed with them)
    });
}

void Supervisor::checkConditions(const std::string& name) {
  static const config::ConditionsSpec kNone;
  const config::ConditionsSpec* gate = owned(name)->machine->conditionsInForce();
  auto hostChecks = [this](const std::string& check) -> std::string {
    const Service* host = owned(config::kHostName);
    const Service::LastResult* last = host ? host->last(check) : nullptr;
    if (!last) return "host check '" + check + "' has no result yet";
    checks::Status status = last->result.status;
    if (status == Status::healthy || status == Status::degraded) return "";
    return "host check '" + check + "' is " + std::string(checks::toString(status)) + ": " + last->result.message;
  };
  recovery::evaluateConditions(gate ? *gate : kNone, steps_.systemd, steps_.commands, hostChecks, [this, name](std::string unmet) {
    if (Service* s = owned(name)) carryOut(name, s->machine->onConditions(unmet.empty(), unmet, clock_.now()));
  });
}

void Supervisor::armTimer(const std::string& name) {
  Service* service = owned(name);
  if (!service) return;
  auto when = service->machine->wakeAt();
  if (when == service->timerAt) return;  // armed for that already (or nothing, as before)
  service->timerAt = when;
  if (!when) return service->timer.reset();
  service->timer = clock_.at(*when, [this, name] {
    Service* s = owned(name);
    if (!s) return;
    s->timerAt.reset();  // fired: the next arm is a new one even for the same time
    carryOut(name, s->machine->onTimer(clock_.now()));
  });
}

// A recovery still under way at the service's rto: is an event of its own (journal, alert)
// and marked in its fault record, while it goes on. The open fault record is the recovery
// under way (it survives a restart of medic, and the timer is armed again for what is left).
void Supervisor::watchRto(const std::string& name) {
  Service* s = owned(name);
  if (!s) return;
  const auto& rto = s->spec->recovery.rto;
  const auto& faults = saved_.services[name].faults;
  bool underWay = !faults.empty() && faults.back().endedMs == 0 && !faults.back().rtoExceeded;
  if (!rto || !underWay) {
    s->rtoTimer.reset();
    s->rtoFor = 0;
    return;
  }
  if (s->rtoFor == faults.back().startedMs) return;  // armed for it already
  s->rtoFor = faults.back().startedMs;
  Duration left = *rto - std::chrono::milliseconds(std::max<int64_t>(0, clock_.wallNowMs() - faults.back().startedMs));
  s->rtoTimer = clock_.at(clock_.now() + std::max(left, Duration::zero()), [this, name] {
    Service* s = owned(name);
    if (!s) return;
    recovery::ServiceState& st = saved_.services[name];
    recovery::Phase phase = s->machine->phase();
    if (st.faults.empty() || st.faults.back().endedMs != 0 || phase == recovery::Phase::healthy ||
        phase == recovery::Phase::failedOver)
      return;
    st.noteRtoExceeded();
    auto d = recovery::Decision::of(recovery::Decision::Kind::record);
    d.event = recovery::Event::rtoExceeded;
    d.priority = 3;
    d.round = s->machine->round();
    d.step = s->machine->step();
    d.attempt = s->machine->attempt();
    d.message = "not recovered within its rto of " + formatDuration(*s->spec->recovery.rto) + ": recovery still under way (" +
                std::string(toString(phase)) + ", round " + std::to_string(d.round) + ")";
    carryOut(name, {d});
  });
}

}  // namespace medic::agent
