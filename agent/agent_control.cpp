// The agent's side of the control interface: what `medic status` shows, and an operator's
// pause, resume, reset and recover. Every change is journalled with who asked and why.
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "agent/agent.h"
#include "recovery/journal.h"
#include "version.h"

namespace medic::agent {

using checks::Status;
using json = nlohmann::json;

namespace {

json envelope() {
  return {{"version", 1}, {"host", alerts::hostName()}, {"medic_version", MEDIC_VERSION}, {"time", alerts::isoTime(wallClockMs())}};
}

}  // namespace

Supervisor::Service& Agent::serviceFor(const std::string& name) {
  if (Supervisor::Service* s = supervisor_.find(name)) return *s;
  std::string known;
  for (const auto& [n, _] : supervisor_.services()) known += (known.empty() ? "" : ", ") + n;
  throw control::ControlError(control::kErrorNoSuchService, "no service '" + name + "' in medic's configuration (it has: " +
                                              (known.empty() ? "none" : known) + ")");
}

std::string Agent::status(const std::string& only) {
  int64_t wallNow = wallClockMs();
  TimePoint now = host_.loop.now();
  auto wallOf = [&](TimePoint t) { return wallNow - std::chrono::duration_cast<std::chrono::milliseconds>(now - t).count(); };
  auto describe = [&](const std::string& name, const Supervisor::Service& s) {
    const recovery::RecoveryMachine& m = *s.machine;
    json failing = json::array();
    for (const auto& c : s.spec->checks)
      if (auto r = s.lastResult.find(c.name); r != s.lastResult.end() && r->second.result.status != Status::healthy)
        failing.push_back({{"name", c.name},
                           {"critical", c.critical},
                           {"status", std::string(checks::toString(r->second.result.status))},
                           {"message", r->second.result.message}});
    json recovery = nullptr;
    recovery::Phase phase = m.phase();
    const auto& ladder = s.spec->recovery.ladder;
    if (m.round() > 0 && m.step() < ladder.size())
      recovery = {{"step", ladder[m.step()].kind},
                  {"step_index", m.step()},
                  {"attempt", m.attempt()},
                  {"attempts", ladder[m.step()].attempts},
                  {"round", m.round()},
                  {"rounds", s.spec->recovery.maxRounds},
                  {"requested_by_operator", m.manualStepRunning()}};
    json paused = nullptr;
    if (m.paused()) {
      auto st = supervisor_.saved().services.find(name);
      bool known = st != supervisor_.saved().services.end() && !st->second.pausedBy.empty();  // (files before 0.2 lack it)
      paused = {{"until", m.pausedUntil() ? json(alerts::isoTime(wallOf(*m.pausedUntil()))) : json(nullptr)},
                {"reason", known ? st->second.pauseReason : m.pauseReason()},
                {"by", known ? json(st->second.pausedBy) : json(nullptr)},
                {"by_uid", st != supervisor_.saved().services.end() && st->second.pausedByUid >= 0 ? json(st->second.pausedByUid)
                                                                                        : json(nullptr)}};
    }
    int64_t since = wallOf(m.changedAt());
    return json{{"name", name},
                {"unit", s.spec->unit},
                {"unit_state", s.unit.activeState},
                {"unit_sub_state", s.unit.subState},
                {"health", std::string(checks::toString(supervisor_.health(s)))},
                {"phase", std::string(toString(phase))},
                {"since", alerts::isoTime(since)},
                {"since_seconds", double(wallNow - since) / 1000.0},
                {"failing_checks", failing},
                {"recovery", recovery},
                {"paused", paused}};
  };

  json out = envelope();
  if (!only.empty()) {
    Supervisor::Service& s = serviceFor(only);
    json service = describe(only, s);
    json checks = json::array();
    for (const auto& c : s.spec->checks) {
      auto r = s.lastResult.find(c.name);
      bool seen = r != s.lastResult.end();
      checks.push_back({{"name", c.name},
                        {"type", c.type},
                        {"critical", c.critical},
                        {"interval_seconds", std::chrono::duration<double>(c.interval).count()},
                        {"status", seen ? std::string(checks::toString(r->second.result.status)) : "unknown"},
                        {"message", seen ? r->second.result.message : "no result yet"},
                        {"duration_ms", seen ? json(std::chrono::duration<double, std::milli>(r->second.result.duration).count())
                                             : json(nullptr)},
                        {"at", seen ? json(alerts::isoTime(r->second.atMs)) : json(nullptr)}});
    }
    service["checks"] = checks;
    json history = json::array();
    json figures = {{"recoveries", 0}, {"recovered", 0}, {"gave_up", 0}, {"mean_seconds", 0.0}, {"p95_seconds", 0.0}};
    if (auto st = supervisor_.saved().services.find(only); st != supervisor_.saved().services.end()) {
      for (const auto& a : st->second.history)
        history.push_back({{"id", a.id},
                           {"step", a.step},
                           {"attempt", a.attempt},
                           {"round", a.round},
                           {"reason", a.reason},
                           {"started", alerts::isoTime(a.startedMs)},
                           {"ended", a.endedMs ? json(alerts::isoTime(a.endedMs)) : json(nullptr)},
                           {"duration_ms", a.endedMs ? json(a.endedMs - a.startedMs) : json(nullptr)},
                           {"result", a.endedMs ? a.result : "running"}});
      const recovery::Figures& f = st->second.figures;
      figures = {{"recoveries", f.recoveries}, {"recovered", f.successes}, {"gave_up", f.gaveUp},
                 {"mean_seconds", f.meanSeconds()}, {"p95_seconds", f.p95Seconds()}};
    }
    service["history"] = history;
    service["figures"] = figures;
    out["service"] = service;
    return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  json services = json::array();
  int counts[3] = {0, 0, 0};
  Status overall = Status::healthy;
  for (const auto& [name, s] : supervisor_.services()) {
    Status h = supervisor_.health(s);
    overall = checks::worst(overall, h);
    ++counts[h == Status::healthy ? 0 : h == Status::degraded ? 1 : 2];
    services.push_back(describe(name, s));
  }
  out["health"] = std::string(checks::toString(overall));
  out["summary"] = {{"services", supervisor_.services().size()}, {"healthy", counts[0]}, {"degraded", counts[1]}, {"unhealthy", counts[2]}};
  out["services"] = services;
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string Agent::pause(const std::string& name, Duration length, const std::string& reason, const control::Caller& who) {
  Supervisor::Service& s = serviceFor(name);
  std::string why = (reason.empty() ? "no reason given" : reason) + ", by " + who.describe();
  std::optional<TimePoint> until;
  if (length > Duration::zero()) until = host_.loop.now() + length;
  recovery::ServiceState& st = supervisor_.saved().services[name];
  st.pausedByUid = who.uid;
  st.pausedBy = who.describe();
  st.pauseReason = reason;
  supervisor_.carryOut(name, s.machine->pause(until, why, host_.loop.now()));
  return "paused " + name + (until ? " for " + formatDuration(length) : " until `medic resume " + name + "`") +
         ": checks go on, no recovery starts";
}

std::string Agent::resume(const std::string& name, const control::Caller& who) {
  Supervisor::Service& s = serviceFor(name);
  if (!s.machine->paused()) throw control::ControlError(control::kErrorRefused, name + " is not paused");
  supervisor_.saved().services[name].pausedByUid = -1;
  supervisor_.saved().services[name].pausedBy.clear();
  supervisor_.saved().services[name].pauseReason.clear();
  supervisor_.carryOut(name, s.machine->unpause("by " + who.describe(), host_.loop.now()));
  recovery::Phase phase = s.machine->phase();
  return "resumed " + name + (phase == recovery::Phase::recovering ? ": it is still failing, so its recovery has started" : "");
}

std::string Agent::reset(const std::string& name, const control::Caller& who) {
  Supervisor::Service& s = serviceFor(name);
  std::string refused;
  auto decisions = s.machine->reset("by " + who.describe(), host_.loop.now(), refused);
  if (!refused.empty()) {
    recovery::recordEvent({name, s.spec->unit, std::string(toString(recovery::Event::resetRefused)), 5, "reset by " + who.describe() + " refused: " + refused, "", 0, 0});
    throw control::ControlError(control::kErrorRefused, "cannot reset " + name + ": " + refused);
  }
  supervisor_.carryOut(name, decisions);
  return "reset " + name + ": rounds, attempts, the flapping count and failure streaks start afresh";
}

void Agent::recover(const std::string& name, const std::string& stepName, const control::Caller& who, RecoverDone done) {
  Supervisor::Service& s = serviceFor(name);
  const auto& ladder = s.spec->recovery.ladder;
  size_t step = 0;
  if (stepName == "failback") {
    std::string refused;
    auto decisions = s.machine->failBackNow("requested by " + who.describe(), host_.loop.now(), refused);
    if (!refused.empty()) throw control::ControlError(control::kErrorRefused, "cannot fail " + name + " back now: " + refused);
    recoverWaiters_[name].push_back(std::move(done));
    return supervisor_.carryOut(name, decisions);
  }
  if (!stepName.empty()) {
    auto kind = std::find_if(ladder.begin(), ladder.end(), [&](const config::StepSpec& st) { return st.kind == stepName; });
    if (kind == ladder.end()) {
      std::string has;
      for (const auto& st : ladder) has += (has.empty() ? "" : ", ") + st.kind;
      throw control::ControlError(control::kErrorInvalidArgs, name + " has no " + stepName + " step in its recovery ladder (it has: " +
                                                (has.empty() ? "none" : has) + ")");
    }
    step = size_t(kind - ladder.begin());
  } else if (ladder.empty()) {
    throw control::ControlError(control::kErrorInvalidArgs, name + " has no recovery ladder");
  }
  std::string refused;
  auto decisions = s.machine->recoverNow(step, "requested by " + who.describe(), host_.loop.now(), refused);
  if (!refused.empty()) throw control::ControlError(control::kErrorRefused, "cannot recover " + name + " now: " + refused);
  recoverWaiters_[name].push_back(std::move(done));
  supervisor_.carryOut(name, decisions);
}

// Called after every carryOut: once the requested step is over, its verdict is the last
// event the machine recorded.
void Agent::answerRecoverWaiters(const std::string& name) {
  auto it = recoverWaiters_.find(name);
  if (it == recoverWaiters_.end()) return;
  Supervisor::Service* s = supervisor_.find(name);
  if (s && s->machine->manualStepRunning()) return;
  auto waiters = std::move(it->second);
  recoverWaiters_.erase(it);
  bool healed = false;
  std::string message = s ? "the step ended" : name + " was removed from the configuration";
  if (auto r = lastRecord_.find(name); s && r != lastRecord_.end()) {
    healed = r->second.event == recovery::Event::recovered || r->second.event == recovery::Event::failedBack;
    message = r->second.message;
  }
  for (auto& done : waiters) done(healed, message);
}

}  // namespace medic::agent
