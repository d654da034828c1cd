#pragma once
/// The settings of each recovery step, as the loader reads them.
#include <string>
#include <string_view>
#include <vector>

namespace medic::config {

struct RestartStep {
  std::vector<std::string> cleanup;  ///< absolute globs removed between stop and start
  std::string pidfile;               ///< stale pidfile removed between stop and start
};
struct ReloadStep {};
struct RestoreStep {
  std::string configDir;              ///< backed up, then replaced by defaultsDir's contents
  std::string defaultsDir;
  std::vector<std::string> dataDirs;  ///< contents cleared
  std::string backupDir;              ///< default: <state_dir>/backups/<service>
  int keepBackups = 5;
};
struct FailoverStep {
  std::string backupUnit;
  bool failBack = true;
};
struct ExecStep {
  std::vector<std::string> command;
  std::string user = "root";
};

enum class StepKind { restart, reload, restore, failover, exec };
std::string_view toString(StepKind k);

}  // namespace medic::config
