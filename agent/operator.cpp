#include "agent/operator.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "agent/status_report.h"
#include "runtime/text.h"

namespace medic::agent {

const Supervisor::Service& Operator::serviceFor(const std::string& name) const {
  if (const Supervisor::Service* s = supervisor_.find(name)) return *s;
  std::string known;
  for (const auto& [n, _] : supervisor_.services()) known += (known.empty() ? "" : ", ") + n;
  throw control::ControlError(control::kErrorNoSuchService, "no service '" + name + "' in medic's configuration (it has: " +
                                                                (known.empty() ? "none" : known) + ")");
}

void Operator::recorded(const std::string& name, const recovery::Decision& d) {
  if (auto w = waiting_.find(name); w != waiting_.end()) w->second.latest = d;
  drills_.event(name, d);
}

void Operator::healthNews(const std::string& name) { drills_.healthNews(name); }

std::string Operator::status(const std::string& only) {
  if (!only.empty()) serviceFor(only);  // or the error naming the services there are
  return statusJson(supervisor_, only, clock_.now());
}

std::string Operator::pause(const std::string& name, Duration length, const std::string& reason, const control::Caller& who) {
  serviceFor(name);
  std::optional<TimePoint> until;
  if (length > Duration::zero()) until = clock_.now() + length;
  supervisor_.pause(name, until, reason, int(who.uid), who.describe());
  return "paused " + name + (until ? " for " + formatDuration(length) : " until `medic resume " + name + "`") +
         ": checks go on, no recovery starts";
}

std::string Operator::resume(const std::string& name, const control::Caller& who) {
  const Supervisor::Service& s = serviceFor(name);
  if (std::string refused = supervisor_.resume(name, who.describe()); !refused.empty())
    throw control::ControlError(control::kErrorRefused, refused);
  return "resumed " + name +
         (s.machine->phase() == recovery::Phase::recovering ? ": it is still failing, so its recovery has started" : "");
}

std::string Operator::reset(const std::string& name, const control::Caller& who) {
  serviceFor(name);
  if (std::string refused = supervisor_.reset(name, who.describe()); !refused.empty())
    throw control::ControlError(control::kErrorRefused, "cannot reset " + name + ": " + refused);
  return "reset " + name + ": rounds, attempts, the flapping count and failure streaks start afresh";
}

void Operator::recover(const std::string& name, const std::string& stepName, const control::Caller& who, RecoverDone done) {
  const Supervisor::Service& s = serviceFor(name);
  const auto& ladder = s.spec->recovery.ladder;
  // The answer waits for the step's verdict: registered before the step starts, since a
  // step may end at once, and taken back when the supervisor refuses.
  auto awaitVerdict = [&](const std::string& cannot, auto act) {
    waiting_[name].answers.push_back(std::move(done));
    std::string refused = act();
    if (refused.empty()) return;
    waiting_[name].answers.pop_back();
    if (waiting_[name].answers.empty()) waiting_.erase(name);
    throw control::ControlError(control::kErrorRefused, cannot + ": " + refused);
  };
  if (stepName == "failback")
    return awaitVerdict("cannot fail " + name + " back now", [&] { return supervisor_.failBackNow(name, who.describe()); });
  size_t step = 0;
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
  awaitVerdict("cannot recover " + name + " now", [&] { return supervisor_.recoverNow(name, step, who.describe()); });
}

// Called after every carryOut: once the requested step is over, its verdict is the last
// event the machine recorded.
void Operator::settled(const std::string& name) {
  auto it = waiting_.find(name);
  if (it == waiting_.end()) return;
  const Supervisor::Service* s = supervisor_.find(name);
  if (s && s->machine->manualStepRunning()) return;
  Waiting waiting = std::move(it->second);
  waiting_.erase(it);
  bool healed = false;
  std::string message = s ? "the step ended" : name + " was removed from the configuration";
  if (const auto& verdict = waiting.latest; s && verdict) {
    healed = verdict->event == recovery::Event::recovered || verdict->event == recovery::Event::failedBack;
    message = verdict->message;
  }
  for (auto& answer : waiting.answers) answer(healed, message);
}

void Operator::servicesChanged() {
  std::vector<std::string> gone;
  for (const auto& [name, _] : waiting_)
    if (!supervisor_.find(name)) gone.push_back(name);
  for (const auto& name : gone) settled(name);
}

void Operator::stopping() {
  for (auto& [name, waiting] : waiting_)
    for (auto& answer : waiting.answers) answer(false, "medic stopped before the step was verified");
  waiting_.clear();
}

std::string Operator::heartbeat(const std::string& name, const std::string& check, const std::string& status,
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
  TimePoint now = clock_.now();
  heartbeats_.record(beats->spec().key, {now, *said, escapeText(message, 300), who.describe()});
  // The news counts at once, like a finished probe: a critical heartbeat need not wait for
  // the check's next run, nor a healthy one after an outage.
  supervisor_.onCheckResult(name, *spec, beats->judge(heartbeats_, now));
  return "heartbeat " + name + "/" + check + " recorded: " + status;
}

void Operator::drill(const std::string& name, const std::string& fault, Duration within, const control::Caller& who, DrillDone done) {
  serviceFor(name);
  drills_.start(name, fault, within, who, std::move(done));
}

}  // namespace medic::agent
