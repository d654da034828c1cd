#pragma once
/// CPU % over a check's interval, from a CPU-time counter read at each run: the time used since
/// the previous reading over the wall time between them. 100 is one core busy (top's and
/// systemd-cgtop's convention; a service on two busy cores is at 200).
#include <optional>

#include "runtime/duration.h"

namespace medic::checks {

/// The name of the CPU % value, and the largest share a threshold on it may name (100 = one
/// core: a threshold may exceed 100 on a host with several).
inline constexpr const char* kCpuValue = "cpu";
inline constexpr double kMaxCpuPercent = 100.0 * 1024;

class CpuMeter {
 public:
  /// The share since the last reading; none on the first reading, and none when the counter
  /// went back (the processes it sums were replaced: the next reading measures again).
  std::optional<double> read(TimePoint now, double cpuSeconds) {
    std::optional<double> share;
    if (last_ && now > last_->at && cpuSeconds >= last_->cpuSeconds)
      share = 100.0 * (cpuSeconds - last_->cpuSeconds) / std::chrono::duration<double>(now - last_->at).count();
    last_ = Reading{now, cpuSeconds};
    return share;
  }

 private:
  struct Reading {
    TimePoint at;
    double cpuSeconds;
  };
  std::optional<Reading> last_;
};

}  // namespace medic::checks
