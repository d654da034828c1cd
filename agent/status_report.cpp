// The status JSON (docs/status.schema.json) that `medic status` shows.
#include "agent/status_report.h"

#include <nlohmann/json.hpp>

#include "alerts/alert.h"
#include "version.h"

namespace medic::agent {

using checks::Status;
using json = nlohmann::json;

namespace {

json envelope() {
  return {{"version", 1}, {"host", alerts::hostName()}, {"medic_version", MEDIC_VERSION}, {"time", alerts::isoTime(wallClockMs())}};
}

}  // namespace

std::string statusJson(const Supervisor& supervisor, const std::string& only, TimePoint now) {
  int64_t wallNow = wallClockMs();
  auto wallOf = [&](TimePoint t) { return wallNow - std::chrono::duration_cast<std::chrono::milliseconds>(now - t).count(); };
  auto describe = [&](const std::string& name, const Supervisor::Service& s) {
    const recovery::RecoveryMachine& m = *s.machine;
    json failing = json::array();
    for (const auto& c : s.spec->checks)
      if (const auto* r = s.last(c.name); r && r->result.status != Status::healthy)
        failing.push_back({{"name", c.name},
                           {"critical", c.critical},
                           {"status", std::string(checks::toString(r->result.status))},
                           {"message", r->result.message}});
    json recovery = nullptr;
    recovery::Phase phase = m.phase();
    const auto& ladder = m.ladder();
    if (m.round() > 0 && m.step() < ladder.size())
      recovery = {{"step", ladder[m.step()].kind},
                  {"ladder", s.spec->recovery.ladderName(m.ladderIndex())},
                  {"step_index", m.step()},
                  {"attempt", m.attempt()},
                  {"attempts", ladder[m.step()].attempts},
                  {"round", m.round()},
                  {"rounds", s.spec->recovery.maxRounds},
                  {"requested_by_operator", m.manualStepRunning()}};
    json paused = nullptr;
    if (m.paused()) {
      auto st = supervisor.saved().services.find(name);
      bool known = st != supervisor.saved().services.end() && !st->second.pausedBy.empty();  // (files before 0.2 lack it)
      paused = {{"until", m.pausedUntil() ? json(alerts::isoTime(wallOf(*m.pausedUntil()))) : json(nullptr)},
                {"reason", known ? st->second.pauseReason : m.pauseReason()},
                {"by", known ? json(st->second.pausedBy) : json(nullptr)},
                {"by_uid", st != supervisor.saved().services.end() && st->second.pausedByUid >= 0 ? json(st->second.pausedByUid)
                                                                                        : json(nullptr)}};
    }
    json dependsOn = json::array();
    for (const auto& d : s.spec->dependsOn) dependsOn.push_back(d.name);
    json heldBy = nullptr;
    if (phase == recovery::Phase::held) heldBy = {{"name", m.cause().name}, {"text", m.cause().words}};
    int64_t since = wallOf(m.changedAt());
    return json{{"name", name},
                {"unit", s.spec->unit},
                {"unit_state", strategies::toString(s.unit.activeState)},
                {"unit_sub_state", s.unit.subState},
                {"health", std::string(checks::toString(supervisor.health(s)))},
                {"phase", std::string(toString(phase))},
                {"since", alerts::isoTime(since)},
                {"since_seconds", double(wallNow - since) / 1000.0},
                {"failing_checks", failing},
                {"recovery", recovery},
                {"paused", paused},
                {"depends_on", dependsOn},
                {"held_by", heldBy}};
  };

  json out = envelope();
  if (!only.empty()) {
    const Supervisor::Service& s = *supervisor.find(only);
    json service = describe(only, s);
    json checks = json::array();
    for (const auto& c : s.spec->checks) {
      const Supervisor::Service::LastResult* r = s.last(c.name);
      bool seen = r != nullptr;
      checks.push_back({{"name", c.name},
                        {"type", c.type},
                        {"critical", c.critical},
                        {"interval_seconds", std::chrono::duration<double>(c.interval).count()},
                        {"status", seen ? std::string(checks::toString(r->result.status)) : "unknown"},
                        {"message", seen ? r->result.message : "no result yet"},
                        {"duration_ms", seen ? json(std::chrono::duration<double, std::milli>(r->result.duration).count())
                                             : json(nullptr)},
                        {"at", seen ? json(alerts::isoTime(r->atMs)) : json(nullptr)},
                        {"values", seen ? valuesJson(r->result.perfdata) : json::array()},
                        {"rules", rulesJson(c.rules, s.rules.count(c.name) ? &s.rules.at(c.name) : nullptr)}});
    }
    service["checks"] = checks;
    json history = json::array();
    json rto = s.spec->recovery.rto ? json(std::chrono::duration<double>(*s.spec->recovery.rto).count()) : json(nullptr);
    // Times to recover of no recovery are not 0: null until one ended healed.
    json figures = {{"recoveries", 0}, {"recovered", 0}, {"gave_up", 0}, {"mean_seconds", nullptr}, {"p95_seconds", nullptr},
                    {"worst_seconds", nullptr}, {"rto_seconds", rto}, {"rto_exceeded", 0}};
    if (auto st = supervisor.saved().services.find(only); st != supervisor.saved().services.end()) {
      for (const auto& a : st->second.history)
        history.push_back({{"id", a.id},
                           {"step", a.step},
                           {"attempt", a.attempt},
                           {"round", a.round},
                           {"reason", a.reason},
                           {"cause", a.cause.empty() ? json(nullptr) : json(a.cause)},
                           {"started", alerts::isoTime(a.startedMs)},
                           {"ended", a.endedMs ? json(alerts::isoTime(a.endedMs)) : json(nullptr)},
                           {"duration_ms", a.endedMs ? json(a.endedMs - a.startedMs) : json(nullptr)},
                           {"result", a.endedMs ? a.result : "running"}});
      const recovery::Figures& f = st->second.figures;
      auto seconds = [&](double v) { return f.recoverySeconds.empty() ? json(nullptr) : json(v); };
      figures = {{"recoveries", f.recoveries}, {"recovered", f.successes}, {"gave_up", f.gaveUp},
                 {"mean_seconds", seconds(f.meanSeconds())}, {"p95_seconds", seconds(f.p95Seconds())},
                 {"worst_seconds", seconds(f.worstSeconds())}, {"rto_seconds", rto}, {"rto_exceeded", f.rtoExceeded}};
    }
    // The last failure's cause and the unit's own journal around it.
    json lastFailure = nullptr;
    if (const strategies::Cause& c = s.machine->cause(); c.known()) {
      auto st = supervisor.saved().services.find(only);
      lastFailure = {{"cause", std::string(c.id())},
                     {"severity", std::string(checks::toString(c.severity()))},
                     {"text", c.words},
                     {"ladder", s.spec->recovery.ladderName(s.machine->ladderIndex())},
                     {"journal", st != supervisor.saved().services.end() ? json(st->second.excerpt) : json::array()}};
    }
    service["last_failure"] = lastFailure;
    service["history"] = history;
    service["figures"] = figures;
    out["service"] = service;
    return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  json services = json::array();
  Status overall = Status::healthy;
  for (const auto& [name, s] : supervisor.services()) {
    overall = checks::worst(overall, supervisor.health(s));
    services.push_back(describe(name, s));
  }
  const auto counts = supervisor.healthCounts();
  out["health"] = std::string(checks::toString(overall));
  json summary = {{"services", supervisor.services().size()}};
  for (Status h : {Status::healthy, Status::degraded, Status::unhealthy, Status::unknown})
    summary[std::string(checks::toString(h))] = counts[size_t(h)];
  out["summary"] = summary;
  out["services"] = services;
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json valuesJson(const std::vector<checks::PerfDatum>& perfdata) {
  nlohmann::json values = nlohmann::json::array();
  for (const auto& v : perfdata) values.push_back({{"name", v.label}, {"value", v.value}, {"unit", v.unit}});
  return values;
}

nlohmann::json rulesJson(const std::vector<checks::RuleSpec>& rules, const checks::RuleBook* book) {
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < rules.size(); ++i) {
    const checks::RuleBook::State* st = book && i < book->states().size() ? &book->states()[i] : nullptr;
    std::string state = !st || !st->stat ? "waiting" : st->firing ? "firing" : st->breached ? "pending" : "ok";
    out.push_back({{"rule", rules[i].describe()},
                   {"then", std::string(checks::toString(rules[i].then))},
                   {"state", state},
                   {"value", st && st->stat ? nlohmann::json(*st->stat) : nlohmann::json(nullptr)},
                   {"samples", st ? st->samples : 0},
                   {"says", st ? checks::RuleBook::says(rules[i], *st) : "no result yet"}});
  }
  return out;
}

}  // namespace medic::agent
