#include "runtime/duration.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace medic {

using namespace std::chrono;

namespace {

// Microseconds per unit: the units an operator writes, and the "us" medic prints below 1 ms.
int64_t unitMicros(std::string_view unit) {
  return unit == "us" ? 1 : unit == "ms" ? 1000 : unit == "s" ? 1'000'000 : unit == "m" ? 60'000'000
       : unit == "h" ? 3'600'000'000 : unit == "d" ? 86'400'000'000 : 0;
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::optional<Duration> parseDuration(std::string_view text, bool* tooLong) {
  if (tooLong) *tooLong = false;
  if (text.empty()) return std::nullopt;
  // Summed in microseconds against the limit before anything can overflow: 12 digits of
  // days would not fit in nanoseconds. A fraction ("1.5s", as medic prints) is kept to the
  // microsecond.
  constexpr int64_t kMaxUs = duration_cast<microseconds>(kMaxDuration).count();
  int64_t totalUs = 0;
  bool over = false;
  size_t i = 0;
  while (i < text.size()) {
    size_t digits = i;
    while (digits < text.size() && isDigit(text[digits])) ++digits;
    if (digits == i || digits - i > 12) return std::nullopt;
    int64_t value = std::stoll(std::string(text.substr(i, digits - i)));  // < 10^12
    std::string_view fraction;
    if (digits < text.size() && text[digits] == '.') {
      size_t f = digits + 1;
      while (f < text.size() && isDigit(text[f])) ++f;
      fraction = text.substr(digits + 1, f - digits - 1);
      if (fraction.empty() || fraction.size() > 9) return std::nullopt;
      digits = f;
    }
    size_t unitEnd = digits;
    while (unitEnd < text.size() && text[unitEnd] >= 'a' && text[unitEnd] <= 'z') ++unitEnd;
    int64_t unitUs = unitMicros(text.substr(digits, unitEnd - digits));
    if (unitUs == 0) return std::nullopt;
    // The fraction's share of the unit, to the microsecond (at most 9 digits: no overflow).
    int64_t fractionUs = 0;
    if (!fraction.empty()) {
      int64_t scale = 1;
      for (size_t k = 0; k < fraction.size(); ++k) scale *= 10;
      fractionUs = int64_t((__int128)std::stoll(std::string(fraction)) * unitUs / scale);
    }
    if (value > (kMaxUs - totalUs) / unitUs || value * unitUs + fractionUs > kMaxUs - totalUs)
      over = true;  // keeps reading: a typo still says "not a duration"
    else
      totalUs += value * unitUs + fractionUs;
    i = unitEnd;
  }
  if (over) {
    if (tooLong) *tooLong = true;
    return std::nullopt;
  }
  return microseconds(totalUs);
}

std::string formatDuration(Duration d) {
  auto us = duration_cast<microseconds>(d).count();
  if (d < Duration::zero()) return "-" + formatDuration(-d);
  if (us == 0) return d == Duration::zero() ? "0ms" : "0us";  // below a microsecond: nothing medic reads
  if (us < 1000) return std::to_string(us) + "us";
  // A whole number and a fraction with its trailing zeros cut: 1500us -> "1.5".
  auto decimal = [](int64_t whole, int64_t part, int digits) {
    std::string s = std::to_string(whole);
    if (part == 0) return s;
    std::string frac = std::to_string(part);
    frac.insert(0, size_t(digits) - frac.size(), '0');
    while (frac.back() == '0') frac.pop_back();
    return s + "." + frac;
  };
  if (us < 1'000'000) return decimal(us / 1000, us % 1000, 3) + "ms";
  std::string out;
  int64_t secs = us / 1'000'000, part = us % 1'000'000;
  if (secs >= 3600) { out += std::to_string(secs / 3600) + "h"; secs %= 3600; }
  if (secs >= 60) { out += std::to_string(secs / 60) + "m"; secs %= 60; }
  if (secs > 0 || part > 0) out += decimal(secs, part, 6) + "s";
  return out;
}

int64_t wallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

WallClockSteps::Reading WallClockSteps::read() {
  TimePoint before = std::chrono::steady_clock::now();
  int64_t wall = wallClockMs();
  TimePoint after = std::chrono::steady_clock::now();
  // Preempted between the readings (a loaded machine): they do not tell a step from the wait.
  if (after - before > std::chrono::milliseconds(50)) return {wall, 0};
  return observe(before, wall);
}

WallClockSteps::Reading WallClockSteps::observe(TimePoint monotonic, int64_t wallMs) {
  int64_t offset = wallMs - std::chrono::duration_cast<std::chrono::milliseconds>(monotonic.time_since_epoch()).count();
  int64_t stepped = offsetMs_ ? offset - *offsetMs_ : 0;
  offsetMs_ = offset;  // (every reading: slews never add up to a step)
  return {wallMs, std::abs(stepped) >= thresholdMs_ ? stepped : 0};
}

std::string isoTime(int64_t ms, bool withMillis) {
  std::time_t secs = ms / 1000;
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!withMillis) return std::string(buf) + "Z";
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, int(ms % 1000));
  return out;
}

}  // namespace medic
