#include "agent/agent.h"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "config/loader.h"

namespace medic::agent {

using checks::Status;
using namespace std::chrono_literals;

namespace {
double millis(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
}  // namespace

Agent::Agent(std::string configPath, config::Config config, AgentOptions options)
    : configPath_(std::move(configPath)), options_(std::move(options)), systemd_(host_.loop, options_.systemd) {
  apply(std::make_unique<config::Config>(std::move(config)));
}

void Agent::apply(std::unique_ptr<config::Config> config) {
  std::map<std::string, Service> services;
  serviceOfUnit_.clear();
  for (const auto& s : config->services) {
    auto old = services_.find(s.name);
    Service& service = services[s.name];
    service.spec = &s;
    if (old != services_.end()) {
      // The same service: what medic knows about it carries over to the new settings.
      service.watch = std::move(old->second.watch);
      service.watch->setSpec(s);
      service.timer = std::move(old->second.timer);
      for (const auto& c : s.checks)
        if (auto st = old->second.lastStatus.find(c.name); st != old->second.lastStatus.end())
          service.lastStatus[c.name] = st->second;
    } else {
      service.watch = std::make_unique<ServiceWatch>(s);
    }
    serviceOfUnit_[s.unit] = s.name;
  }
  // Checks start afresh on the new schedule; runs in flight under the old one are cancelled.
  if (runner_) {
    pastStarted_ += runner_->started();
    const auto& late = runner_->latenessMicros();
    pastLateness_.insert(pastLateness_.end(), late.begin(), late.end());
  }
  runner_ = std::make_unique<CheckRunner>(host_.loop, host_.env, config->agent.timerSlack,
                                          [this](const ScheduledCheck& c, const checks::CheckResult& r) { onCheckResult(c, r); });
  for (const auto& s : config->services)
    for (const auto& c : s.checks) runner_->add(s.name, c);
  services_ = std::move(services);
  config_ = std::move(config);  // the old specs die only now, after nothing refers to them
}

// Paths a recovery step will write. Under medic.service's ProtectSystem=strict they are
// read-only unless listed in ReadWritePaths=; say so now rather than in the middle of a
// recovery.
static void reportReadOnlyStepPaths(const config::Config& config) {
  for (const auto& s : config.services)
    for (const auto& step : s.recovery.ladder) {
      std::vector<std::string> paths;
      if (auto* r = std::get_if<config::RestartStep>(&step.details)) {
        for (const auto& g : r->cleanup) paths.push_back(g.substr(0, g.rfind('/')));
        if (!r->pidfile.empty()) paths.push_back(r->pidfile.substr(0, r->pidfile.rfind('/')));
      } else if (auto* r = std::get_if<config::RestoreStep>(&step.details)) {
        if (!r->configDir.empty()) paths.push_back(r->configDir);
        paths.insert(paths.end(), r->dataDirs.begin(), r->dataDirs.end());
        paths.push_back(r->backupDir);
      }
      for (std::string p : paths) {
        // The nearest part of the path that exists tells which mount it will be on.
        while (p.size() > 1 && access(p.c_str(), F_OK) != 0) p = p.substr(0, std::max<size_t>(1, p.rfind('/')));
        struct statvfs st {};
        if (statvfs(p.c_str(), &st) == 0 && (st.f_flag & ST_RDONLY))
          spdlog::error("{}: the {} step will need to write {}, which is read-only to medic; add it to ReadWritePaths= "
                        "in a drop-in (systemctl edit medic)",
                        s.name, config::toString(step.kind), p);
      }
    }
}

void Agent::reload() {
  sd_notify(0, "RELOADING=1");
  spdlog::info("SIGHUP: reloading the configuration from {}", configPath_);
  auto result = config::loadConfig(configPath_);
  if (!result.config) {
    for (const auto& e : result.errors.all()) spdlog::error("configuration refused: {}", e.str());
    spdlog::error("reload refused ({} error{}): still running the configuration loaded before", result.errors.size(),
                  result.errors.size() == 1 ? "" : "s");
  } else {
    apply(std::make_unique<config::Config>(std::move(*result.config)));
    reportReadOnlyStepPaths(*config_);
    runner_->start();
    std::vector<std::string> units;
    for (const auto& s : config_->services) units.push_back(s.unit);
    systemd_.watchUnits(units, [this](const std::string& unit, const strategies::UnitState& state) { onUnitChanged(unit, state); });
    spdlog::info("configuration reloaded: {} services, {} checks", config_->services.size(), config_->checkCount());
  }
  sd_notify(0, "READY=1");
  updateStatus();
}

void Agent::updateStatus() {
  int healthy = 0, degraded = 0, unhealthy = 0;
  for (const auto& [name, service] : services_) {
    Status worst = Status::healthy;
    for (const auto& c : service.spec->checks) {
      auto it = service.lastStatus.find(c.name);
      if (it == service.lastStatus.end() || it->second == Status::healthy) continue;
      // A failing critical check makes the service unhealthy; a non-critical one degrades it.
      worst = checks::worst(worst, c.critical && it->second == Status::unhealthy ? Status::unhealthy : Status::degraded);
    }
    (worst == Status::healthy ? healthy : worst == Status::degraded ? degraded : unhealthy)++;
  }
  sd_notifyf(0, "STATUS=%zu services: %d healthy, %d degraded, %d unhealthy", services_.size(), healthy, degraded,
             unhealthy);
}

Agent::~Agent() = default;

void Agent::onCheckResult(const ScheduledCheck& c, const checks::CheckResult& r) {
  auto found = services_.find(c.service);
  if (found == services_.end()) return;
  Service& service = found->second;
  auto it = service.lastStatus.find(c.spec.name);
  if (it == service.lastStatus.end() || it->second != r.status) {  // only changes are news
    auto level = r.status == Status::healthy ? spdlog::level::info
                 : r.status == Status::degraded ? spdlog::level::warn
                                                : spdlog::level::err;
    std::string from = it == service.lastStatus.end() ? "first result" : std::string(checks::toString(it->second));
    spdlog::log(level, "{}/{}: {} -> {}: {} ({:.1f}ms)", c.service, c.spec.name, from, checks::toString(r.status),
                r.message, millis(r.duration));
    service.lastStatus[c.spec.name] = r.status;
    updateStatus();
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
      auto found = services_.find(name);
      if (!now || found == services_.end()) return;  // (the confirm window still covers it)
      Service& s = found->second;
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
    auto found = services_.find(name);
    if (found == services_.end()) return;
    Service& s = found->second;
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
    auto found = services_.find(name);
    if (found != services_.end()) found->second.watch->onRestartFinished(outcome.ok(), host_.loop.now());
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
  signals_.push_back(host_.loop.addSignal(SIGHUP, [this] { reload(); }));
  if (options_.exitAfter)
    exitTimer_ = host_.loop.addTimer(host_.loop.now() + *options_.exitAfter, 1ms, [stop] { stop("--exit-after elapsed"); });

  std::vector<std::string> units;
  for (const auto& s : config_->services) units.push_back(s.unit);
  systemd_.watchUnits(units, [this](const std::string& unit, const strategies::UnitState& state) { onUnitChanged(unit, state); });
  systemd_.connect();  // on failure it keeps retrying; checks run meanwhile
  reportReadOnlyStepPaths(*config_);
  runner_->start();
  host_.loop.enableWatchdog();
  spdlog::info("medic running: {} services, {} checks from {}", config_->services.size(), config_->checkCount(), configPath_);
  sd_notify(0, "READY=1");
  updateStatus();
  int rc = host_.loop.run();
  sd_notify(0, "STOPPING=1");
  writeReport();
  return rc < 0 ? 1 : 0;
}

void Agent::writeReport() const {
  if (options_.reportFile.empty()) return;
  std::vector<uint32_t> late = pastLateness_;
  late.insert(late.end(), runner_->latenessMicros().begin(), runner_->latenessMicros().end());
  std::sort(late.begin(), late.end());
  auto pct = [&](double p) { return late.empty() ? 0.0 : late[std::min(late.size() - 1, size_t(p * late.size()))] / 1000.0; };
  nlohmann::json report = {{"checks_started", pastStarted_ + runner_->started()},
                           {"lateness_ms", {{"p50", pct(0.50)}, {"p99", pct(0.99)}, {"max", pct(1.0)}}}};
  std::ofstream(options_.reportFile) << report.dump(2) << "\n";
}

}  // namespace medic::agent
