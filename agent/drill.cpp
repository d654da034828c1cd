#include "agent/drill.h"

#include "runtime/logging.h"

#include <signal.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "recovery/journal.h"
#include "runtime/duration.h"
#include "runtime/text.h"

namespace medic::agent {

Duration Drills::defaultTime(const config::ServiceSpec& spec) {
  Duration slowest{};
  auto climb = [&](const std::vector<config::StepSpec>& ladder) {
    Duration t{};
    for (const auto& st : ladder) t += (st.timeout + spec.recovery.verifyGrace) * st.attempts;
    slowest = std::max(slowest, t);
  };
  climb(spec.recovery.ladder);
  for (const auto& l : spec.recovery.ladders) climb(l.steps);
  Duration interval{};
  for (const auto& c : spec.checks) interval = std::max(interval, c.interval);
  return std::min<Duration>(slowest + interval * (spec.failureThreshold + 1) + std::chrono::seconds(10), std::chrono::hours(1));
}

void Drills::start(const std::string& name, const std::string& fault, Duration within, const control::Caller& who, Done done) {
  LogAbout about(name);
  const Supervisor::Service& s = *supervisor_.find(name);
  auto refuse = [&](const std::string& why) {
    spdlog::warn("control: drill of {} by {} refused: {}", name, who.describe(), why);
    throw control::ControlError(control::kErrorRefused, "no drill of " + name + ": " + why);
  };
  if (drills_.count(name)) refuse("a drill of it is already under way");
  if (s.spec->isHost()) refuse("the host's checks have no recovery to rehearse");
  if (!s.spec->recovery.enabled) refuse("its recovery is off (recovery: enabled: false)");
  if (s.machine->paused()) refuse("it is paused (" + s.machine->pauseReason() + "); resume it first");
  checks::Status health = supervisor_.health(s);
  if (!supervisor_.runsWell(s))
    refuse("it is not healthy (" + std::string(checks::toString(health)) + ", " + std::string(toString(s.machine->phase())) +
           ", unit " + (s.unit.known() ? std::string(strategies::toString(s.unit.activeState)) : "unknown") +
           "): a drill starts from a healthy service");
  std::string check;
  if (fault == "check" || fault.rfind("check=", 0) == 0) {
    check = fault == "check" ? "" : fault.substr(6);
    const checks::CheckSpec* found = nullptr;
    for (const auto& c : s.spec->checks)
      if (c.critical && (check.empty() ? !found : c.name == check)) found = &c;
    if (!found)
      throw control::ControlError(control::kErrorInvalidArgs,
                                  check.empty() ? name + " has no critical check to fail; use --fault kill or --fault stop"
                                                : name + " has no critical check '" + escapeText(check, 64) + "'");
    check = found->name;
  } else if (fault != "kill" && fault != "stop") {
    throw control::ControlError(control::kErrorInvalidArgs, "a drill's fault is kill, stop or check=NAME, not " + quoteValue(escapeText(fault, 64)));
  }
  Drill& d = drills_[name];
  d.fault = check.empty() ? fault : "check=" + check;
  d.startMs = clock_.wallNowMs();
  d.within = within > Duration::zero() ? within : defaultTime(*s.spec);
  d.done = std::move(done);
  d.deadline = clock_.at(clock_.now() + d.within, [this, name] {
    finish(name, false, "not healed within " + formatDuration(drills_.at(name).within));
  });
  recovery::recordEvent({name, s.spec->unit, "drill-started", 5,
                         "drill started by " + who.describe() + ": fault " + d.fault + ", to heal within " + formatDuration(d.within),
                         "", 0, 0});
  const std::string unit = s.spec->unit;
  supervisor_.drill(name, check);  // a check fails on purpose from its next run on; the service itself is untouched
  if (!check.empty()) return;
  if (fault == "kill") {
    systemd_.unitState(unit, [this, name, unit](std::optional<strategies::UnitState> st, std::string error) {
      if (!drills_.count(name)) return;
      if (!st || st->mainPid == 0) return finish(name, false, "no main process of " + unit + " to kill" + (error.empty() ? "" : ": " + error));
      spdlog::warn("{}: drill: killing {}'s main process {} with SIGKILL", name, unit, st->mainPid);
      if (::kill(pid_t(st->mainPid), SIGKILL) != 0) finish(name, false, "could not kill pid " + std::to_string(st->mainPid));
    });
  } else {
    spdlog::warn("{}: drill: stopping {} behind the ladder's back", name, unit);
    systemd_.runJob(strategies::JobKind::stop, unit, std::chrono::seconds(90), [this, name, unit](strategies::JobOutcome o) {
      if (!o.ok() && drills_.count(name)) finish(name, false, "could not stop " + unit + ": " + o.result);
    });
  }
}

void Drills::event(const std::string& name, const recovery::Decision& d) {
  auto it = drills_.find(name);
  if (it == drills_.end()) return;
  using recovery::Event;
  if (d.event == Event::recoveryStarted && !it->second.detectedMs) {
    it->second.detectedMs = clock_.wallNowMs();
    it->second.cause = d.cause.words;
  } else if (d.event == Event::recovered || d.event == Event::healed) {
    finish(name, true, d.message);
  } else if (d.event == Event::gaveUp || d.event == Event::failedOver || d.event == Event::recoveryStopped) {
    finish(name, false, d.message);
  }
}

// Healthy again with no recovery started: something else healed it — systemd's own
// Restart= after a kill, typically. The service recovered; the ladder was not exercised.
void Drills::healthNews(const std::string& name) {
  auto it = drills_.find(name);
  const Supervisor::Service* s = supervisor_.find(name);
  if (it == drills_.end() || !s) return;
  if (!supervisor_.runsWell(*s)) it->second.sawDown = true;
  else if (it->second.sawDown && !it->second.detectedMs)
    finish(name, true, "healthy again before medic's ladder ran: something else brought it back (systemd's Restart=?)");
}

void Drills::finish(const std::string& name, bool healed, const std::string& verdict) {
  LogAbout about(name);
  auto it = drills_.find(name);
  if (it == drills_.end()) return;
  Drill d = std::move(it->second);
  drills_.erase(it);
  d.deadline.reset();
  int64_t now = clock_.wallNowMs();
  nlohmann::json steps = nlohmann::json::array();
  std::optional<Duration> rto;
  std::string unit;
  supervisor_.drill(name, std::nullopt);
  if (const Supervisor::Service* s = supervisor_.find(name)) {
    rto = s->spec->recovery.rto;
    unit = s->spec->unit;
    if (auto st = supervisor_.saved().services.find(name); st != supervisor_.saved().services.end())
      for (const auto& a : st->second.history)
        if (a.startedMs >= d.startMs)
          steps.push_back({{"step", a.step}, {"attempt", a.attempt}, {"round", a.round},
                           {"seconds", a.endedMs ? nlohmann::json(double(a.endedMs - a.startedMs) / 1000) : nlohmann::json(nullptr)},
                           {"result", a.endedMs ? a.result : "running"}});
  }
  double took = double(now - d.startMs) / 1000;
  bool inTime = healed && (!rto || took <= std::chrono::duration<double>(*rto).count());
  std::string says = healed ? (inTime ? "healed: " : "healed, but past its rto: ") + verdict : verdict;
  nlohmann::json report = {{"service", name},
                           {"fault", d.fault},
                           {"passed", inTime},
                           {"healed", healed},
                           {"verdict", says},
                           {"cause", d.cause.empty() ? "no failure detected" : d.cause},
                           {"started", isoTime(d.startMs)},
                           {"detection_seconds", d.detectedMs ? nlohmann::json(double(d.detectedMs - d.startMs) / 1000) : nlohmann::json(nullptr)},
                           {"steps", steps},
                           {"recovery_seconds", healed ? nlohmann::json(took) : nlohmann::json(nullptr)},
                           {"within_seconds", std::chrono::duration<double>(d.within).count()},
                           {"rto_seconds", rto ? nlohmann::json(std::chrono::duration<double>(*rto).count()) : nlohmann::json(nullptr)}};
  recovery::recordEvent({name, unit, "drill-ended", inTime ? 5 : 4,
                         std::string("drill ") + (inTime ? "passed" : "FAILED") + " (fault " + d.fault + "): " + says, "", 0, 0});
  if (d.done) d.done(inTime, report.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace medic::agent
