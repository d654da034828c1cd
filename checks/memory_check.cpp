#include "checks/memory_check.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>

namespace medic::checks {

std::optional<MemoryUsage> readMemoryUsage(const std::string& meminfo, std::string& error) {
  FILE* f = std::fopen(meminfo.c_str(), "re");
  if (!f) {
    error = "cannot read " + meminfo + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::map<std::string, uint64_t> kb;
  char name[64];
  uint64_t value;
  while (std::fscanf(f, "%63[^:]: %" SCNu64 " kB\n", name, &value) == 2) kb[name] = value;
  std::fclose(f);
  if (!kb.count("MemTotal") || !kb.count("MemAvailable") || kb["MemTotal"] == 0) {
    error = meminfo + " lacks MemTotal/MemAvailable";
    return std::nullopt;
  }
  return MemoryUsage{kb["MemTotal"], kb["MemAvailable"], kb["SwapTotal"], kb["SwapFree"]};
}

std::unique_ptr<Probe> MemoryCheck::start(ProbeEnv&, TimePoint, ResultCallback done) const {
  std::string error;
  auto kb = readMemoryUsage(spec_.meminfo, error);
  if (!kb) {
    done(CheckResult::unknown(error));
    return nullptr;
  }
  double used = kb->usedPercent();
  Status status = spec_.memory.grade(used);
  char buf[128];
  std::snprintf(buf, sizeof buf, " (%.1f GiB available of %.1f GiB)", kb->availableKb / 1048576.0, kb->totalKb / 1048576.0);
  std::string message = "memory " + usage(used, "used", spec_.memory) + buf;
  uint64_t total = kb->swapTotalKb, free = std::min(kb->swapFreeKb, total);
  double swapUsed = total ? 100.0 * double(total - free) / double(total) : 0;
  std::vector<PerfDatum> values = {{"used", used, "%"}, {"available", double(kb->availableKb) * 1024, "B"}, {"swap_used", swapUsed, "%"}};
  if (spec_.swap) {
    status = worst(status, spec_.swap->grade(swapUsed));
    message += total ? ", swap " + usage(swapUsed, "used", *spec_.swap) : ", no swap";
  }
  done({status, message, {}, std::move(values)});
  return nullptr;
}

std::unique_ptr<Check> parseMemoryCheck(MapReader& keys, const CheckContext&) {
  MemorySpec spec;
  spec.memory = {90, 95};
  readThresholds(keys, "", spec.memory);
  if (keys.has("swap_warn") || keys.has("swap_crit")) {
    UsageThresholds swap{50, 80};
    readThresholds(keys, "swap_", swap);
    spec.swap = swap;
  }
  return std::make_unique<MemoryCheck>(spec);
}

}  // namespace medic::checks
