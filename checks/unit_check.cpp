#include "checks/unit_check.h"

#include <fstream>

#include "checks/probe_env.h"
#include "checks/rules.h"
#include "runtime/event_loop.h"
#include "runtime/names.h"
#include "runtime/process_table.h"
#include "runtime/text.h"

namespace medic::checks {

namespace {

class UnitProbe : public Probe {
 public:
  UnitProbe(const UnitCheck& check, EventLoop& loop, UnitAccountingReader& reader, ResultCallback done)
      : alive_(std::make_shared<bool>(true)) {
    reader.readAccounting(check.spec().unit, [&check, &loop, done = std::move(done), alive = std::weak_ptr<bool>(alive_)](UnitAccounting a) {
      if (alive.expired()) return;  // cancelled (timed out): the answer came too late
      done(check.judge(a, loop.now()));
    });
  }
  std::string stage() const override { return "waiting for systemd"; }

 private:
  std::shared_ptr<bool> alive_;
};

}  // namespace

bool sumControlGroup(const std::string& controlGroup, UnitAccounting& a, std::string& error) {
  if (controlGroup.empty() || controlGroup.find("..") != std::string::npos) {
    error = "systemd names no control group for it";
    return false;
  }
  for (const char* root : {"/sys/fs/cgroup", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"}) {
    std::ifstream procs(std::string(root) + controlGroup + "/cgroup.procs");
    if (!procs) continue;
    uint64_t rss = 0, count = 0;
    double cpu = 0;
    pid_t pid;
    while (procs >> pid) {
      ProcessInfo p;
      if (!readProcess(pid, p)) continue;  // gone meanwhile
      rss += p.rssBytes;
      cpu += p.cpuSeconds;
      ++count;
    }
    if (!a.memoryBytes) a.memoryBytes = rss;
    if (!a.cpuNanoseconds) a.cpuNanoseconds = uint64_t(cpu * 1e9);
    if (!a.tasks) a.tasks = count;
    return true;
  }
  error = "cannot read the process list of " + controlGroup;
  return false;
}

CheckResult UnitCheck::judge(const UnitAccounting& read, TimePoint now) const {
  if (!read.error.empty()) return CheckResult::unknown("cannot read " + spec_.unit + " from systemd: " + read.error);
  UnitAccounting a = read;
  // Each figure systemd does not keep comes from the unit's processes in /proc instead.
  std::vector<std::string> fromSystemd, fromProc;
  auto source = [&](bool kept, const char* what) { (kept ? fromSystemd : fromProc).push_back(what); };
  source(a.memoryBytes.has_value(), "memory");
  source(a.cpuNanoseconds.has_value(), "cpu");
  source(a.tasks.has_value(), "tasks");
  if (!fromProc.empty()) {
    std::string error;
    if (!sumControlGroup(a.controlGroup, a, error))
      return CheckResult::unknown(spec_.unit + ": systemd keeps no accounting of its " + joinWords(fromProc) + " and " + error);
  }
  const double cpuSeconds = double(*a.cpuNanoseconds) / 1e9;
  const std::optional<double> cpu = cpu_.read(now, cpuSeconds);
  std::vector<PerfDatum> values = {{"memory", double(*a.memoryBytes), "B"}};
  std::string memory = formatValue(double(*a.memoryBytes), "B");
  if (a.memoryMaxBytes && *a.memoryMaxBytes > 0) {
    double share = 100.0 * double(*a.memoryBytes) / double(*a.memoryMaxBytes);
    values.push_back({"memory_max_used", share, "%"});
    memory += " (" + std::to_string(int(share)) + "% of MemoryMax " + formatValue(double(*a.memoryMaxBytes), "B") + ")";
  }
  if (cpu) values.push_back({kCpuValue, *cpu, "%"});
  values.push_back({"cpu_seconds", cpuSeconds, "c"});
  values.push_back({"tasks", double(*a.tasks), ""});
  values.push_back({"restarts", double(a.restarts), "c"});

  auto count = [](uint64_t n, const char* what) { return std::to_string(n) + " " + what + (n == 1 ? "" : "s"); };
  std::string message = spec_.unit + ": memory " + memory + (cpu ? ", cpu " + formatValue(*cpu, "%") : "") + ", " +
                        count(*a.tasks, "task") + ", " + count(a.restarts, "restart") + ", from ";
  if (fromProc.empty()) message += "systemd's accounting";
  else if (fromSystemd.empty()) message += "its processes in /proc (systemd keeps no accounting for it)";
  else message += "systemd's accounting (" + joinWords(fromProc) + " from its processes in /proc)";

  auto over = [](const auto& limit, auto value) { return limit && value >= *limit; };
  Status status = Status::healthy;
  if (over(spec_.memoryCrit, *a.memoryBytes) || over(spec_.tasksCrit, int64_t(*a.tasks)) || (cpu && over(spec_.cpuCrit, *cpu)))
    status = Status::unhealthy;
  else if (over(spec_.memoryWarn, *a.memoryBytes) || over(spec_.tasksWarn, int64_t(*a.tasks)) || (cpu && over(spec_.cpuWarn, *cpu)))
    status = Status::degraded;
  return {status, message, {}, std::move(values)};
}

std::unique_ptr<Probe> UnitCheck::start(ProbeEnv& env, TimePoint, ResultCallback done) const {
  if (!env.units) {
    done(CheckResult::unknown("a unit check reads systemd over D-Bus, which this run has no connection to"));
    return nullptr;
  }
  return std::make_unique<UnitProbe>(*this, env.loop, *env.units, std::move(done));
}

std::unique_ptr<Check> parseUnitCheck(MapReader& keys, const CheckContext& where) {
  UnitCheckSpec spec;
  spec.unit = where.unit;
  if (keys.read("unit", spec.unit) && !isValidUnitName(spec.unit))
    keys.error("unit", "invalid unit name " + quoteValue(spec.unit) + ": expected a full unit name such as 'nginx.service'");
  if (spec.unit.empty()) keys.error("a unit check outside a service needs 'unit'");
  uint64_t bytes = 0;
  if (keys.readBytes("memory_warn", bytes)) spec.memoryWarn = bytes;
  if (keys.readBytes("memory_crit", bytes)) spec.memoryCrit = bytes;
  if (spec.memoryWarn && spec.memoryCrit && *spec.memoryWarn > *spec.memoryCrit)
    keys.error("memory_warn", "'memory_warn' must not exceed 'memory_crit'");
  int n = 0;
  if (keys.read("tasks_warn", n, 1, 1000000)) spec.tasksWarn = n;
  if (keys.read("tasks_crit", n, 1, 1000000)) spec.tasksCrit = n;
  if (spec.tasksWarn && spec.tasksCrit && *spec.tasksWarn > *spec.tasksCrit)
    keys.error("tasks_warn", "'tasks_warn' must not exceed 'tasks_crit'");
  double share = 0;
  if (keys.readPercent("cpu_warn", share, kMaxCpuPercent)) spec.cpuWarn = share;
  if (keys.readPercent("cpu_crit", share, kMaxCpuPercent)) spec.cpuCrit = share;
  if (spec.cpuWarn && spec.cpuCrit && *spec.cpuWarn > *spec.cpuCrit)
    keys.error("cpu_warn", "'cpu_warn' must not exceed 'cpu_crit'");
  return std::make_unique<UnitCheck>(std::move(spec));
}

}  // namespace medic::checks
