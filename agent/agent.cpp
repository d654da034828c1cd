#include "agent/agent.h"

#include "agent/unit_needs.h"
#include "alerts/alert_names.h"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>
#include <malloc.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "config/loader.h"
#include "strategies/unit_journal.h"

namespace medic::agent {

using checks::Status;
using namespace std::chrono_literals;

namespace {
constexpr Duration kSystemdDownAlertAfter = std::chrono::seconds(10);
}  // namespace

Agent::Agent(std::string configPath, config::Config config, AgentOptions options)
    : configPath_(std::move(configPath)),
      options_(std::move(options)),
      systemd_(host_.loop, options_.systemd),
      supervisor_(clock_, steps_, recovery::StateStore(config.agent.stateDir),
                  {[this](const std::string& name, const recovery::Decision& d) {
                     operators_.recorded(name, d);
                     if (alerts_) alerts_->event(name, d);
                   },
                   [this](const std::string& name) {
                     updateStatus();
                     if (alerts_) alerts_->reconcile(name);
                     operators_.healthNews(name);
                   },
                   [this](const std::string& name, bool decided) {
                     operators_.settled(name);
                     if (decided && alerts_) alerts_->reconcile(name);
                   }}) {
  figures_.lastReloadMs = figures_.startedMs = wallClockMs();
  host_.env.units = &systemd_;  // unit checks read systemd's accounting through the agent's client
  host_.env.scopes = &systemd_;  // exec checks and steps run in scopes it starts
  apply(std::make_unique<config::Config>(std::move(config)));
  alerter_ = std::make_unique<alerts::Alerter>(host_.loop, host_.curl, config_->alerts, config_->agent.stateDir, alerts::hostName());
  alerts_ = std::make_unique<AlertPolicy>(supervisor_, *alerter_, clock_, [this](const std::string& unit, auto done) {
    readUnitJournal(unit, std::move(done));
  });
  malloc_trim(0);  // the YAML document is gone: give its pages back (it is most of a big config's peak)
}

void Agent::apply(std::unique_ptr<config::Config> config) {
  for (const auto& w : config->warnings) spdlog::warn("configuration: {}", w);
  supervisor_.apply(*config);
  snapshots_.apply(*config);
  checks_.apply(*config);
  if (alerter_) alerter_->setSpec(config->alerts);
  config_ = std::move(config);  // the old specs die only now, after nothing refers to them
  web_.serve(config_->http);
  operators_.servicesChanged();
  if (alerts_) alerts_->servicesChanged();
}

// The unit's last journal lines, read on a thread of their own (sd-journal may have many
// files to open).
void Agent::readUnitJournal(const std::string& unit, std::function<void(std::vector<std::string>)> done) {
  strategies::ExcerptLimits limits;
  limits.lines = size_t(config_->alerts.journalLines);
  if (limits.lines == 0) return done({});
  uint64_t until = uint64_t(wallClockMs() + 1) * 1000;  // what it wrote up to now: not its restart's lines
  auto lines = std::make_shared<std::vector<std::string>>();  // filled on the worker, read back on the loop
  background_.run(
      [unit, limits, until, lines] {
        std::string error;
        *lines = strategies::readUnitJournal(unit, limits, until, &error);
        return error;
      },
      [unit, lines, done = std::move(done)](std::string error) {
        if (!error.empty()) spdlog::warn("{}: its journal cannot be read for alerts: {}", unit, error);
        done(std::move(*lines));
      });
}

// Paths a recovery step will write. Under medic.service's ProtectSystem=strict they are
// read-only unless listed in ReadWritePaths=; say so now rather than in the middle of a
// recovery.
static void reportReadOnlyStepPaths(const config::Config& config) {
  for (const auto& s : config.services)
    for (const auto* step : s.recovery.allSteps())
      for (std::string p : step->step->writes()) {
        // The nearest part of the path that exists tells which mount it will be on.
        while (p.size() > 1 && access(p.c_str(), F_OK) != 0) p = p.substr(0, std::max<size_t>(1, p.rfind('/')));
        struct statvfs st {};
        if (statvfs(p.c_str(), &st) == 0 && (st.f_flag & ST_RDONLY))
          spdlog::error("{}: the {} step will need to write {}, which is read-only to medic; add it to ReadWritePaths= "
                        "in a drop-in (systemctl edit medic)",
                        s.name, step->kind, p);
      }
}

void Agent::reload() {
  sd_notify(0, "RELOADING=1");
  spdlog::info("SIGHUP: reloading the configuration from {}", configPath_);
  auto result = config::loadConfig(configPath_, systemdUnitNeeds(options_.systemd));
  ++figures_.reloads;
  figures_.lastReloadOk = result.config.has_value();
  if (result.config) figures_.lastReloadMs = wallClockMs();
  if (!result.config) {
    for (const auto& e : result.errors.all()) spdlog::error("configuration refused: {}", e.str());
    spdlog::error("reload refused ({} error{}): still running the configuration loaded before", result.errors.size(),
                  result.errors.size() == 1 ? "" : "s");
    std::vector<std::string> errors;
    for (const auto& e : result.errors.all()) errors.push_back(e.str());
    alerter_->setOwnProblem("config", alerts::Condition{alerts::names::kConfigReloadRefused, checks::Severity::warning,
                                                "configuration reload refused; still running the one loaded before",
                                                errors, ""});
  } else {
    apply(std::make_unique<config::Config>(std::move(*result.config)));
    malloc_trim(0);  // (as at start: the YAML document's pages back)
    reportReadOnlyStepPaths(*config_);
    checks_.start();
    systemd_.watchUnits(supervisor_.unitsToWatch(), [this](const std::string& unit, const strategies::UnitState& state) { supervisor_.onUnitChanged(unit, state); });
    spdlog::info("configuration reloaded: {} services, {} checks", config_->services.size(), config_->checkCount());
    alerter_->setOwnProblem("config", std::nullopt);
  }
  sd_notify(0, "READY=1");
  updateStatus();
}

void Agent::updateStatus() {
  const auto counts = supervisor_.healthCounts();
  auto count = [&](Status h) { return std::to_string(counts[size_t(h)]) + " " + std::string(checks::toString(h)); };
  // Said to systemd only when it changes: health news comes once per check at start (10,000
  // checks, 10,000 news) and PID 1 reads every datagram on its notify socket.
  std::string status = std::to_string(supervisor_.services().size()) + " services: " + count(Status::healthy) + ", " +
                       count(Status::degraded) + ", " + count(Status::unhealthy) +
                       (counts[size_t(Status::unknown)] ? ", " + count(Status::unknown) : "");
  if (status == lastStatus_) return;
  lastStatus_ = status;
  sd_notify(0, ("STATUS=" + status).c_str());
}

Agent::~Agent() = default;

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

