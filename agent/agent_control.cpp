// The agent's side of the control interface: what `medic status` shows, and an operator's
// pause, resume, reset and recover. Every change is journalled with who asked and why.
#include <signal.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "agent/agent.h"
#include "agent/status_report.h"
#include "alerts/alert.h"
#include "checks/heartbeat_check.h"
#include "recovery/journal.h"
#include "runtime/text.h"

namespace medic::agent {

Supervisor::Service& Agent::serviceFor(const std::string& name) {
  if (Supervisor::Service* s = supervisor_.find(name)) return *s;
  std::string known;
  for (const auto& [n, _] : supervisor_.services()) known += (known.empty() ? "" : ", ") + n;
  throw control::ControlError(control::kErrorNoSuchService, "no service '" + name + "' in medic's configuration (it has: " +
                                              (known.empty() ? "none" : known) + ")");
}

std::string Agent::status(const std::string& only) {
  if (!only.empty()) serviceFor(only);  // or the error naming the services there are
  return statusJson(supervisor_, only, host_.loop.now());
}

std::string Agent::pause(const std::string& name, Duration length, const std::string& reason, const control::Caller& who) {
  Supervisor::Service& s = serviceFor(name);
  std::string why = (reason.empty() ? "no reason given" : reason) + ", by " + who.describe();
  std::optional<TimePoint> until;
  if (length > Duration::zero()) until = host_.loop.now() + length;
  recovery::ServiceState& st = supervisor_.saved().services[name];
  st.pausedByUid = who.uid;
  st.pausedBy = who.describe();
  st.pauseReason = reason;
  supervisor_.carryOut(name, s.machine->pause(until, why, host_.loop.now()));
  return "paused " + name + (until ? " for " + formatDuration(length) : " until `medic resume " + name + "`") +
         ": checks go on, no recovery starts";
}

std::string Agent::resume(const std::string& name, const control::Caller& who) {
  Supervisor::Service& s = serviceFor(name);
  if (!s.machine->paused()) throw control::ControlError(control::kErrorRefused, name + " is not paused");
  supervisor_.saved().services[name].pausedByUid = -1;
  supervisor_.saved().services[name].pausedBy.clear();
  supervisor_.saved().services[name].pauseReason.clear();
  supervisor_.carryOut(name, s.machine->unpause("by " + who.describe(), host_.loop.now()));
  recovery::Phase phase = s.machine->phase();
  return "resumed " + name + (phase == recovery::Phase::recovering ? ": it is still failing, so its recovery has started" : "");
}

std::string Agent::reset(const std::string& name, const control::Caller& who) {
  Supervisor::Service& s = serviceFor(name);
  std::string refused;
  auto decisions = s.machine->reset("by " + who.describe(), host_.loop.now(), refused);
  if (!refused.empty()) {
    recovery::recordEvent({name, s.spec->unit, std::string(toString(recovery::Event::resetRefused)), 5, "reset by " + who.describe() + " refused: " + refused, "", 0, 0});
    throw control::ControlError(control::kErrorRefused, "cannot reset " + name + ": " + refused);
  }
  supervisor_.carryOut(name, decisions);
  return "reset " + name + ": rounds, attempts, the flapping count and failure streaks start afresh";
}

void Agent::recover(const std::string& name, const std::string& stepName, const control::Caller& who, RecoverDone done) {
  Supervisor::Service& s = serviceFor(name);
  const auto& ladder = s.spec->recovery.ladder;
  size_t step = 0;
  if (stepName == "failback") {
    std::string refused;
    auto decisions = s.machine->failBackNow("requested by " + who.describe(), host_.loop.now(), refused);
    if (!refused.empty()) throw control::ControlError(control::kErrorRefused, "cannot fail " + name + " back now: " + refused);
    recoverWaiters_[name].push_back(std::move(done));
    return supervisor_.carryOut(name, decisions);
  }
  if (!stepName.empty()) {
    auto kind = std::find_if(ladder.begin(), ladder.end(), [&](const config::StepSpec& st) { return st.kind == stepName; });
    if (kind == ladder.end()) {
      std::string has;
      for (const auto& st : ladder) has += (has.empty() ? "" : ", ") + st.kind;
      throw control::ControlError(control::kErrorInvalidArgs, name + " has no " + stepName + " step in its recovery ladder (it has: " +
                                                (has.empty() ? "none" : has) + ")");
    }
    step = size_t(kind - ladder.begin());
  } else if (ladder.empty()) {
    throw control::ControlError(control::kErrorInvalidArgs, name + " has no recovery ladder");
  }
  std::string refused;
  auto decisions = s.machine->recoverNow(step, "requested by " + who.describe(), host_.loop.now(), refused);
  if (!refused.empty()) throw control::ControlError(control::kErrorRefused, "cannot recover " + name + " now: " + refused);
  recoverWaiters_[name].push_back(std::move(done));
  supervisor_.carryOut(name, decisions);
}

// Called after every carryOut: once the requested step is over, its verdict is the last
// event the machine recorded.
void Agent::answerRecoverWaiters(const std::string& name) {
  auto it = recoverWaiters_.find(name);
  if (it == recoverWaiters_.end()) return;
  Supervisor::Service* s = supervisor_.find(name);
  if (s && s->machine->manualStepRunning()) return;
  auto waiters = std::move(it->second);
  recoverWaiters_.erase(it);
  bool healed = false;
  std::string message = s ? "the step ended" : name + " was removed from the configuration";
  if (auto r = lastRecord_.find(name); s && r != lastRecord_.end()) {
    healed = r->second.event == recovery::Event::recovered || r->second.event == recovery::Event::failedBack;
    message = r->second.message;
  }
  for (auto& done : waiters) done(healed, message);
}

std::string Agent::heartbeat(const std::string& name, const std::string& check, const std::string& status,
                             const std::string& message, const control::Caller& who) {
  const checks::CheckSpec* spec = nullptr;
  if (const Supervisor::Service* s = supervisor_.find(name))
    for (const auto& c : s->spec->checks)
      if (c.name == check) spec = &c;
  auto* beats = spec ? dynamic_cast<const checks::HeartbeatCheck*>(spec->check.get()) : nullptr;
  if (!beats) {
    // Anyone on the bus may call this, but what medic watches is for root and group medic to
    // read: a stranger guessing names learns only that this one is not a heartbeat check.
    if (who.uid != 0)
      throw control::ControlError(control::kErrorNoSuchCheck,
                                  "no heartbeat check " + quoteValue(escapeText(name + "/" + check, 130)) + " in medic's configuration");
    serviceFor(name);  // root: which services there are
    if (!spec) throw control::ControlError(control::kErrorNoSuchCheck, "service '" + name + "' has no check '" + check + "'");
    throw control::ControlError(control::kErrorInvalidArgs,
                                "check '" + check + "' of " + name + " is not a heartbeat (type: " + spec->type + ")");
  }
  auto said = checks::heartbeatStatus(status);
  if (!said) throw control::ControlError(control::kErrorInvalidArgs, "a heartbeat's status is ok, warning or critical, not " + quoteValue(status));
  if (!beats->mayPush(who.uid, who.unit)) {
    spdlog::warn("control: refused heartbeat {}/{} from {}: {} may push it", name, check, who.describe(), beats->whoMayPush());
    throw control::ControlError(control::kErrorHeartbeatDenied, "only " + beats->whoMayPush() + " may push heartbeat " + name + "/" + check);
  }
  TimePoint now = host_.loop.now();
  host_.heartbeats.record(beats->spec().key, {now, *said, escapeText(message, 300), who.describe()});
  // The news counts at once, like a finished probe: a critical heartbeat need not wait for
  // the check's next run, nor a healthy one after an outage.
  supervisor_.onCheckResult(name, *spec, beats->judge(host_.heartbeats, now));
  return "heartbeat " + name + "/" + check + " recorded: " + status;
}

// ---- drills ----------------------------------------------------------------------------

namespace {

// How long a drill may take by default: the slowest ladder climbed once (each attempt's
// timeout and verification), after a threshold's worth of the slowest check.
Duration drillTimeFor(const config::ServiceSpec& spec) {
  Duration slowest{};
  auto climb = [&](const std::vector<config::StepSpec>& ladder) {
    Duration t{};
    for (const auto& st : ladder) t += (st.timeout + spec.recovery.verifyGrace) * st.attempts;
    slowest = std::max(slowest, t);
  };
  climb(spec.recovery.ladder);
  for (const auto& l : spec.recovery.ladders) climb(l.steps);
  Duration interval{};
  for (const auto& c : spec.checks) interval = std::max(interval, c.interval);
  return std::min<Duration>(slowest + interval * (spec.failureThreshold + 1) + std::chrono::seconds(10), std::chrono::hours(1));
}

}  // namespace

void Agent::drill(const std::string& name, const std::string& fault, Duration within, const control::Caller& who, DrillDone done) {
  Supervisor::Service& s = serviceFor(name);
  auto refuse = [&](const std::string& why) {
    spdlog::warn("control: drill of {} by {} refused: {}", name, who.describe(), why);
    throw control::ControlError(control::kErrorRefused, "no drill of " + name + ": " + why);
  };
  if (drills_.count(name)) refuse("a drill of it is already under way");
  if (s.spec->isHost()) refuse("the host's checks have no recovery to rehearse");
  if (!s.spec->recovery.enabled) refuse("its recovery is off (recovery: enabled: false)");
  if (s.machine->paused()) refuse("it is paused (" + s.machine->pauseReason() + "); resume it first");
  checks::Status health = supervisor_.health(s);
  if (!supervisor_.runsWell(s))
    refuse("it is not healthy (" + std::string(checks::toString(health)) + ", " + std::string(toString(s.machine->phase())) +
           ", unit " + (s.unit.activeState.empty() ? "unknown" : s.unit.activeState) + "): a drill starts from a healthy service");
  std::string check;
  if (fault == "check" || fault.rfind("check=", 0) == 0) {
    check = fault == "check" ? "" : fault.substr(6);
    const checks::CheckSpec* found = nullptr;
    for (const auto& c : s.spec->checks)
      if (c.critical && (check.empty() ? !found : c.name == check)) found = &c;
    if (!found)
      throw control::ControlError(control::kErrorInvalidArgs,
                                  check.empty() ? name + " has no critical check to fail; use --fault kill or --fault stop"
                                                : name + " has no critical check '" + escapeText(check, 64) + "'");
    check = found->name;
  } else if (fault != "kill" && fault != "stop") {
    throw control::ControlError(control::kErrorInvalidArgs, "a drill's fault is kill, stop or check=NAME, not " + quoteValue(escapeText(fault, 64)));
  }
  Drill& d = drills_[name];
  d.fault = check.empty() ? fault : "check=" + check;
  d.startMs = wallClockMs();
  d.within = within > Duration::zero() ? within : drillTimeFor(*s.spec);
  d.done = std::move(done);
  d.deadline = clock_.at(clock_.now() + d.within, [this, name] {
    finishDrill(name, false, "not healed within " + formatDuration(drills_.at(name).within));
  });
  supervisor_.saved().services[name].drill = true;
  recovery::recordEvent({name, s.spec->unit, "drill-started", 5,
                         "drill started by " + who.describe() + ": fault " + d.fault + ", to heal within " + formatDuration(d.within),
                         "", 0, 0});
  const std::string unit = s.spec->unit;
  if (!check.empty()) {
    s.failOnPurpose = check;  // from its next run on; the service itself is untouched
  } else if (fault == "kill") {
    systemd_.unitState(unit, [this, name, unit](std::optional<strategies::UnitState> st, std::string error) {
      if (!drills_.count(name)) return;
      if (!st || st->mainPid == 0) return finishDrill(name, false, "no main process of " + unit + " to kill" + (error.empty() ? "" : ": " + error));
      spdlog::warn("{}: drill: killing {}'s main process {} with SIGKILL", name, unit, st->mainPid);
      if (::kill(pid_t(st->mainPid), SIGKILL) != 0) finishDrill(name, false, "could not kill pid " + std::to_string(st->mainPid));
    });
  } else {
    spdlog::warn("{}: drill: stopping {} behind the ladder's back", name, unit);
    systemd_.runJob(strategies::JobKind::stop, unit, std::chrono::seconds(90), [this, name, unit](strategies::JobOutcome o) {
      if (o.result != "done" && drills_.count(name)) finishDrill(name, false, "could not stop " + unit + ": " + o.result);
    });
  }
}

void Agent::drillEvent(const std::string& name, const recovery::Decision& d) {
  auto it = drills_.find(name);
  if (it == drills_.end()) return;
  using recovery::Event;
  if (d.event == Event::recoveryStarted && !it->second.detectedMs) {
    it->second.detectedMs = wallClockMs();
    it->second.cause = d.cause.words;
  } else if (d.event == Event::recovered || d.event == Event::healed) {
    finishDrill(name, true, d.message);
  } else if (d.event == Event::gaveUp || d.event == Event::failedOver || d.event == Event::recoveryStopped) {
    finishDrill(name, false, d.message);
  }
}

// Healthy again with no recovery started: something else healed it — systemd's own
// Restart= after a kill, typically. The service recovered; the ladder was not exercised.
void Agent::drillHealthNews(const std::string& name) {
  auto it = drills_.find(name);
  const Supervisor::Service* s = supervisor_.find(name);
  if (it == drills_.end() || !s) return;
  if (!supervisor_.runsWell(*s)) it->second.sawDown = true;
  else if (it->second.sawDown && !it->second.detectedMs)
    finishDrill(name, true, "healthy again before medic's ladder ran: something else brought it back (systemd's Restart=?)");
}

void Agent::finishDrill(const std::string& name, bool healed, const std::string& verdict) {
  auto it = drills_.find(name);
  if (it == drills_.end()) return;
  Drill d = std::move(it->second);
  drills_.erase(it);
  d.deadline.reset();
  int64_t now = wallClockMs();
  nlohmann::json steps = nlohmann::json::array();
  std::optional<Duration> rto;
  std::string unit;
  if (Supervisor::Service* s = supervisor_.find(name)) {
    s->failOnPurpose.clear();
    rto = s->spec->recovery.rto;
    unit = s->spec->unit;
    auto& st = supervisor_.saved().services[name];
    st.drill = false;
    for (const auto& a : st.history)
      if (a.startedMs >= d.startMs)
        steps.push_back({{"step", a.step}, {"attempt", a.attempt}, {"round", a.round},
                         {"seconds", a.endedMs ? nlohmann::json(double(a.endedMs - a.startedMs) / 1000) : nlohmann::json(nullptr)},
                         {"result", a.endedMs ? a.result : "running"}});
  }
  double took = double(now - d.startMs) / 1000;
  bool inTime = healed && (!rto || took <= std::chrono::duration<double>(*rto).count());
  std::string says = healed ? (inTime ? "healed: " : "healed, but past its rto: ") + verdict : verdict;
  nlohmann::json report = {{"service", name},
                           {"fault", d.fault},
                           {"passed", inTime},
                           {"healed", healed},
                           {"verdict", says},
                           {"cause", d.cause.empty() ? "no failure detected" : d.cause},
                           {"started", alerts::isoTime(d.startMs)},
                           {"detection_seconds", d.detectedMs ? nlohmann::json(double(d.detectedMs - d.startMs) / 1000) : nlohmann::json(nullptr)},
                           {"steps", steps},
                           {"recovery_seconds", healed ? nlohmann::json(took) : nlohmann::json(nullptr)},
                           {"within_seconds", std::chrono::duration<double>(d.within).count()},
                           {"rto_seconds", rto ? nlohmann::json(std::chrono::duration<double>(*rto).count()) : nlohmann::json(nullptr)}};
  recovery::recordEvent({name, unit, "drill-ended", inTime ? 5 : 4,
                         std::string("drill ") + (inTime ? "passed" : "FAILED") + " (fault " + d.fault + "): " + says, "", 0, 0});
  if (d.done) d.done(inTime, report.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace medic::agent
