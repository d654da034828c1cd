#pragma once
/// The unit's own journal around a failure, for alerts and `medic status SERVICE`: the last
/// lines its processes wrote and what systemd said of it (what `journalctl -u UNIT` shows),
/// read with sd-journal. Only the unit's own words: medic adds nothing to them.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace medic::strategies {

struct ExcerptLimits {
  size_t lines = 20;        ///< the last N entries
  size_t lineBytes = 512;   ///< a longer message is cut (and says so)
  size_t totalBytes = 4096; ///< the oldest lines are dropped to fit
};

/// "Dec 05 10:01:02 demo[123]: message" lines, oldest first, each one line of valid UTF-8
/// (control characters and invalid bytes escaped as \xNN), cut to `limits`; only entries
/// written before `untilUsec` (wall clock, µs since the epoch; 0: up to now), so that a
/// failure's lines are not pushed out by what its restart wrote. Reads the local journal;
/// empty (with `error` set) when it cannot be read. Blocking: call it off the loop.
std::vector<std::string> readUnitJournal(const std::string& unit, const ExcerptLimits& limits, uint64_t untilUsec = 0,
                                         std::string* error = nullptr);

/// Raw messages made into an excerpt's lines: each escaped and cut to `lineBytes`, then the
/// oldest dropped until the whole fits `totalBytes` (a note of how many were dropped first).
std::vector<std::string> fitExcerpt(std::vector<std::string> lines, const ExcerptLimits& limits);

}  // namespace medic::strategies
