#include "checks/process_check.h"

#include <unistd.h>

#include <fstream>

#include "runtime/event_loop.h"
#include "runtime/process_table.h"
#include "checks/probe_env.h"
#include "runtime/path_rules.h"

namespace medic::checks {

std::string ProcessCheck::target() const {
  if (!spec_.pidfile.empty()) return "pidfile " + spec_.pidfile;
  if (spec_.cmdline) return "cmdline /" + spec_.cmdline->pattern() + "/";
  return "process " + spec_.name;
}

std::vector<PerfDatum> ProcessCheck::measure(TimePoint now, int count, uint64_t rss, double cpuSeconds) const {
  std::vector<PerfDatum> values = {{"count", double(count), ""}, {"rss", double(rss), "B"}};
  if (auto share = cpu_.read(now, cpuSeconds)) values.push_back({kCpuValue, *share, "%"});
  values.push_back({"cpu_seconds", cpuSeconds, "c"});
  return values;
}

CheckResult ProcessCheck::byPidfile(TimePoint now) const {
  std::ifstream in(spec_.pidfile);
  long pid = 0;
  if (!in) return CheckResult::unhealthy("cannot read pidfile " + spec_.pidfile);
  if (!(in >> pid) || pid <= 0) return CheckResult::unhealthy("pidfile " + spec_.pidfile + " holds no pid");
  ProcessInfo p;
  if (!readProcess(static_cast<pid_t>(pid), p))
    return CheckResult::unhealthy("pid " + std::to_string(pid) + " from " + spec_.pidfile + " is not running");
  if (p.state == 'Z') return CheckResult::unhealthy("pid " + std::to_string(pid) + " (" + p.comm + ") is a zombie");
  CheckResult r = CheckResult::healthy("pid " + std::to_string(pid) + " (" + p.comm + ") is running");
  r.perfdata = measure(now, 1, p.rssBytes, p.cpuSeconds);
  return r;
}

std::unique_ptr<Probe> ProcessCheck::start(ProbeEnv& env, TimePoint, ResultCallback done) const {
  if (!spec_.pidfile.empty()) {
    done(byPidfile(env.loop.now()));
    return nullptr;
  }
  const pid_t self = getpid();
  int count = 0;
  uint64_t rss = 0;
  double cpu = 0;
  for (const auto& p : env.processes.snapshot(env.loop.now())) {
    if (p.state == 'Z' || p.pid == self) continue;
    bool match = false;
    if (spec_.cmdline) {
      match = spec_.cmdline->search(p.cmdline);
    } else if (p.comm == spec_.name) {
      match = true;
    } else if (spec_.name.size() > 15 && p.comm == spec_.name.substr(0, 15)) {
      // The kernel cuts names at 15 characters; compare the program's own name instead.
      std::string argv0 = p.cmdline.substr(0, p.cmdline.find(' '));
      match = argv0.substr(argv0.rfind('/') + 1) == spec_.name;
    }
    if (!match) continue;
    ++count;
    rss += p.rssBytes;
    cpu += p.cpuSeconds;
  }
  std::vector<PerfDatum> values = measure(env.loop.now(), count, rss, cpu);
  std::string what = spec_.cmdline ? "matching /" + spec_.cmdline->pattern() + "/" : "named '" + spec_.name + "'";
  std::string message = std::to_string(count) + (count == 1 ? " process " : " processes ") + what;
  if (count < spec_.min) {
    done({Status::unhealthy, message + " (expected at least " + std::to_string(spec_.min) + ")", {}, std::move(values)});
  } else if (spec_.max && count > *spec_.max) {
    done({Status::unhealthy, message + " (expected at most " + std::to_string(*spec_.max) + ")", {}, std::move(values)});
  } else {
    done({Status::healthy, message, {}, std::move(values)});
  }
  return nullptr;
}

std::unique_ptr<Check> parseProcessCheck(MapReader& keys, const CheckContext&) {
  ProcessSpec spec;
  if (keys.has("process_name") + keys.has("cmdline") + keys.has("pidfile") != 1)
    keys.error("a process check needs exactly one of 'process_name', 'cmdline' or 'pidfile'");
  keys.read("process_name", spec.name);
  std::string pattern;
  if (keys.read("cmdline", pattern)) {
    std::string error;
    spec.cmdline = Regex::compile(pattern, error);
    if (!spec.cmdline) keys.error("cmdline", "invalid regex " + quoteValue(pattern) + ": " + error);
  }
  if (keys.read("pidfile", spec.pidfile))
    if (auto e = checkAbsolutePath(spec.pidfile)) keys.error("pidfile", "'pidfile' " + *e);
  keys.read("min", spec.min, 0, 100000);
  int max = 0;
  if (keys.read("max", max, 0, 100000)) {
    spec.max = max;
    if (max < spec.min) keys.error("max", "'max' (" + std::to_string(max) + ") is below 'min' (" + std::to_string(spec.min) + ")");
  }
  if (!spec.pidfile.empty() && (keys.has("min") || keys.has("max")))
    keys.error("a pidfile names one process: 'min' and 'max' do not apply");
  return std::make_unique<ProcessCheck>(std::move(spec));
}

}  // namespace medic::checks
