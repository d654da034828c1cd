#include "alerts/alerter.h"
#include "alerts/alert_names.h"

#include <algorithm>

#include <spdlog/spdlog.h>


#include "runtime/saved_file.h"
#include "runtime/saved_file.h"
#include "runtime/text.h"

namespace medic::alerts {

using namespace std::chrono_literals;

namespace {
constexpr Duration kFirstRetry = 1s;
constexpr Duration kMaxRetry = 5min;
constexpr int kFailingAfter = 3;   // consecutive failed attempts before a sink is reported failing
constexpr size_t kBatch = 64;      // Alertmanager: alerts per POST
}  // namespace

Alerter::Alerter(EventLoop& loop, CurlMulti& curl, const config::AlertsSpec& spec, std::string stateDir, std::string host)
    : loop_(loop),
      spec_(&spec),
      stateDir_(std::move(stateDir)),
      router_(spec, std::move(host)),
      outbox_(stateDir_ + "/outbox"),
      transport_(loop, curl) {
  buildTargets();
}

Alerter::~Alerter() = default;

const config::SinkSpec* Alerter::sinkNamed(const std::string& name) const {
  for (const auto& s : spec_->sinks)
    if (s.name == name) return &s;
  return nullptr;
}

void Alerter::buildTargets() {
  std::map<std::string, Target> targets;
  for (const auto& s : spec_->sinks) {
    std::vector<std::string> urls = s.type == "alertmanager" ? s.urls : std::vector<std::string>{s.url};
    for (size_t i = 0; i < urls.size(); ++i) {
      std::string name = s.type == "alertmanager" ? s.name + "@" + std::to_string(i + 1) : s.name;
      Target& t = targets[name];
      if (auto old = targets_.find(name); old != targets_.end()) t = std::move(old->second);
      t.name = name;
      t.sink = s.name;
      t.url = s.type == "alertmanager" ? urls[i] + "/api/v2/alerts" : urls[i];
    }
  }
  for (auto& [name, old] : targets_)
    if (!targets.count(name))
      for (const auto& e : old.queue) {
        spdlog::warn("alert sink {} is no longer configured: dropping its undelivered notification {} ({})", old.sink,
                     e.notification, e.headline);
        outbox_.remove(e);
      }
  targets_ = std::move(targets);
}

void Alerter::start() {
  std::string path = stateDir_ + "/alerts.json";
  SavedFile file = readSavedFile(path, kAlertsFileCap);
  std::string why = file.error;
  if (file.found && why.empty()) {
    try {
      router_.fromJson(file.text, wallNow());
    } catch (const std::exception& e) {
      why = e.what();
    }
  }
  if (!why.empty()) {
    std::string aside = moveAside(path);
    spdlog::warn("cannot read {} ({}); {} and firing alerts start afresh", path, escapeText(why, 300),
                 aside.empty() ? "could not move it aside" : "moved it to " + aside);
  }
  std::vector<std::string> warnings;
  auto entries = outbox_.load(warnings);
  for (const auto& w : warnings) spdlog::warn("{}", w);
  for (auto& e : entries) {
    auto it = targets_.find(e.target);
    if (it == targets_.end()) {
      spdlog::warn("undelivered notification {} for {}, which is no longer configured, dropped: {}", e.notification,
                   e.target, e.headline);
      outbox_.remove(e);
      continue;
    }
    it->second.queue.push_back(std::move(e));
  }
  for (auto& [name, t] : targets_) t.fromBefore = t.queue.size();
  if (!entries.empty()) spdlog::info("{} undelivered notifications from before; delivering them now", pending());
  for (auto& [name, t] : targets_) pump(t);
  armTimer();
}

void Alerter::setSpec(const config::AlertsSpec& spec) {
  spec_ = &spec;
  router_.setSpec(spec);
  buildTargets();
  for (auto& [name, t] : targets_) pump(t);
  armTimer();
}

void Alerter::reconcile(const std::string& service, const std::string& unit, const std::vector<Condition>& wanted,
                        bool maintenance, const std::set<std::string>& leaveAlone) {
  router_.reconcile(service, unit, wanted, maintenance, wallNow(), leaveAlone);
  flush();
}

void Alerter::event(const std::string& service, const std::string& unit, const std::string& name,
                    checks::Severity severity, const std::string& summary, const std::vector<std::string>& details,
                    bool maintenance, const Why& why) {
  router_.event(service, unit, name, severity, summary, details, maintenance, wallNow(), why);
  flush();
}

void Alerter::setOwnProblem(const std::string& id, std::optional<Condition> problem) {
  if (problem) own_[id] = *problem;
  else if (!own_.erase(id)) return;
  reconcileOwn();
}

void Alerter::reconcileOwn() {
  std::vector<Condition> wanted;
  for (const auto& [id, c] : own_) wanted.push_back(c);
  for (const auto& sink : failingSinks_)
    wanted.push_back({names::kAlertSinkFailing, checks::Severity::warning,
                      "alert sink '" + sink + "' cannot deliver; its notifications wait in the outbox",
                      {}, sink});
  reconcile("", "", wanted, false);
}

size_t Alerter::pending() const {
  size_t n = 0;
  for (const auto& [name, t] : targets_) n += t.queue.size();
  return n;
}

void Alerter::flush() {
  std::map<std::string, std::vector<Notification>> refreshes;
  bool changed = false;
  for (auto& o : router_.take()) {
    const config::SinkSpec* sink = sinkNamed(o.sink);
    if (!sink) continue;
    if (o.refresh) refreshes[o.sink].push_back(o.n);
    else enqueue(*sink, o.n);
    // alerts.json holds what fires: only a firing or a resolution changes it.
    changed = changed || (!o.refresh && !o.n.reminder && o.n.state != Notification::State::event);
  }
  for (const auto& [sink, alerts] : refreshes) refresh(*sinkNamed(sink), alerts);
  if (changed) saveActive();
  armTimer();
}

void Alerter::enqueue(const config::SinkSpec& sink, const Notification& n) {
  std::string payload = payloadFor(sink, n);  // the same for every URL of the sink
  for (auto& [name, t] : targets_) {
    if (t.sink != sink.name) continue;
    OutboxEntry e;
    e.target = name;
    e.createdMs = n.atMs;
    e.notification = n.id;
    e.headline = headline(n);
    e.payload = payload;
    noteOutboxWrite(outbox_.add(e));
    t.queue.push_back(std::move(e));
    // Bounded, so a receiver down for days under a storm never fills the disk: the oldest
    // that is not being delivered right now goes, and the drop is said loudly.
    size_t inFlight = t.busy ? t.inFlight : 0;
    while (t.queue.size() > size_t(spec_->maxQueued) && t.queue.size() > inFlight) {
      auto oldest = t.queue.begin() + std::ptrdiff_t(inFlight);
      spdlog::error("alert sink {}: dropping notification {}: {} wait undelivered, more than max_queued {}: {}", t.sink,
                    oldest->notification, t.queue.size(), spec_->maxQueued, oldest->headline);
      outbox_.remove(*oldest);
      t.queue.erase(oldest);
    }
    pump(t);
  }
}

// Alertmanager forgets an alert not sent again within its resolve_timeout: still-firing
// alerts go again now and then. Best effort: a queue that is not empty will deliver anyway.
void Alerter::refresh(const config::SinkSpec& sink, const std::vector<Notification>& alerts) {
  for (auto& [name, t] : targets_) {
    if (t.sink != sink.name || t.busy || !t.queue.empty()) continue;
    transport_.postJson(sink, t.url, alertmanagerJson(alerts), 0, [name = name](Delivery d) {
      if (!d.ok) spdlog::debug("refreshing alerts at {}: {}", name, d.message);
    });
  }
}

void Alerter::pump(Target& t) {
  if (t.busy || t.queue.empty() || t.retry) return;
  const config::SinkSpec* sink = sinkNamed(t.sink);
  if (!sink) return;
  // Too old to matter any more: dropped, and the drop said loudly.
  int64_t now = wallNow();
  while (!t.queue.empty() && now - t.queue.front().createdMs > std::chrono::duration_cast<std::chrono::milliseconds>(spec_->maxAge).count()) {
    const auto& e = t.queue.front();
    spdlog::error("alert sink {}: dropping notification {} undelivered after {}: {}", t.sink, e.notification,
                  formatDuration(spec_->maxAge), e.headline);
    outbox_.remove(e);
    t.queue.pop_front();
  }
  if (t.queue.empty()) return;
  t.busy = true;
  t.inFlight = 1;
  std::string name = t.name;
  if (sink->type == "alertmanager") {
    // Consecutive alerts go in one POST (a storm is one request), in order.
    std::string body = "[";
    size_t n = 0;
    for (; n < t.queue.size() && n < kBatch; ++n) {
      const std::string& one = t.queue[n].payload;  // "[{...}]"
      body += (n ? "," : "") + one.substr(1, one.size() - 2);
    }
    body += "]";
    t.inFlight = n;
    transport_.postJson(*sink, t.url, body, t.queue.front().notification,
                        [this, name, n](Delivery d) { delivered(name, n, std::move(d)); });
  } else if (sink->type == "email") {
    transport_.sendMail(*sink, t.queue.front().payload, [this, name](Delivery d) { delivered(name, 1, std::move(d)); });
  } else {
    transport_.postJson(*sink, t.url, t.queue.front().payload, t.queue.front().notification,
                        [this, name](Delivery d) { delivered(name, 1, std::move(d)); });
  }
}

std::vector<Notification> Alerter::firing() const {
  std::vector<Notification> out;
  for (const auto& [key, n] : router_.active()) out.push_back(n);
  std::sort(out.begin(), out.end(), [](const Notification& a, const Notification& b) { return a.startsAtMs < b.startsAtMs; });
  return out;
}

std::map<std::string, Alerter::SinkFigures> Alerter::figures() const {
  std::map<std::string, SinkFigures> out;
  for (const auto& sink : spec_->sinks) out[sink.name] = {};
  for (const auto& [sink, f] : counts_)
    if (out.count(sink)) out[sink] = SinkFigures{f.delivered, f.refused, f.failedAttempts, 0, 0};
  for (const auto& [name, t] : targets_) {
    auto it = out.find(t.sink);
    if (it == out.end()) continue;
    it->second.waiting += t.queue.size();
    if (!t.queue.empty() && (it->second.oldestWaitingMs == 0 || t.queue.front().createdMs < it->second.oldestWaitingMs))
      it->second.oldestWaitingMs = t.queue.front().createdMs;
  }
  return out;
}

void Alerter::delivered(const std::string& target, size_t count, Delivery d) {
  auto it = targets_.find(target);
  if (it == targets_.end()) return;
  Target& t = it->second;
  t.busy = false;
  count = std::min(count, t.queue.size());
  SinkFigures& figures = counts_[t.sink];
  if (d.ok) figures.delivered += count;
  else if (d.permanent) figures.refused += count;
  else ++figures.failedAttempts;
  if (d.ok || d.permanent) {
    for (size_t i = 0; i < count; ++i) {
      const auto& e = t.queue.front();
      if (d.ok) spdlog::debug("alert sink {}: delivered notification {} ({})", t.name, e.notification, d.message);
      else spdlog::error("alert sink {} refused notification {} ({}); not retrying: {}", t.name, e.notification,
                         d.message, e.headline);
      outbox_.remove(e);
      t.queue.pop_front();
    }
    t.backoff = Duration::zero();
    // Whatever led here (a receiver down, medic restarted with a backlog), its end is said.
    if (t.failures > 0) spdlog::info("alert sink {} delivers again ({} waiting)", t.name, t.queue.size());
    if (d.ok && t.fromBefore > 0) {
      t.fromBefore -= std::min(t.fromBefore, count);
      if (t.fromBefore == 0) spdlog::info("alert sink {}: every notification left from before is delivered", t.name);
    }
    t.failures = 0;
    if (failingSinks_.erase(t.sink)) reconcileOwn();
    return pump(t);
  }
  ++t.failures;
  t.backoff = t.backoff == Duration::zero() ? kFirstRetry : std::min(t.backoff * 2, kMaxRetry);
  spdlog::log(t.failures == 1 ? spdlog::level::warn : spdlog::level::debug,
              "alert sink {}: delivery failed ({}); {} waiting, next try in {}", t.name, d.message, t.queue.size(),
              formatDuration(t.backoff));
  t.retry = loop_.addTimer(loop_.now() + t.backoff, 100ms, [this, target] {
    auto it = targets_.find(target);
    if (it == targets_.end()) return;
    it->second.retry.reset();
    pump(it->second);
  });
  if (t.failures == kFailingAfter) {
    spdlog::error("alert sink {} has failed {} times in a row ({}); its notifications wait in the outbox", t.sink,
                  t.failures, d.message);
    if (failingSinks_.insert(t.sink).second) reconcileOwn();
  }
}

// A full or read-only state directory fails every write: said once when it starts, once
// more when writing works again, never once per notification.
void Alerter::noteOutboxWrite(const std::string& error) {
  if (error.empty() == outboxWritable_) return;
  outboxWritable_ = error.empty();
  if (!error.empty())
    spdlog::error("alert outbox cannot be written ({}): notifications are kept in memory only until it can", error);
  else
    spdlog::info("alert outbox can be written again: notifications are kept on disk again");
}

void Alerter::saveActive() {
  std::string error = writeAtomically(stateDir_, "alerts.json", router_.toJson());
  if (!error.empty() && error != lastSaveError_) spdlog::error("cannot save the firing alerts: {}", error);
  lastSaveError_ = error;
}

// The wall clock stamps what people read and what outlives medic; the intervals kept in
// those stamps (reminders, refreshes, rate-limit windows, max_age) follow a step of it, so a
// clock set an hour back neither silences them for an hour nor, set forward, sends them all.
int64_t Alerter::wallNow() {
  WallClockSteps::Reading r = clockSteps_.read();
  if (r.steppedMs == 0) return r.nowMs;
  spdlog::warn("the wall clock stepped {} {}: alert reminders, refreshes, rate-limit windows and max_age keep counting "
               "from where they were",
               formatDuration(std::chrono::seconds((std::abs(r.steppedMs) + 500) / 1000)), r.steppedMs > 0 ? "forward" : "back");
  router_.clockStepped(r.steppedMs);
  for (auto& [name, t] : targets_)
    for (auto& e : t.queue) e.createdMs += r.steppedMs;
  saveActive();
  armTimer();
  return r.nowMs;
}

void Alerter::armTimer() {
  auto at = router_.wakeAt();
  if (!at) return timer_.disable();
  int64_t wait = std::max<int64_t>(0, *at - wallNow());
  TimePoint when = loop_.now() + std::chrono::milliseconds(wait);
  if (timer_) return timer_.rearm(when);
  timer_ = loop_.addTimer(when, 50ms, [this] {
    router_.onTimer(wallNow());
    flush();
  });
}

}  // namespace medic::alerts
