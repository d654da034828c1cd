#pragma once
/// Alerts not yet delivered, on disk (<state_dir>/outbox/, one file per delivery, written
/// atomically), so that none is lost when medic, the receiver or the machine restarts. A
/// delivery's file goes only once the receiver has taken it.
#include <cstdint>
#include <string>
#include <vector>

namespace medic::alerts {

struct OutboxEntry {
  uint64_t seq = 0;           ///< order of entry
  std::string target;         ///< a sink's name; an Alertmanager URL is "<sink>@<index>"
  int64_t createdMs = 0;      ///< wall clock
  uint64_t notification = 0;  ///< the notification's id
  std::string headline;       ///< for the log
  std::string payload;        ///< the request body, or the whole e-mail; Alertmanager: one alert object
};

class Outbox {
 public:
  explicit Outbox(std::string dir) : dir_(std::move(dir)) {}
  /// Every entry on disk, in order. A file that cannot be read is moved aside (`warnings`).
  std::vector<OutboxEntry> load(std::vector<std::string>& warnings);
  /// Gives `e` its seq and writes it durably; returns the error, or an empty string.
  std::string add(OutboxEntry& e);
  void remove(const OutboxEntry& e);

 private:
  std::string file(uint64_t seq) const;
  std::string dir_;
  uint64_t nextSeq_ = 1;
};

}  // namespace medic::alerts
