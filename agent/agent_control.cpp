// The agent's side of the control interface: what `medic status` shows, and an operator's
// pause, resume, reset and recover. Every change is journalled with who asked and why.
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "agent/agent.h"
#include "agent/status_report.h"
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

}  // namespace medic::agent
