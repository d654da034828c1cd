#pragma once
/// The subcommands behind main(): each takes parsed options and returns the exit code.
#include <optional>
#include <string>

#include "runtime/duration.h"

namespace medic::cli {

/// `medic validate`: errors (file:line:col) and exit 1, or a one-line summary and exit 0.
int validateCommand(const std::string& configPath);

/// `medic check`: every check (or one service's) once, concurrently; a table or JSON.
/// Exit code: 0 all healthy, 1 degraded, 2 unhealthy, 3 unknown (worst wins).
int checkCommand(const std::string& configPath, const std::string& service, bool json);

/// `medic plan`: what each service's recovery ladder would do, with the real paths and
/// what is in them now. Touches nothing (the dry run of every step).
int planCommand(const std::string& configPath, const std::string& service);

/// `medic report`: the faults that began within `since` of now, from the state file in the
/// configuration's state_dir; text or JSON. Exit 1 when the state cannot be read.
int reportCommand(const std::string& configPath, Duration since, bool json);

/// `medic alert test`: a test alert through every sink (or one), each result printed.
/// Exit 0 when every sink took it, 1 otherwise.
int alertTestCommand(const std::string& configPath, const std::string& sink);

struct RunOptions {
  std::string configPath;
  std::optional<Duration> exitAfter;  ///< for benchmarks and demos: stop by itself
  std::string reportFile;             ///< JSON with run figures written at exit (benchmarks)
  std::string busAddress;             ///< systemd's bus; empty: the system bus
};

/// `medic run`: the daemon in the foreground until SIGTERM/SIGINT.
int runCommand(const RunOptions& options);

}  // namespace medic::cli
