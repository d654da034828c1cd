#include "config/duration.h"

#include <cstdint>

namespace medic {

using namespace std::chrono;

std::optional<Duration> parseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  Duration total{0};
  size_t i = 0;
  while (i < text.size()) {
    size_t digits = i;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == i || digits - i > 12) return std::nullopt;
    int64_t value = std::stoll(std::string(text.substr(i, digits - i)));
    size_t unitEnd = digits;
    while (unitEnd < text.size() && text[unitEnd] >= 'a' && text[unitEnd] <= 'z') ++unitEnd;
    std::string_view unit = text.substr(digits, unitEnd - digits);
    if (unit == "ms") total += milliseconds(value);
    else if (unit == "s") total += seconds(value);
    else if (unit == "m") total += minutes(value);
    else if (unit == "h") total += hours(value);
    else if (unit == "d") total += hours(24 * value);
    else return std::nullopt;
    i = unitEnd;
  }
  return total;
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
