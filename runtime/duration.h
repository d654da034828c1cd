#pragma once
/// Durations as operators write them: "500ms", "10s", "5m", "1h", "1m30s", "1.5s".
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace medic {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::steady_clock::time_point;

/// The longest duration any setting or command takes: ten years, spelled as below.
constexpr Duration kMaxDuration = std::chrono::hours(24 * 3650);
constexpr const char* kMaxDurationText = "3650d";

/// Parses a duration (units d, h, m, s, ms, us; a number may have a fraction, kept to the
/// microsecond); returns nullopt for anything else (bare numbers included: a unit is
/// required so "30" is never silently read as 30 ms or 30 s), and for one longer than
/// kMaxDuration, when `tooLong` is set. Whatever formatDuration() prints reads back.
std::optional<Duration> parseDuration(std::string_view text, bool* tooLong = nullptr);

/// The shortest faithful spelling, to the microsecond, that parseDuration() reads back:
/// 1500ms -> "1.5s", 90500ms -> "1m30.5s", 250us -> "250us", 0 -> "0ms".
std::string formatDuration(Duration d);

/// A duration in milliseconds, fractions kept (for log lines: "(1.9ms)").
inline double millis(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

/// A wall-clock time as ISO 8601 in UTC: "2026-11-22T10:01:02.345Z", or to the second
/// ("2026-11-22T10:01:02Z") without `withMillis`.
std::string isoTime(int64_t ms, bool withMillis = true);

/// The wall clock in milliseconds since the epoch: for what people read and what outlives
/// medic (history, alerts, saved state); the event loop's monotonic `now` for everything else.
int64_t wallClockMs();

/// Notices the wall clock stepping (`date -s`, an NTP step, a VM resumed after a pause): the
/// distance between it and the monotonic clock moves. What keeps wall-clock stamps to
/// measure intervals (alert reminders, rate-limit windows) moves them by the step, so that
/// an interval lasts as long as it says whatever the clock did. A slew (NTP's gradual
/// correction) moves the distance by milliseconds between readings, under `threshold`.
class WallClockSteps {
 public:
  explicit WallClockSteps(Duration threshold = std::chrono::seconds(1)) : thresholdMs_(threshold / std::chrono::milliseconds(1)) {}
  struct Reading {
    int64_t nowMs;      ///< the wall clock
    int64_t steppedMs;  ///< how far it stepped since the last reading (forward > 0); 0 when it did not
  };
  /// The clocks now.
  Reading read();
  /// The same for given clocks (for tests).
  Reading observe(TimePoint monotonic, int64_t wallMs);

 private:
  int64_t thresholdMs_;
  std::optional<int64_t> offsetMs_;  // wall minus monotonic at the last reading
};

}  // namespace medic
