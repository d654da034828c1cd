#include "strategies/cause.h"

#include <signal.h>
#include <string.h>

#include <algorithm>

namespace medic::strategies {

namespace {

struct KindName {
  CauseKind kind;
  std::string_view word;
};
constexpr KindName kKinds[] = {
    {CauseKind::none, "none"},         {CauseKind::check, "check"},
    {CauseKind::rule, "rule"},         {CauseKind::exitCode, "exit-code"},
    {CauseKind::signal, "signal"},     {CauseKind::coreDump, "core-dump"},
    {CauseKind::oomKill, "oom-kill"},  {CauseKind::watchdog, "watchdog"},
    {CauseKind::timeout, "timeout"},   {CauseKind::startLimit, "start-limit"},
    {CauseKind::resources, "resources"}, {CauseKind::failed, "failed"},
    {CauseKind::stopped, "stopped"},   {CauseKind::dependency, "dependency"},
};

// The exit statuses systemd's service manager itself gives a unit's process when it could not
// set up what the unit asks for, before the program ran (systemd.exec(5), "Process Exit
// Codes"): said as `systemctl status` says them ("status=200/CHDIR"), with what it means.
struct SetupFailure {
  int status;
  std::string_view name, meaning;
};
constexpr SetupFailure kSetupFailures[] = {
    {200, "CHDIR", "could not change to its WorkingDirectory="},
    {203, "EXEC", "could not execute its program (missing or not executable?)"},
    {208, "STDIN", "could not set up its standard input"},
    {209, "STDOUT", "could not set up its standard output"},
    {216, "GROUP", "could not switch to its Group="},
    {217, "USER", "could not switch to its User="},
    {218, "CAPABILITIES", "could not set its capabilities"},
    {226, "NAMESPACE", "could not set up its file system namespace (ReadWritePaths=, ProtectSystem=, ...)"},
    {233, "RUNTIME_DIRECTORY", "could not create its RuntimeDirectory="},
    {238, "STATE_DIRECTORY", "could not create its StateDirectory="},
    {241, "CONFIGURATION_DIRECTORY", "could not create its ConfigurationDirectory="},
};

std::string exitWords(const std::string& unit, int status) {
  for (const auto& f : kSetupFailures)
    if (f.status == status)
      return unit + " exited with status " + std::to_string(status) + "/" + std::string(f.name) + ": systemd " +
             std::string(f.meaning) + ", before the program ran";
  return unit + " exited with status " + std::to_string(status);
}

// The groups a `when:` may name, and the kinds in each.
bool inGroup(std::string_view group, CauseKind k) {
  using K = CauseKind;
  if (group == "crash") return k == K::exitCode || k == K::signal || k == K::coreDump;
  if (group == "unhealthy") return k == K::check || k == K::rule;
  if (group == "unit") return k != K::none && k != K::check && k != K::rule && k != K::dependency;
  return false;
}

// systemd's ExecMainCode: the si_code of the main process' end (waitid(2)).
constexpr int kExited = 1, kKilled = 2, kDumped = 3;

}  // namespace

std::vector<std::string_view> causeKindWords() {
  std::vector<std::string_view> words;
  for (const auto& k : kKinds)
    if (k.kind != CauseKind::none) words.push_back(k.word);
  return words;
}

std::string_view toString(CauseKind kind) {
  for (const auto& k : kKinds)
    if (k.kind == kind) return k.word;
  return "none";
}

std::optional<CauseKind> causeKindFrom(std::string_view word) {
  for (const auto& k : kKinds)
    if (k.word == word) return k.kind;
  return std::nullopt;
}

const std::vector<std::string_view>& causeWords() {
  static const std::vector<std::string_view> words = [] {
    std::vector<std::string_view> w = causeKindWords();
    std::erase(w, toString(CauseKind::dependency));
    for (std::string_view group : {"crash", "unhealthy", "unit"}) w.push_back(group);
    return w;
  }();
  return words;
}

std::string signalName(int signal) {
  const char* abbrev = signal > 0 ? sigabbrev_np(signal) : nullptr;
  return abbrev ? abbrev : std::to_string(signal);
}

checks::Severity Cause::severity() const {
  switch (kind) {
    case CauseKind::check: case CauseKind::rule: case CauseKind::stopped: case CauseKind::dependency: case CauseKind::none:
      return checks::Severity::warning;
    default:
      return checks::Severity::critical;
  }
}

bool Cause::matches(std::string_view when) const {
  if (kind == CauseKind::none) return false;
  if (when == id() || inGroup(when, kind)) return true;
  // A check's name takes the check failing and its rules firing alike.
  if (kind == CauseKind::rule && !check.empty() && when == check) return true;
  return (kind == CauseKind::check || kind == CauseKind::rule) && !name.empty() && when == name;
}

Cause Cause::ofCheck(const std::string& check, const std::string& words) {
  return Cause{CauseKind::check, check, "", 0, words};
}

Cause Cause::ofRule(const std::string& rule, const std::string& check, const std::string& words) {
  return Cause{CauseKind::rule, rule, check, 0, words};
}

Cause Cause::stoppedBehindBack(const std::string& unit) {
  return Cause{CauseKind::stopped, "", "", 0, unit + " stopped although it was running (not by medic)"};
}

Cause Cause::ofDependency(const std::string& dependency, const std::string& words) {
  return Cause{CauseKind::dependency, dependency, "", 0, words};
}

Cause Cause::ofUnit(const std::string& unit, const UnitState& s) {
  Cause c;
  const std::string& r = s.result;
  int status = s.execMainStatus;
  if (r == "oom-kill") {
    c.kind = CauseKind::oomKill;
    c.words = unit + " was killed by the OOM killer";
  } else if (r == "core-dump" || (r == "signal" && s.execMainCode == kDumped)) {
    c.kind = CauseKind::coreDump;
    c.code = status;
    c.words = unit + " dumped core (signal " + std::to_string(status) + ", " + signalName(status) + ")";
  } else if (r == "signal" || (r.empty() && s.execMainCode == kKilled)) {
    c.kind = CauseKind::signal;
    c.code = status;
    c.words = unit + " was killed by signal " + std::to_string(status) + " (" + signalName(status) + ")";
  } else if (r == "exit-code" || (r.empty() && s.execMainCode == kExited && status != 0)) {
    c.kind = CauseKind::exitCode;
    c.code = status;
    c.words = exitWords(unit, status);
  } else if (r == "watchdog") {
    c.kind = CauseKind::watchdog;
    c.words = unit + " missed its watchdog (WatchdogSec=)";
  } else if (r == "timeout") {
    c.kind = CauseKind::timeout;
    c.words = unit + " timed out (starting, stopping, or running past its RuntimeMaxSec=)";  // systemd says only "timeout"
  } else if (r == "start-limit-hit") {
    c.kind = CauseKind::startLimit;
    c.words = unit + " hit its start limit (StartLimitBurst=)";
  } else if (r == "resources") {
    c.kind = CauseKind::resources;
    c.words = unit + " failed: systemd could not set up its resources";
  } else {
    c.kind = CauseKind::failed;
    c.words = "systemd reports " + unit + " failed" + (r.empty() || r == "success" ? "" : " (result: " + r + ")");
  }
  return c;
}

}  // namespace medic::strategies
