#include "agent/agent.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

namespace medic::agent {

using checks::Status;
using namespace std::chrono_literals;

namespace {
double millis(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
}  // namespace

Agent::Agent(config::Config config, AgentOptions options)
    : config_(std::move(config)), options_(std::move(options)), systemd_(host_.loop, options_.systemd) {
  for (const auto& s : config_.services) {
    services_[s.name] = Service{&s, std::make_unique<ServiceWatch>(s), {}, {}};
    serviceOfUnit_[s.unit] = s.name;
  }
  runner_ = std::make_unique<CheckRunner>(host_.loop, host_.env, config_.agent.timerSlack,
                                          [this](const ScheduledCheck& c, const checks::CheckResult& r) { onCheckResult(c, r); });
  for (const auto& s : config_.services)
    for (const auto& c : s.checks) runner_->add(s.name, c);
}

Agent::~Agent() = default;

void Agent::onCheckResult(const ScheduledCheck& c, const checks::CheckResult& r) {
  Service& service = services_.at(c.service);
  auto it = service.lastStatus.find(c.spec.name);
  if (it == service.lastStatus.end() || it->second != r.status) {  // only changes are news
    auto level = r.status == Status::healthy ? spdlog::level::info
                 : r.status == Status::degraded ? spdlog::level::warn
                                                : spdlog::level::err;
    std::string from = it == service.lastStatus.end() ? "first result" : std::string(checks::toString(it->second));
    spdlog::log(level, "{}/{}: {} -> {}: {} ({:.1f}ms)", c.service, c.spec.name, from, checks::toString(r.status),
                r.message, millis(r.duration));
    service.lastStatus[c.spec.name] = r.status;
  }
  if (auto restartNow = service.watch->onCheckResult(c.spec.name, c.spec.critical, r.status, r.message, host_.loop.now()))
    restart(service, restartNow->reason);
}

void Agent::onUnitChanged(const std::string& unit, const strategies::UnitState& state) {
  auto it = serviceOfUnit_.find(unit);
  if (it == serviceOfUnit_.end()) return;
  Service& service = services_.at(it->second);
  auto level = state.activeState == "failed" ? spdlog::level::err : spdlog::level::info;
  spdlog::log(level, "{}: systemd reports {} {} ({})", service.spec->name, unit, state.activeState, state.subState);
  if (auto restartNow = service.watch->onUnitState(state.activeState, state.subState, host_.loop.now()))
    restart(service, restartNow->reason);
  armTimer(service);
  if (state.activeState == "failed") {
    // Will systemd restart it itself? Its Restart= says; without one, act now.
    std::string name = service.spec->name;
    systemd_.unitState(unit, [this, name](std::optional<strategies::UnitState> now, std::string) {
      if (!now) return;  // the confirm window still covers it
      Service& s = services_.at(name);
      if (auto restartNow = s.watch->onFailedUnitRead(now->activeState, now->restartPolicy, host_.loop.now()))
        restart(s, restartNow->reason);
      armTimer(s);
    });
  }
}

void Agent::armTimer(Service& service) {
  auto when = service.watch->wakeAt();
  if (!when) return service.timer.disable();
  if (service.timer) return service.timer.rearm(*when);
  std::string name = service.spec->name;
  service.timer = host_.loop.addTimer(*when, 1ms, [this, name] {
    Service& s = services_.at(name);
    if (auto restartNow = s.watch->onTimer(host_.loop.now())) restart(s, restartNow->reason);
    armTimer(s);
  });
}

void Agent::restart(Service& service, const std::string& reason) {
  const std::string& unit = service.spec->unit;
  Duration timeout = service.spec->recovery.ladder.empty() ? 90s : service.spec->recovery.ladder.front().timeout;
  spdlog::warn("{}: restarting {}: {}", service.spec->name, unit, reason);
  std::string name = service.spec->name;
  systemd_.runJob(strategies::JobKind::restart, unit, timeout, [this, name, unit](strategies::JobOutcome outcome) {
    Service& s = services_.at(name);
    s.watch->onRestartFinished(outcome.ok(), host_.loop.now());
    if (outcome.ok())
      spdlog::info("{}: restart of {} done in {:.0f}ms", name, unit, millis(outcome.took));
    else
      spdlog::error("{}: restart of {} ended '{}'{}{} after {:.0f}ms", name, unit, outcome.result,
                    outcome.error.empty() ? "" : ": ", outcome.error, millis(outcome.took));
  });
}

int Agent::run() {
  auto stop = [this](const char* why) {
    spdlog::info("{}: stopping", why);
    host_.loop.exit(0);
  };
  signals_.push_back(host_.loop.addSignal(SIGTERM, [stop] { stop("SIGTERM"); }));
  signals_.push_back(host_.loop.addSignal(SIGINT, [stop] { stop("SIGINT"); }));
  signals_.push_back(host_.loop.addSignal(SIGHUP, [] {
    spdlog::warn("SIGHUP: configuration reload is not implemented yet; still running the configuration loaded at start");
  }));
  if (options_.exitAfter)
    exitTimer_ = host_.loop.addTimer(host_.loop.now() + *options_.exitAfter, 1ms, [stop] { stop("--exit-after elapsed"); });

  if (!services_.empty()) {
    std::vector<std::string> units;
    for (const auto& s : config_.services) units.push_back(s.unit);
    systemd_.watchUnits(units, [this](const std::string& unit, const strategies::UnitState& state) { onUnitChanged(unit, state); });
    systemd_.connect();  // on failure it keeps retrying; checks run meanwhile
  }
  runner_->start();
  host_.loop.enableWatchdog();
  spdlog::info("medic running: {} services, {} checks from {}", config_.services.size(), config_.checkCount(),
               config_.files.front());
  sd_notifyf(0, "READY=1\nSTATUS=running %zu checks for %zu services", config_.checkCount(), config_.services.size());
  int rc = host_.loop.run();
  sd_notify(0, "STOPPING=1");
  writeReport();
  return rc < 0 ? 1 : 0;
}

void Agent::writeReport() const {
  if (options_.reportFile.empty()) return;
  std::vector<uint32_t> late = runner_->latenessMicros();
  std::sort(late.begin(), late.end());
  auto pct = [&](double p) { return late.empty() ? 0.0 : late[std::min(late.size() - 1, size_t(p * late.size()))] / 1000.0; };
  nlohmann::json report = {{"checks_started", runner_->started()},
                           {"lateness_ms", {{"p50", pct(0.50)}, {"p99", pct(0.99)}, {"max", pct(1.0)}}}};
  std::ofstream(options_.reportFile) << report.dump(2) << "\n";
}

}  // namespace medic::agent
