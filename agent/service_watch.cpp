#include "agent/service_watch.h"

namespace medic::agent {

using checks::Status;

bool ServiceWatch::thresholdReached(const std::deque<bool>& history) const {
  if (spec_->window) {
    int failures = 0;
    for (bool f : history) failures += f;
    return failures >= spec_->window->failures;
  }
  int run = 0;
  for (auto it = history.rbegin(); it != history.rend() && *it; ++it) ++run;
  return run >= spec_->failureThreshold;
}

std::optional<ServiceWatch::Restart> ServiceWatch::onCheckResult(const std::string& check, bool critical, Status status,
                                                                 const std::string& message, TimePoint now) {
  if (!critical) return std::nullopt;  // non-critical checks degrade; they never recover
  auto& history = history_[check];
  history.push_back(status == Status::unhealthy);
  size_t keep = spec_->window ? size_t(spec_->window->of) : size_t(spec_->failureThreshold);
  while (history.size() > keep) history.pop_front();
  if (!thresholdReached(history)) return std::nullopt;
  std::string how = spec_->window ? std::to_string(spec_->window->failures) + " of the last " + std::to_string(spec_->window->of)
                                 : std::to_string(spec_->failureThreshold) + " in a row";
  return trigger("check '" + check + "' failed " + how + ": " + message, now);
}

std::optional<ServiceWatch::Restart> ServiceWatch::onUnitState(const std::string& active, const std::string& sub,
                                                               TimePoint now) {
  if (active == "active") seenUp_ = true;  // from now on the unit is expected up
  bool cameUp = active == "active" && unitActive_ != "active" && !unitActive_.empty();
  unitActive_ = active;
  unitSub_ = sub;
  if (cameUp) {
    // (Re)started, by us or by systemd itself: give it the grace to answer, forget old failures.
    history_.clear();
    settleUntil_ = now + spec_->recovery.verifyGrace;
  }
  if (active == "failed") {
    if (!downSince_) downSince_ = now;
    downReason_ = "systemd reports " + spec_->unit + " failed";
  } else if (active == "inactive" && seenUp_ && !restarting_) {
    // Stopped cleanly, but not by medic: the service is expected up (pause medic for maintenance).
    if (!downSince_) downSince_ = now;
    downReason_ = "systemd reports " + spec_->unit + " stopped although it was running";
  } else {
    downSince_.reset();
  }
  return std::nullopt;
}

std::optional<ServiceWatch::Restart> ServiceWatch::onFailedUnitRead(const std::string& activeState,
                                                                    const std::string& restartPolicy, TimePoint now) {
  if (!downSince_ || activeState != "failed" || restartPolicy != "no") return std::nullopt;
  downSince_.reset();
  return trigger(downReason_, now);
}

std::optional<TimePoint> ServiceWatch::wakeAt() const {
  if (!downSince_) return std::nullopt;
  return *downSince_ + kFailedConfirm;
}

std::optional<ServiceWatch::Restart> ServiceWatch::onTimer(TimePoint now) {
  if (!downSince_ || now < *downSince_ + kFailedConfirm) return std::nullopt;
  downSince_.reset();
  return trigger(downReason_, now);
}

void ServiceWatch::onRestartFinished(bool ok, TimePoint now) {
  restarting_ = false;
  history_.clear();
  settleUntil_ = now + spec_->recovery.verifyGrace;
  if (!ok) cooldownUntil_ = now + spec_->recovery.cooldown;
}

std::string ServiceWatch::holdReason(TimePoint now) const {
  if (!spec_->recovery.enabled) return "recovery is disabled";
  if (restarting_) return "a restart is already running";
  // systemd is acting on the unit itself (Restart=, a job): acting too would make a storm.
  if (unitActive_ == "activating" || unitActive_ == "deactivating" || unitActive_ == "reloading" || unitSub_ == "auto-restart")
    return "systemd is already " + unitActive_ + " it (" + unitSub_ + ")";
  if (now < cooldownUntil_) return "cooling down after a failed restart";
  if (now < settleUntil_) return "it was just (re)started and is within its grace";
  return {};
}

std::optional<ServiceWatch::Restart> ServiceWatch::trigger(std::string reason, TimePoint now) {
  // A unit that is down cannot settle: waiting for its grace would only delay the obvious.
  bool failed = unitActive_ == "failed" || unitActive_ == "inactive";
  std::string hold = holdReason(now);
  if (failed && hold.find("grace") != std::string::npos) hold.clear();
  if (!hold.empty()) return std::nullopt;
  restarting_ = true;
  return Restart{std::move(reason)};
}

}  // namespace medic::agent