  systemd_.watchUnits(supervisor_.unitsToWatch(), [this](const std::string& unit, const strategies::UnitState& state) { supervisor_.onUnitChanged(unit, state); });
  systemd_.onConnectionChange([this](bool up, const std::string& why) {
    if (up) {
      systemdDown_.reset();
      return alerter_->setOwnProblem("systemd", std::nullopt);
    }
    if (systemdDown_) return;
    systemdDown_ = host_.loop.addTimer(host_.loop.now() + kSystemdDownAlertAfter, 100ms, [this, why] {
      alerter_->setOwnProblem("systemd", alerts::Condition{alerts::names::kSystemdUnreachable, checks::Severity::critical,
                                                   "medic has not reached systemd over D-Bus for " +
                                                       formatDuration(kSystemdDownAlertAfter) + " (" + why +
                                                       "): failures are seen by checks only, and no step can run",
                                                   {}, ""});
    });
  });
  systemd_.connect();  // on failure it keeps retrying; checks run meanwhile
  supervisor_.resumeSavedState();
  control_ = std::make_unique<control::ControlServer>(host_.loop, options_.systemd.busAddress, operators_);
  control_->start();  // on failure it keeps retrying; medic runs without it meanwhile
  alerter_->start();
  reportReadOnlyStepPaths(*config_);
  checks_.start();
  host_.loop.enableWatchdog();
  spdlog::info("medic running: {} services, {} checks from {}", config_->services.size(), config_->checkCount(), configPath_);
  sd_notify(0, "READY=1");
  updateStatus();
  int rc = host_.loop.run();
  sd_notify(0, "STOPPING=1");
  operators_.stopping();
  if (!options_.reportFile.empty()) std::ofstream(options_.reportFile) << checks_.report() << "\n";
  return rc < 0 ? 1 : 0;
}

AgentFigures Agent::figures() const {
  AgentFigures figures = figures_;
  if (alerter_) figures.sinks = alerter_->figures();
  figures.lateness = checks_.lateness();
  return figures;
}

}  // namespace medic::agent
