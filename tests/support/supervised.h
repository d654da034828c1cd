#pragma once
// A supervisor driven by hand, for unit tests: a scripted systemd (jobs that succeed, fail or
// never end; unit states changed on demand), checks that answer what the test says, and a
// clock moved by hand.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/supervisor.h"
#include "checks/probe_host.h"
#include "config/loader.h"
#include "manual_clock.h"
#include "scripted_systemd.h"
#include "strategies/reload_step.h"
#include "strategies/restart_step.h"
#include "temp_dir.h"

namespace medic::test {

using namespace std::chrono_literals;

// A check whose every run answers what the test last said.
struct Answer {
  checks::Status status = checks::Status::healthy;
  std::string message = "HTTP 200";
};
class ScriptedCheck : public checks::Check {
 public:
  explicit ScriptedCheck(std::shared_ptr<Answer> answer) : answer_(std::move(answer)) {}
  std::string target() const override { return "scripted"; }
  std::unique_ptr<checks::Probe> start(checks::ProbeEnv&, TimePoint, checks::ResultCallback done) const override {
    done({answer_->status, answer_->message, {}, {}});
    return nullptr;
  }

 private:
  std::shared_ptr<Answer> answer_;
};

inline config::StepSpec rung(std::string kind, int attempts, std::shared_ptr<const strategies::Step> step) {
  return {std::move(kind), attempts, 90s, std::move(step), std::nullopt, {}};
}
inline std::shared_ptr<const strategies::Step> restart() { return std::make_shared<strategies::RestartStep>(std::vector<std::string>{}, ""); }

inline config::ServiceSpec service(const std::string& name, std::shared_ptr<Answer> answer) {
  config::ServiceSpec s;
  s.name = name;
  s.unit = name + ".service";
  s.failureThreshold = 2;
  s.recovery.verifyGrace = 10s;
  s.recovery.cooldown = 1min;
  s.recovery.maxRounds = 1;
  s.recovery.ladder = {rung("restart", 1, restart()), rung("reload", 1, std::make_shared<strategies::ReloadStep>())};
  checks::CheckSpec health;
  health.name = "health";
  health.type = "http";
  health.check = std::make_shared<ScriptedCheck>(std::move(answer));
  s.checks = {health};
  return s;
}

struct Supervised {
  ManualClock clock;
  ScriptedSystemd systemd{clock};
  checks::ProbeHost host;
  BackgroundTasks background{host.loop};
  checks::ProbeRunner commands{host.env};
  strategies::StepEnv env{host.loop, systemd, background, commands};
  TempDir stateDir;
  config::Config config;
  std::map<std::string, std::shared_ptr<Answer>> answers;
  std::vector<std::string> events;  // "web recovery-started"
  agent::Supervisor::Listener listener;  // what else hears the supervisor (set before start())
  std::unique_ptr<agent::Supervisor> sup;

  explicit Supervised(std::vector<std::string> names = {"web"}) {
    for (const auto& n : names) {
      answers[n] = std::make_shared<Answer>();
      config.services.push_back(service(n, answers[n]));
    }
  }
  // Starts (or, called again, restarts) medic's supervisor on the same state directory.
  void start() {
    sup.reset();
    sup = std::make_unique<agent::Supervisor>(clock, env, recovery::StateStore(stateDir.path.string()),
                                              agent::Supervisor::Listener{
                                                  [this](const std::string& s, const recovery::Decision& d) {
                                                    events.push_back(s + " " + std::string(toString(d.event)));
                                                    if (listener.recorded) listener.recorded(s, d);
                                                  },
                                                  [this](const std::string& s) {
                                                    if (listener.healthNews) listener.healthNews(s);
                                                  },
                                                  [this](const std::string& s, bool decided) {
                                                    if (listener.settled) listener.settled(s, decided);
                                                  }});
    sup->apply(config);
    systemd.watchUnits(sup->unitsToWatch(), [this](const std::string& u, const strategies::UnitState& st) { sup->onUnitChanged(u, st); });
    for (const auto& s : config.services) systemd.setState(s.unit, "active", "running");
    clock.advance();
    sup->resumeSavedState();
    clock.advance();
  }
  // One scheduled run of every check of `name` reports `status`.
  void report(const std::string& name, checks::Status status) {
    const auto& spec = *config.findService(name);
    for (const auto& c : spec.checks)
      sup->onCheckResult(name, c, {status, status == checks::Status::healthy ? "HTTP 200" : "HTTP 500", {}, {}});
    clock.advance();
  }
  // Fails past the threshold; the checks go on failing (verification too) until heal().
  void fail(const std::string& name, int times = 2) {
    answers[name]->status = checks::Status::unhealthy;
    answers[name]->message = "HTTP 500";
    for (int i = 0; i < times; ++i) report(name, checks::Status::unhealthy);
  }
  void heal(const std::string& name) { answers[name]->status = checks::Status::healthy, answers[name]->message = "HTTP 200"; }
  recovery::Phase phase(const std::string& name) { return sup->find(name)->machine->phase(); }
  // web with recovery off and a second, non-critical check 'extra': only health is looked at.
  void watchHealthOnly() {
    auto& web = config.services[0];
    web.recovery.enabled = false;
    checks::CheckSpec extra = web.checks[0];
    extra.name = "extra";
    extra.critical = false;
    web.checks.push_back(extra);
  }
  std::vector<std::string> results(const std::string& name) {
    std::vector<std::string> out;
    for (const auto& a : sup->saved().services.at(name).history) out.push_back(a.step + ": " + a.result);
    return out;
  }
};


}  // namespace medic::test
