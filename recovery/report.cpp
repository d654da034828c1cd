#include "recovery/report.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <numeric>

#include "runtime/text.h"

namespace medic::recovery {

double FaultReport::successRate() const {
  uint64_t ended = 0;
  for (const auto& [outcome, n] : byOutcome)
    if (outcome != "under-way") ended += n;
  return ended ? double(byOutcome.count("recovered") ? byOutcome.at("recovered") : 0) / double(ended) : 0;
}

double FaultReport::meanSeconds() const {
  return recoverySeconds.empty() ? 0 : std::accumulate(recoverySeconds.begin(), recoverySeconds.end(), 0.0) / double(recoverySeconds.size());
}

double FaultReport::p95Seconds() const {
  Figures f;
  f.recoverySeconds = recoverySeconds;
  return f.p95Seconds();
}

double FaultReport::maxSeconds() const {
  return recoverySeconds.empty() ? 0 : *std::max_element(recoverySeconds.begin(), recoverySeconds.end());
}

FaultReport buildReport(const SavedState& state, int64_t sinceMs, int64_t untilMs) {
  FaultReport r;
  r.sinceMs = sinceMs;
  r.untilMs = untilMs;
  for (const auto& [name, st] : state.services)
    for (const auto& f : st.faults) {
      if (f.startedMs < sinceMs || f.startedMs > untilMs) continue;
      if (f.drill) {
        ++r.drills;
        if (f.endedMs != 0 && f.outcome == "recovered") {
          ++r.drillsRecovered;
          r.drillSeconds.push_back(double(f.endedMs - f.startedMs) / 1000.0);
        }
        continue;
      }
      if (!f.dependency.empty()) {
        ++r.dependents.faults;
        ++r.dependents.byDependency[f.dependency];
        ++r.dependents.byOutcome[f.endedMs == 0 ? "under-way" : f.outcome];
        ++r.dependents.byService[name];
        continue;
      }
      ++r.faults;
      ++r.byCause[f.cause.empty() ? "unknown" : f.cause];
      ++r.bySeverity[f.severity.empty() ? "unknown" : f.severity];
      ++r.byOutcome[f.endedMs == 0 ? "under-way" : f.outcome];
      for (const auto& v : f.steps) ++r.steps[v.step][v.verdict];
      FaultReport::PerService& p = r.services[name];
      ++p.faults;
      if (f.rtoExceeded) {
        ++r.rtoExceeded;
        ++p.rtoExceeded;
      }
      if (f.endedMs != 0 && f.outcome == "recovered") {
        double seconds = double(f.endedMs - f.startedMs) / 1000.0;
        r.recoverySeconds.push_back(seconds);
        ++p.recovered;
        p.worstSeconds = std::max(p.worstSeconds, seconds);
      }
    }
  return r;
}

std::string reportText(const FaultReport& r) {
  auto counts = [](const std::map<std::string, uint64_t>& m) {
    std::string out;
    for (const auto& [k, n] : m) out += (out.empty() ? "" : ", ") + k + " " + std::to_string(n);
    return out.empty() ? std::string("none") : out;
  };
  std::string out = "faults from " + isoTime(r.sinceMs, false) + " to " + isoTime(r.untilMs, false) + ": " + std::to_string(r.faults) + "\n";
  std::string drills;
  if (r.drills) {
    double worst = r.drillSeconds.empty() ? 0 : *std::max_element(r.drillSeconds.begin(), r.drillSeconds.end());
    // (`medic drill` counts from the fault it injected, detection included; a record counts from
    // its recovery's start, as every figure here does: both say which)
    drills = fmt::format("drills (apart from the faults): {}, {} healed{}\n", r.drills, r.drillsRecovered,
                         r.drillSeconds.empty() ? std::string()
                                                : fmt::format(", worst {:.1f}s from the recovery's start to verified healthy", worst));
  }
  if (r.dependents.faults)
    drills = fmt::format("put down to a dependency (apart from the faults; each is its dependency's): {}\n"
                         "  by dependency: {}\n  by service:    {}\n  outcome:       {}\n",
                         r.dependents.faults, counts(r.dependents.byDependency), counts(r.dependents.byService),
                         counts(r.dependents.byOutcome)) + drills;
  if (r.faults == 0) return out + drills;
  out += "  by cause:     " + counts(r.byCause) + "\n";
  out += "  by severity:  " + counts(r.bySeverity) + "\n";
  out += "  outcome:      " + counts(r.byOutcome) + fmt::format(" (success rate {:.0f}%)\n", 100 * r.successRate());
  // A fault that did not recover has no time to recover: none is said rather than 0.
  if (r.recoverySeconds.empty())
    out += "  to recover:   - (none recovered)\n";
  else
    out += fmt::format("  to recover:   mean {:.1f}s, p95 {:.1f}s, max {:.1f}s over {} recovered (from the recovery's start)\n",
                       r.meanSeconds(), r.p95Seconds(), r.maxSeconds(), r.recoverySeconds.size());
  out += "  over the rto: " + std::to_string(r.rtoExceeded) + "\n";
  std::vector<std::vector<std::string>> steps{{"STEP", "HEALED", "DID NOT HEAL", "FAILED", "SKIPPED"}};
  for (const auto& [step, byVerdict] : r.steps) {
    const auto& verdicts = byVerdict;  // clang before 16 cannot capture a structured binding (dev/fuzz builds with clang 14)
    auto n = [&](const char* v) { return std::to_string(verdicts.count(v) ? verdicts.at(v) : 0); };
    steps.push_back({step, n("healed"), n("did_not_heal"), n("failed"), n("skipped")});
  }
  out += "\n" + formatTable(steps);
  std::vector<std::vector<std::string>> services{{"SERVICE", "FAULTS", "RECOVERED", "WORST", "OVER RTO"}};
  for (const auto& [name, p] : r.services)
    services.push_back({name, std::to_string(p.faults), std::to_string(p.recovered), p.recovered ? fmt::format("{:.1f}s", p.worstSeconds) : "-",
                        std::to_string(p.rtoExceeded)});
  out += "\n" + formatTable(services);
  if (!drills.empty()) out += "\n" + drills;
  return out;
}

std::string reportJson(const FaultReport& r) {
  nlohmann::json services = nlohmann::json::object();
  for (const auto& [name, p] : r.services)
    services[name] = {{"faults", p.faults}, {"recovered", p.recovered},
                      {"worst_seconds", p.recovered ? nlohmann::json(p.worstSeconds) : nlohmann::json(nullptr)},
                      {"rto_exceeded", p.rtoExceeded}};
  // Times to recover of no recovery are not 0: null.
  auto seconds = [&](double v) { return r.recoverySeconds.empty() ? nlohmann::json(nullptr) : nlohmann::json(v); };
  nlohmann::json j = {{"since", isoTime(r.sinceMs, false)},
                      {"until", isoTime(r.untilMs, false)},
                      {"faults", r.faults},
                      {"by_cause", r.byCause},
                      {"by_severity", r.bySeverity},
                      {"by_outcome", r.byOutcome},
                      {"steps", r.steps},
                      {"success_rate", r.successRate()},
                      {"recovered", r.recoverySeconds.size()},
                      {"mean_seconds", seconds(r.meanSeconds())},
                      {"p95_seconds", seconds(r.p95Seconds())},
                      {"max_seconds", seconds(r.maxSeconds())},
                      {"rto_exceeded", r.rtoExceeded},
                      {"services", services},
                      {"put_down_to_dependency", {{"count", r.dependents.faults},
                                                  {"by_dependency", r.dependents.byDependency},
                                                  {"by_service", r.dependents.byService},
                                                  {"by_outcome", r.dependents.byOutcome}}},
                      {"drills", {{"count", r.drills}, {"recovered", r.drillsRecovered}, {"seconds", r.drillSeconds}}}};
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace medic::recovery
