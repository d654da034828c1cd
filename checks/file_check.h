#pragma once
/// file: what is at `path` — that it exists (or must not), is a regular file or a directory,
/// was modified within `max_age`, is at least/at most a size, has an owner and a mode
/// (Monit's `check file … if timestamp > 15 minutes`; a backup's, cron job's or worker's
/// heartbeat file). Read with lstat: a symbolic link is reported as one, never followed.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "checks/check.h"
#include "runtime/map_reader.h"

namespace medic::checks {

struct FileSpec {
  enum class Kind { any, file, directory };
  std::string path;
  bool present = true;  ///< false: healthy only while nothing is at `path`
  Kind kind = Kind::any;
  std::optional<Duration> maxAge;  ///< its mtime at most this long ago
  std::optional<uint64_t> minSize, maxSize;
  std::optional<uid_t> owner;
  std::string ownerName;           ///< as written in the config, for messages
  std::optional<mode_t> mode;      ///< the permission bits, exactly (0640)
};

class FileCheck : public Check {
 public:
  explicit FileCheck(FileSpec spec) : spec_(std::move(spec)) {}
  const FileSpec& spec() const { return spec_; }
  std::string target() const override { return "file " + spec_.path; }
  std::vector<ValueInfo> values() const override { return {{"age", "s"}, {"size", "B"}}; }
  std::unique_ptr<Probe> start(ProbeEnv& env, TimePoint deadline, ResultCallback done) const override;

 private:
  CheckResult judge() const;
  FileSpec spec_;
};

std::unique_ptr<Check> parseFileCheck(MapReader& keys, const CheckContext&);

}  // namespace medic::checks
