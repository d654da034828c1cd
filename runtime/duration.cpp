#include "runtime/duration.h"

#include <cstdint>

namespace medic {

using namespace std::chrono;

std::optional<Duration> parseDuration(std::string_view text, bool* tooLong) {
  if (tooLong) *tooLong = false;
  if (text.empty()) return std::nullopt;
  // Summed in milliseconds against the limit before anything can overflow: 12 digits of
  // days would not fit in nanoseconds.
  constexpr int64_t kMaxMs = std::chrono::duration_cast<milliseconds>(kMaxDuration).count();
  int64_t totalMs = 0;
  bool over = false;
  size_t i = 0;
  while (i < text.size()) {
    size_t digits = i;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == i || digits - i > 12) return std::nullopt;
    int64_t value = std::stoll(std::string(text.substr(i, digits - i)));  // < 10^12
    size_t unitEnd = digits;
    while (unitEnd < text.size() && text[unitEnd] >= 'a' && text[unitEnd] <= 'z') ++unitEnd;
    std::string_view unit = text.substr(digits, unitEnd - digits);
    int64_t unitMs = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60'000 : unit == "h" ? 3'600'000
                   : unit == "d" ? 86'400'000 : 0;
    if (unitMs == 0) return std::nullopt;
    if (value > (kMaxMs - totalMs) / unitMs) over = true;  // keeps reading: a typo still says "not a duration"
    else totalMs += value * unitMs;
    i = unitEnd;
  }
  if (over) {
    if (tooLong) *tooLong = true;
    return std::nullopt;
  }
  return milliseconds(totalMs);
}

std::string formatDuration(Duration d) {
  auto ms = duration_cast<milliseconds>(d).count();
  if (ms == 0 && d.count() != 0) return std::to_string(duration_cast<microseconds>(d).count()) + "us";
  if (ms < 1000) return std::to_string(ms) + "ms";
  if (ms < 60'000) {
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    std::string s = std::to_string(ms / 1000) + "." + std::to_string(1000 + ms % 1000).substr(1);
    while (s.back() == '0') s.pop_back();
    return s + "s";
  }
  std::string out;
  auto secs = ms / 1000;
  if (secs >= 3600) { out += std::to_string(secs / 3600) + "h"; secs %= 3600; }
  if (secs >= 60) { out += std::to_string(secs / 60) + "m"; secs %= 60; }
  if (secs > 0) out += std::to_string(secs) + "s";
  return out;
}

int64_t wallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace medic
