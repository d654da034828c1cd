#include "recovery/failure_detector.h"

namespace medic::recovery {

bool FailureDetector::record(const std::string& check, checks::Status status) {
  passes_[check] = status == checks::Status::healthy ? passes_[check] + 1 : 0;
  auto& results = failures_[check];
  results.push_back(status == checks::Status::unhealthy);
  size_t keep = spec_->window ? size_t(spec_->window->of) : size_t(spec_->failureThreshold);
  while (results.size() > keep) results.pop_front();
  return pastThreshold(results);
}

std::optional<std::string> FailureDetector::failing() const {
  for (const auto& [check, results] : failures_)
    if (pastThreshold(results)) return check;
  return std::nullopt;
}

bool FailureDetector::pastThreshold(const std::deque<bool>& results) const {
  if (spec_->window) {
    int failures = 0;
    for (bool f : results) failures += f;
    return failures >= spec_->window->failures;
  }
  int run = 0;
  for (auto it = results.rbegin(); it != results.rend() && *it; ++it) ++run;
  return run >= spec_->failureThreshold;
}

std::optional<bool> FailureDetector::allHealthy() const {
  bool any = false;
  for (const auto& c : spec_->checks) {
    if (!c.critical) continue;
    any = true;
    auto it = passes_.find(c.name);
    if (it == passes_.end() || it->second < spec_->successThreshold) return false;
  }
  return any ? std::optional<bool>(true) : std::nullopt;
}

std::string FailureDetector::threshold() const {
  return spec_->window ? std::to_string(spec_->window->failures) + " of the last " + std::to_string(spec_->window->of)
                       : std::to_string(spec_->failureThreshold) + " in a row";
}

}  // namespace medic::recovery
