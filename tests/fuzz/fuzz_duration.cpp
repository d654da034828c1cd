// Durations as written in config ("1h30m", "250ms"): a duration that parses is within
// medic's bound, and what medic prints (in `medic plan`, status, errors, for an operator to
// copy back into a config) parses back to the same duration.
#include "fuzz_support.h"
#include "runtime/duration.h"

using namespace medic;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  bool tooLong = false;
  auto d = parseDuration(text, &tooLong);
  if (!d) return 0;
  if (tooLong) fuzz::broken("a duration both parsed and too long");
  if (*d < Duration::zero() || *d > kMaxDuration) fuzz::broken("a duration out of bounds: " + std::string(text));
  std::string printed = formatDuration(*d);
  auto back = parseDuration(printed);
  if (!back) fuzz::broken("medic prints a duration it cannot read: " + printed);
  if (*back != *d) fuzz::broken("a duration printed and read back changed: " + std::string(text) + " -> " + printed);
  return 0;
}
