#pragma once
/// Reading back what medic saved itself (state.json, alerts.json, the alert outbox) as the
/// untrusted input it is after a crash, a full disk or a hostile hand: never through a
/// symlink, never blocking on a FIFO or a device, never more than a cap, and every number
/// checked against its range before it becomes a duration or a count. A file that fails
/// any of this is moved aside and medic starts without it.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace medic {

/// The caps, said in every refusal. A state file holds at most 50 actions and 100 times per
/// service; an outbox entry one notification (an e-mail's body is the largest).
constexpr size_t kStateFileCap = 64u << 20;
constexpr size_t kAlertsFileCap = 16u << 20;
constexpr size_t kOutboxEntryCap = 4u << 20;

/// Saved durations (cooldowns, pauses, ages): 0 to ten years, in milliseconds.
constexpr int64_t kMaxSavedDurationMs = 3650LL * 24 * 3600 * 1000;
/// Saved wall-clock times: 0 (unset) to the year 2100, in milliseconds since the epoch.
constexpr int64_t kMaxSavedTimeMs = 4102444800000LL;

struct SavedFile {
  bool found = false;  ///< false: no file (a first start)
  std::string text;
  std::string error;   ///< why it cannot be used; empty when `text` holds it
};

/// Opens `path` without following a symlink and without blocking, requires a regular file
/// of at most `cap` bytes, and reads it.
SavedFile readSavedFile(const std::string& path, size_t cap);

/// Renames `path` (whatever it is: a link is moved, never followed) to
/// `path.corrupt-<UTC time>`; returns the new name, or an empty string when it could not.
std::string moveAside(const std::string& path);

/// `j[key]`, an integer within [lo, hi]; throws, naming the key and the value, otherwise
/// (a float, a string, or a number out of range is never cast).
template <class T>
T savedInteger(const nlohmann::json& j, const char* key, T lo = std::numeric_limits<T>::min(),
               T hi = std::numeric_limits<T>::max()) {
  static_assert(std::is_integral_v<T>);
  const nlohmann::json& v = j.at(key);
  bool ok = false;
  T out{};
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    ok = u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) || std::is_unsigned_v<T>;
    if (ok) {
      if constexpr (std::is_unsigned_v<T>) ok = u >= static_cast<uint64_t>(lo) && u <= static_cast<uint64_t>(hi);
      else ok = static_cast<int64_t>(u) >= static_cast<int64_t>(lo) && static_cast<int64_t>(u) <= static_cast<int64_t>(hi);
      out = static_cast<T>(u);
    }
  } else if (v.is_number_integer()) {
    int64_t s = v.get<int64_t>();
    if constexpr (std::is_unsigned_v<T>) ok = s >= 0 && static_cast<uint64_t>(s) >= static_cast<uint64_t>(lo) && static_cast<uint64_t>(s) <= static_cast<uint64_t>(hi);
    else ok = s >= static_cast<int64_t>(lo) && s <= static_cast<int64_t>(hi);
    out = static_cast<T>(s);
  }
  if (!ok) throw std::out_of_range(std::string("'") + key + "' is " + (v.is_number() ? v.dump() : std::string("a ") + v.type_name()) + ", not a whole number from " +
                                   std::to_string(lo) + " to " + std::to_string(hi));
  return out;
}

/// Writes dir/name durably: a temporary file, fsync, rename, fsync of the directory (which
/// is created if missing). Returns the error, or an empty string.
std::string writeAtomically(const std::string& dir, const std::string& name, const std::string& text);

}  // namespace medic
