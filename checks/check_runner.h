#pragma once
/// Runs checks on the event loop. ProbeRunner starts one probe, enforces its timeout and
/// measures it; CheckRunner drives a Scheduler with one coalescing timer and reports each
/// result to a listener. Neither knows what a check does.
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/event_loop.h"
#include "checks/scheduler.h"
#include "checks/check.h"
#include "checks/probe_env.h"
#include "checks/check.h"

namespace medic::checks {

class ProbeRunner {
 public:
  using Done = std::function<void(CheckResult)>;

  explicit ProbeRunner(ProbeEnv& env) : env_(env), posts_(env.loop) {}
  ~ProbeRunner();

  /// Starts one probe; `done` runs exactly once: with the probe's result, or with
  /// "timed out" when `timeout` passes first (the probe is then cancelled).
  void run(std::shared_ptr<const Check> check, Duration timeout, Done done);

 private:
  struct Flight {
    std::shared_ptr<const Check> check;  // outlives its probe, even across a reload
    std::unique_ptr<Probe> probe;
    EventSource timer;
    Done done;
    TimePoint started;
  };
  void finish(uint64_t id, CheckResult result);
  void bury(std::unique_ptr<Probe> probe);

  ProbeEnv& env_;
  std::map<uint64_t, Flight> flights_;
  uint64_t nextId_ = 1;
  // Finished probes are destroyed on a fresh stack, never inside their own callback.
  std::vector<std::unique_ptr<Probe>> graveyard_;
  OwnedPosts posts_;  // a reload replaces this runner while its clean-up may wait its turn
};

/// A check as the runner knows it.
struct ScheduledCheck {
  std::string service;
  CheckSpec spec;
};

class CheckRunner {
 public:
  using Listener = std::function<void(const ScheduledCheck&, const CheckResult&)>;

  /// How late starts were against their slots, as a Prometheus histogram counts them.
  struct LatenessHistogram {
    static constexpr double kBounds[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5};  ///< seconds
    uint64_t counts[std::size(kBounds)] = {};  ///< starts at most each bound late (cumulative)
    uint64_t count = 0;
    double sum = 0;
    void add(double seconds) {
      for (size_t i = 0; i < std::size(kBounds); ++i) counts[i] += seconds <= kBounds[i];
      ++count, sum += seconds;
    }
    void add(const LatenessHistogram& o) {
      for (size_t i = 0; i < std::size(kBounds); ++i) counts[i] += o.counts[i];
      count += o.count, sum += o.sum;
    }
  };

  CheckRunner(EventLoop& loop, ProbeEnv& env, Duration slack, Listener listener,
              uint64_t seed = std::random_device{}());

  /// Room for `checks` checks before they are added: 10,000 checks grown one by one held
  /// twice their size at the last regrowth.
  void reserve(size_t checks) { checks_.reserve(checks); }
  void add(const std::string& service, const CheckSpec& spec);
  /// Schedules every added check (first runs spread over their intervals) and arms the timer.
  void start();

  size_t size() const { return checks_.size(); }
  uint64_t started() const { return started_; }
  /// Keeps how late each start was against its slot, in microseconds, in `samples` (the
  /// latest 1,000,000), for a run report. Unasked, nothing is kept per start: a long run's
  /// memory must not grow with its runs.
  void keepLatenessIn(std::vector<uint32_t>* samples) { lateness_ = samples; }
  const LatenessHistogram& latenessHistogram() const { return histogram_; }

 private:
  void tick();
  void arm();

  EventLoop& loop_;
  ProbeRunner probes_;
  Scheduler scheduler_;
  Duration slack_;
  Listener listener_;
  std::vector<ScheduledCheck> checks_;
  EventSource timer_;
  uint64_t started_ = 0;
  std::vector<uint32_t>* lateness_ = nullptr;
  LatenessHistogram histogram_;
};

}  // namespace medic::checks
