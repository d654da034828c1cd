#include "checks/check_runner.h"

#include "runtime/text.h"

namespace medic::checks {

using std::chrono::steady_clock;

ProbeRunner::~ProbeRunner() {
  for (auto& [id, f] : flights_) f.timer.reset();
  flights_.clear();  // cancels every probe still running
  graveyard_.clear();
}

void ProbeRunner::run(std::shared_ptr<const Check> check, Duration timeout, Done done) {
  uint64_t id = nextId_++;
  Flight& f = flights_[id];
  f.check = check;
  f.done = std::move(done);
  f.started = steady_clock::now();
  f.timer = env_.loop.addTimer(f.started + timeout, std::chrono::milliseconds(1), [this, id, timeout] {
    auto it = flights_.find(id);
    std::string stage = it != flights_.end() && it->second.probe ? it->second.probe->stage() : "";
    finish(id, CheckResult::unhealthy("timed out after " + formatDuration(timeout) + (stage.empty() ? "" : " " + stage)));
  });
  auto probe = check->start(env_, f.started + timeout, [this, id](CheckResult r) { finish(id, std::move(r)); });
  auto it = flights_.find(id);
  if (it != flights_.end()) it->second.probe = std::move(probe);
  // else: it answered before start() returned; `probe` (if any) dies here, outside its callbacks.
}

void ProbeRunner::finish(uint64_t id, CheckResult result) {
  auto it = flights_.find(id);
  if (it == flights_.end()) return;
  Flight f = std::move(it->second);
  flights_.erase(it);
  result.duration = steady_clock::now() - f.started;
  // Every result passes here: its message is shown in the journal, status and alerts, so it
  // is one line of valid UTF-8 whatever the peer or plugin sent.
  if (!isPlainText(result.message)) result.message = escapeText(result.message);
  bury(std::move(f.probe));
  f.done(std::move(result));
  // f.timer goes here; if we are inside it, sd-event frees it once its dispatch ends.
}

void ProbeRunner::bury(std::unique_ptr<Probe> probe) {
  if (!probe) return;
  if (graveyard_.empty()) posts_.post([this] { graveyard_.clear(); });
  graveyard_.push_back(std::move(probe));
}

CheckRunner::CheckRunner(EventLoop& loop, ProbeEnv& env, Duration slack, Listener listener, uint64_t seed)
    : loop_(loop), probes_(env), scheduler_(seed), slack_(slack), listener_(std::move(listener)) {}

void CheckRunner::add(const std::string& service, const CheckSpec& spec) {
  checks_.push_back({service, spec});
}

void CheckRunner::start() {
  TimePoint now = loop_.now();
  scheduler_.reserve(checks_.size());
  for (const auto& c : checks_)
    scheduler_.add(c.spec.interval, c.spec.initialDelay, now, c.spec.failingInterval, c.spec.check->server());
  scheduler_.placed();
  arm();
}

void CheckRunner::tick() {
  for (const auto& due : scheduler_.takeDue(loop_.now())) {
    auto late = std::chrono::duration_cast<std::chrono::microseconds>(steady_clock::now() - due.dueAt).count();
    if (lateness_) {
      if (lateness_->size() >= 1'000'000) lateness_->erase(lateness_->begin(), lateness_->begin() + 500'000);
      lateness_->push_back(static_cast<uint32_t>(std::clamp<int64_t>(late, 0, UINT32_MAX)));
    }
    histogram_.add(double(std::max<int64_t>(late, 0)) / 1e6);
    ++started_;
    Scheduler::Id id = due.id;
    const ScheduledCheck& check = checks_[id];
    probes_.run(check.spec.check, check.spec.timeout, [this, id](CheckResult r) {
      const CheckSpec& spec = checks_[id].spec;
      bool failed = spec.judged(r.status) == Status::unhealthy;
      if (failed) {
        scheduler_.failed(id, loop_.now());
        if (spec.failingInterval) arm();  // its re-run may come before anything queued
      } else {
        scheduler_.finished(id);
      }
      listener_(checks_[id], r);
    });
  }
  arm();
}

void CheckRunner::arm() {
  auto next = scheduler_.nextDue();
  if (!next) return timer_.disable();
  // The accuracy window lets sd-event fold nearby deadlines (ours and others') into one wake-up.
  if (timer_) timer_.rearm(*next);
  else timer_ = loop_.addTimer(*next, slack_, [this] { tick(); });
}

}  // namespace medic::checks
