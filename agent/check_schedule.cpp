#include "agent/check_schedule.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "checks/heartbeat_check.h"

namespace medic::agent {

CheckSchedule::CheckSchedule(checks::ProbeHost& host, Supervisor& supervisor, bool keepSamples)
    : host_(host), supervisor_(supervisor), keepSamples_(keepSamples) {}

CheckSchedule::~CheckSchedule() = default;

void CheckSchedule::apply(const config::Config& config) {
  if (runner_) {
    pastStarted_ += runner_->started();
    pastLateness_.add(runner_->latenessHistogram());
  }
  runner_ = std::make_unique<checks::CheckRunner>(host_.loop, host_.env, config.agent.timerSlack,
                                                  [this](const checks::ScheduledCheck& c, const checks::CheckResult& r) {
                                                    supervisor_.onCheckResult(c.service, c.spec, r);
                                                  });
  if (keepSamples_) runner_->keepLatenessIn(&samples_);
  runner_->reserve(config.checkCount());
  std::vector<std::string> heartbeats;
  for (const auto& s : config.services)
    for (const auto& c : s.checks) {
      runner_->add(s.name, c);
      if (auto* beats = dynamic_cast<const checks::HeartbeatCheck*>(c.check.get())) heartbeats.push_back(beats->spec().key);
    }
  host_.heartbeats.expect(heartbeats, host_.loop.now());
}

void CheckSchedule::start() { runner_->start(); }

checks::CheckRunner::LatenessHistogram CheckSchedule::lateness() const {
  checks::CheckRunner::LatenessHistogram all = pastLateness_;
  if (runner_) all.add(runner_->latenessHistogram());
  return all;
}

std::string CheckSchedule::report() const {
  std::vector<uint32_t> late = samples_;
  std::sort(late.begin(), late.end());
  auto pct = [&](double p) { return late.empty() ? 0.0 : late[std::min(late.size() - 1, size_t(p * late.size()))] / 1000.0; };
  nlohmann::json report = {{"checks_started", pastStarted_ + (runner_ ? runner_->started() : 0)},
                           {"lateness_ms", {{"p50", pct(0.50)}, {"p99", pct(0.99)}, {"max", pct(1.0)}}}};
  return report.dump(2);
}

}  // namespace medic::agent
