#include "recovery/failure_detector.h"

namespace medic::recovery {

void FailureDetector::setSpec(const config::ServiceSpec& spec) {
  spec_ = &spec;
  failing_.clear();
  for (const auto& [check, results] : failures_)
    if (pastThreshold(results)) failing_.insert(check);
  critical_.clear();
  healthy_ = 0;
  for (const auto& c : spec.checks) {
    if (!c.critical) continue;
    critical_.insert(c.name);
    auto it = passes_.find(c.name);
    healthy_ += it != passes_.end() && it->second >= spec.successThreshold;
  }
}

bool FailureDetector::record(const std::string& check, checks::Status status) {
  int& passes = passes_[check];
  const bool wasHealthy = passes >= spec_->successThreshold;
  passes = status == checks::Status::healthy ? passes + 1 : 0;
  if (critical_.count(check))  // (a result that was under way when a reload made its check not critical: not counted)
    healthy_ += size_t(passes >= spec_->successThreshold) - size_t(wasHealthy);
  Results& results = failures_[check];
  results <<= 1;
  results[0] = status == checks::Status::unhealthy;
  const bool past = pastThreshold(results);
  if (past) failing_.insert(check);
  else failing_.erase(check);
  return past;
}

std::optional<std::string> FailureDetector::failing() const {
  if (failing_.empty()) return std::nullopt;
  return *failing_.begin();
}

bool FailureDetector::pastThreshold(const Results& results) const {
  if (spec_->window) {  // failures among the last `of` results
    size_t failures = (results << (results.size() - size_t(spec_->window->of))).count();
    return failures >= size_t(spec_->window->failures);
  }
  size_t run = 0;
  while (run < results.size() && results[run]) ++run;
  return run >= size_t(spec_->failureThreshold);
}

std::optional<bool> FailureDetector::allHealthy() const {
  if (critical_.empty()) return std::nullopt;
  return healthy_ == critical_.size();
}

std::string FailureDetector::threshold() const {
  if (spec_->window) return std::to_string(spec_->window->failures) + " of the last " + std::to_string(spec_->window->of);
  return spec_->failureThreshold == 1 ? "" : std::to_string(spec_->failureThreshold) + " in a row";
}

}  // namespace medic::recovery
