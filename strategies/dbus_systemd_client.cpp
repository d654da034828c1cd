#include "strategies/dbus_systemd_client.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-bus.h>

#include <cstdlib>

#include "runtime/names.h"

namespace medic::strategies {

using namespace std::chrono_literals;

namespace {

constexpr const char* kManager = "org.freedesktop.systemd1.Manager";
constexpr const char* kUnit = "org.freedesktop.systemd1.Unit";
constexpr const char* kService = "org.freedesktop.systemd1.Service";
constexpr const char* kProperties = "org.freedesktop.DBus.Properties";

const char* methodFor(JobKind kind) {
  switch (kind) {
    case JobKind::start: return "StartUnit";
    case JobKind::stop: return "StopUnit";
    case JobKind::restart: return "RestartUnit";
    case JobKind::reload: return "ReloadUnit";
    case JobKind::reloadOrRestart: return "ReloadOrRestartUnit";
  }
  return "StartUnit";
}

template <typename T>
T get(const std::map<std::string, sdbus::Variant>& props, const char* name, T fallback) {
  auto it = props.find(name);
  if (it == props.end()) return fallback;
  try {
    return it->second.get<T>();
  } catch (const sdbus::Error&) {
    return fallback;
  }
}

// A unit's Job property, (id, path): id 0 when no job is queued.
bool hasJob(const std::map<std::string, sdbus::Variant>& props) {
  return get<sdbus::Struct<uint32_t, sdbus::ObjectPath>>(props, "Job", {}).get<0>() != 0;
}

}  // namespace

DbusSystemdClient::DbusSystemdClient(EventLoop& loop, DbusEndpoint endpoint)
    : loop_(loop),
      endpoint_(std::move(endpoint)),
      bus_(loop, {endpoint_.busAddress, "", "systemd"}, [this](sdbus::IConnection& c) { setUp(c); },
           [this](const std::string& why) { lost(why); }) {}

DbusSystemdClient::~DbusSystemdClient() {
  // Stops systemd has not answered yet may never have reached it: asked again, waiting.
  for (const auto& unit : std::set<std::string>(stopsUnanswered_)) stopScopeNow(unit);
}

bool DbusSystemdClient::connect() { return bus_.connect(); }

void DbusSystemdClient::setUp(sdbus::IConnection& connection) {
  manager_ = sdbus::createProxy(connection, endpoint_.service, endpoint_.managerPath);
  manager_->uponSignal("JobRemoved")
      .onInterface(kManager)
      .call([this](uint32_t, const sdbus::ObjectPath& job, const std::string& unit, const std::string& result) {
        onJobRemoved(job, unit, result);
      });
  manager_->finishRegistration();
  // systemd sends its signals only once someone has subscribed.
  manager_->callMethodAsync("Subscribe").onInterface(kManager).withTimeout(10s).uponReplyInvoke([](const sdbus::Error* e) {
    if (e) spdlog::error("systemd refused Subscribe: {}; failures will only be seen by checks", e->getMessage());
  });
  for (const auto& unit : watched_) watchUnit(unit);
  // Stops asked while away, or whose answer the bus took with it: asked (again) now.
  for (const auto& unit : std::set<std::string>(stopsUnanswered_)) stopScope(unit);
  // Anything may have happened while we were away: report every watched unit's state now.
  for (const auto& unit : watched_) reportCurrentState(unit);
  std::vector<uint64_t> lostJobs;
  for (auto& [id, job] : jobs_)
    if (job.lost) lostJobs.push_back(id);
  for (uint64_t id : lostJobs) followLostJob(id);
  if (connectionChanged_) connectionChanged_(true, "");
}

void DbusSystemdClient::reportCurrentState(const std::string& unit) {
  readUnit(unit, [this, unit](std::optional<UnitState> state, std::string) {
    if (!state) return;
    lastReported_[unit] = {state->activeState, state->subState, state->jobQueued};
    if (unitChanged_) unitChanged_(unit, *state);
  });
}

void DbusSystemdClient::lost(const std::string& why) {
  unitProxies_.clear();
  callProxies_.clear();
  manager_.reset();
  // systemd goes on with every job in flight; only its JobRemoved will not reach us. Each
  // is followed by its unit's state once the bus is back, until its own deadline.
  for (auto& [id, job] : jobs_) {
    job.lost = true;
    job.settle.reset();
  }
  if (connectionChanged_) connectionChanged_(false, why);
}

void DbusSystemdClient::followLostJob(uint64_t id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end() || !bus_.get()) return;
  readUnit(it->second.unit, [this, id](std::optional<UnitState> state, std::string error) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return;  // its JobRemoved came after all, or its deadline
    PendingJob& job = it->second;
    bool moving = state && state->moving();
    if (!state || moving) {  // not settled (or not readable yet): look again shortly
      job.settle = loop_.addTimer(loop_.now() + 200ms, 20ms, [this, id] { followLostJob(id); });
      return;
    }
    bool ok = job.stops ? state->down() : state->up();
    finishJob(id, {ok ? "done" : "failed",
                   "followed across a reconnect of the bus: " + job.unit + " is now " + state->words() + (error.empty() ? "" : "; " + error),
                   job.path, {}});
  });
}

uint64_t DbusSystemdClient::beginJob(const std::string& unit, Duration deadline, JobDone done, bool stops) {
  uint64_t id = nextJob_++;
  PendingJob& job = jobs_[id];
  job.unit = unit;
  job.stops = stops;
  job.done = std::move(done);
  job.started = loop_.now();
  job.deadline = loop_.addTimer(job.started + deadline, 10ms, [this, id, deadline] {
    finishJob(id, {"deadline", "no result from systemd within " + formatDuration(deadline), jobs_.at(id).path, {}});
  });
  return id;
}

void DbusSystemdClient::jobQueued(uint64_t id, const sdbus::Error* error, const sdbus::ObjectPath& path) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  if (error) return finishJob(id, {"refused", error->getMessage(), {}, {}});
  it->second.path = path;
  auto removed = recentlyRemoved_.find(path);
  if (removed != recentlyRemoved_.end()) finishJob(id, {removed->second.first, {}, path, {}});
}

void DbusSystemdClient::runJob(JobKind kind, const std::string& unit, Duration deadline, JobDone done) {
  if (!isValidUnitName(unit)) return done({"refused", "invalid unit name '" + unit + "'", {}, {}});
  if (!bus_.get()) return done({"refused", "not connected to systemd", {}, {}});
  uint64_t id = beginJob(unit, deadline, std::move(done), kind == JobKind::stop);
  try {
    manager_->callMethodAsync(methodFor(kind))
        .onInterface(kManager)
        .withArguments(unit, std::string("replace"))
        .withTimeout(deadline)
        .uponReplyInvoke([this, id](const sdbus::Error* error, sdbus::ObjectPath path) { jobQueued(id, error, path); });
  } catch (const sdbus::Error& e) {
    finishJob(id, {"refused", e.getMessage(), {}, {}});
  }
  bus_.flush();  // the call may be queued for writing
}

void DbusSystemdClient::startScope(const checks::ExecScope& scope, std::function<void(std::string error)> done) {
  if (!isValidUnitName(scope.unit)) return done("invalid unit name '" + scope.unit + "'");
  if (!bus_.get()) return done("not connected to systemd");
  using Property = sdbus::Struct<std::string, sdbus::Variant>;
  std::vector<Property> properties{
      {"Description", sdbus::Variant(scope.description)},
      {"Slice", sdbus::Variant(std::string(checks::kExecSlice))},
      {"PIDs", sdbus::Variant(std::vector<uint32_t>{uint32_t(scope.pid)})},
      {"CollectMode", sdbus::Variant(std::string("inactive-or-failed"))},  // a run killed at its limit leaves no failed unit behind
  };
  if (scope.tasksMax > 0) properties.push_back({"TasksMax", sdbus::Variant(scope.tasksMax)});
  if (scope.memoryMax > 0) properties.push_back({"MemoryMax", sdbus::Variant(scope.memoryMax)});
  std::vector<sdbus::Struct<std::string, std::vector<Property>>> auxiliary;
  // The processes have moved once the scope's start job has run (as systemd-run --scope waits).
  spdlog::debug("starting {} for pid {}", scope.unit, scope.pid);
  uint64_t id = beginJob(scope.unit, 10s, [done, unit = scope.unit](JobOutcome o) {
    spdlog::debug("{}: start job {}{}", unit, o.result, o.error.empty() ? "" : ": " + o.error);
    done(o.ok() ? std::string() : !o.error.empty() ? o.error : "its start job ended " + o.result);
  });
  try {
    manager_->callMethodAsync("StartTransientUnit")
        .onInterface(kManager)
        .withArguments(scope.unit, std::string("fail"), properties, auxiliary)
        .withTimeout(10s)
        .uponReplyInvoke([this, id](const sdbus::Error* error, sdbus::ObjectPath path) { jobQueued(id, error, path); });
  } catch (const sdbus::Error& e) {
    finishJob(id, {"refused", e.getMessage(), {}, {}});
  }
  bus_.flush();
}

void DbusSystemdClient::stopScope(const std::string& unit) {
  if (!isValidUnitName(unit)) return;
  // Owed until systemd answers: asked again on reconnecting, and once more, waiting for the
  // answer, when this client goes. (A call written just before medic exits can be lost:
  // dbus-daemon drops what a peer sent but it had not yet routed when the peer went; seen
  // in the box as a scope left running after the stop was "sent".)
  stopsUnanswered_.insert(unit);
  if (!bus_.get() || !manager_) return spdlog::warn("cannot stop {} yet: not connected to systemd", unit);
  spdlog::debug("stopping {}", unit);
  try {
    manager_->callMethodAsync("StopUnit")
        .onInterface(kManager)
        .withArguments(unit, std::string("replace"))
        .withTimeout(10s)
        .uponReplyInvoke([this, unit](const sdbus::Error* error, sdbus::ObjectPath) {
          // Answered only by systemd itself: an error the bus or the connection made up
          // (NoReply when systemd went, a reset connection, a timeout) leaves it owed.
          bool bySystemd = !error || error->getName().rfind("org.freedesktop.systemd1.", 0) == 0;
          if (bySystemd) stopsUnanswered_.erase(unit);
          // Gone already (systemd saw it empty and collected it) is the usual answer.
          if (error && error->getName() != "org.freedesktop.systemd1.NoSuchUnit")
            spdlog::warn("stopping {}: {}{}", unit, error->getMessage(), bySystemd ? "" : " (asked again on reconnecting, and when medic stops)");
        });
  } catch (const sdbus::Error& e) {
    spdlog::warn("stopping {}: {}", unit, e.getMessage());
  }
  bus_.flush();
}

void DbusSystemdClient::stopScopeNow(const std::string& unit) {
  // This client is going (medic is stopping): this call waits for systemd's answer (a scope
  // left to itself could outlive medic). Bounded: a systemd that does not answer once is
  // not asked again.
  stopsUnanswered_.erase(unit);
  if (!manager_) return spdlog::warn("not stopping {}: not connected to systemd", unit);
  if (systemdSilentAtExit_) return spdlog::warn("not stopping {}: systemd did not answer the stop before", unit);
  spdlog::debug("stopping {} (medic is stopping: waiting for systemd's answer)", unit);
  try {
    manager_->callMethod("StopUnit").onInterface(kManager).withArguments(unit, std::string("replace")).withTimeout(1s);
  } catch (const sdbus::Error& e) {
    if (e.getName() == "org.freedesktop.DBus.Error.Timeout" || e.getName() == "org.freedesktop.DBus.Error.NoReply")
      systemdSilentAtExit_ = true;
    if (e.getName() != "org.freedesktop.systemd1.NoSuchUnit") spdlog::warn("stopping {}: {}", unit, e.getMessage());
  }
}

void DbusSystemdClient::onJobRemoved(const std::string& path, const std::string&, const std::string& result) {
  TimePoint now = loop_.now();
  for (auto it = recentlyRemoved_.begin(); it != recentlyRemoved_.end();)
    it = now - it->second.second > 60s ? recentlyRemoved_.erase(it) : std::next(it);
  for (auto& [id, job] : jobs_)
    if (job.path == path) return finishJob(id, {result, {}, path, {}});
  recentlyRemoved_[path] = {result, now};
}

void DbusSystemdClient::finishJob(uint64_t id, JobOutcome outcome) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  PendingJob job = std::move(it->second);
  jobs_.erase(it);
  outcome.took = loop_.now() - job.started;
  if (outcome.job.empty()) outcome.job = job.path;
  job.done(std::move(outcome));
}

std::string DbusSystemdClient::unitPath(const std::string& unit) const {
  char* path = nullptr;
  sd_bus_path_encode((endpoint_.managerPath + "/unit").c_str(), unit.c_str(), &path);
  std::string out = path ? path : "";
  free(path);
  return out;
}

sdbus::IProxy& DbusSystemdClient::callProxy(const std::string& unit) {
  auto& proxy = callProxies_[unit];
  if (!proxy) {
    proxy = sdbus::createProxy(*bus_.get(), endpoint_.service, unitPath(unit));
    proxy->finishRegistration();
  }
  return *proxy;
}

void DbusSystemdClient::readUnit(const std::string& unit, StateDone done) {
  if (!bus_.get()) return done(std::nullopt, "not connected to systemd");
  auto state = std::make_shared<UnitState>();
  try {
    callProxy(unit)
        .callMethodAsync("GetAll")
        .onInterface(kProperties)
        .withArguments(std::string(kUnit))
        .withTimeout(10s)
        .uponReplyInvoke([this, unit, state, done](const sdbus::Error* error, std::map<std::string, sdbus::Variant> props) {
          if (error) return done(std::nullopt, error->getMessage());
          state->activeState = parseActiveState(get<std::string>(props, "ActiveState", ""));
          state->subState = get<std::string>(props, "SubState", "");
          state->jobQueued = hasJob(props);
          state->loadState = get<std::string>(props, "LoadState", "");
          state->canReload = get<bool>(props, "CanReload", false);
          state->inactiveExitUs = get<uint64_t>(props, "InactiveExitTimestampMonotonic", 0);
          if (!bus_.get()) return done(*state, {});
          // Service-only properties; other unit types simply lack them.
          callProxy(unit)
              .callMethodAsync("GetAll")
              .onInterface(kProperties)
              .withArguments(std::string(kService))
              .withTimeout(10s)
              .uponReplyInvoke([state, done](const sdbus::Error* error, std::map<std::string, sdbus::Variant> props) {
                if (!error) {
                  state->mainPid = get<uint32_t>(props, "MainPID", 0);
                  state->nRestarts = get<uint32_t>(props, "NRestarts", 0);
                  state->result = get<std::string>(props, "Result", "");
                  state->execMainCode = get<int32_t>(props, "ExecMainCode", 0);
                  state->execMainStatus = get<int32_t>(props, "ExecMainStatus", 0);
                  state->restartPolicy = get<std::string>(props, "Restart", "");
                }
                done(*state, {});
              });
        });
  } catch (const sdbus::Error& e) {
    return done(std::nullopt, e.getMessage());
  }
  bus_.flush();
}

void DbusSystemdClient::readAccounting(const std::string& unit, std::function<void(checks::UnitAccounting)> done) {
  checks::UnitAccounting a;
  if (!isValidUnitName(unit)) a.error = "invalid unit name '" + unit + "'";
  else if (!bus_.get()) a.error = "not connected to systemd";
  if (!a.error.empty()) return done(a);
  try {
    callProxy(unit)
        .callMethodAsync("GetAll")
        .onInterface(kProperties)
        .withArguments(std::string(kService))
        .withTimeout(10s)
        .uponReplyInvoke([done](const sdbus::Error* error, std::map<std::string, sdbus::Variant> props) {
          checks::UnitAccounting a;
          if (error) {
            a.error = error->getMessage();
            return done(a);
          }
          // systemd says "not set" with the largest value (accounting off, or no limit).
          auto figure = [&](const char* name) -> std::optional<uint64_t> {
            uint64_t v = get<uint64_t>(props, name, UINT64_MAX);
            return v == UINT64_MAX ? std::nullopt : std::optional<uint64_t>(v);
          };
          a.memoryBytes = figure("MemoryCurrent");
          a.memoryMaxBytes = figure("MemoryMax");
          a.cpuNanoseconds = figure("CPUUsageNSec");
          a.tasks = figure("TasksCurrent");
          a.restarts = get<uint32_t>(props, "NRestarts", 0);
          a.controlGroup = get<std::string>(props, "ControlGroup", "");
          done(a);
        });
  } catch (const sdbus::Error& e) {
    a.error = e.getMessage();
    return done(a);
  }
  bus_.flush();
}

void DbusSystemdClient::resetFailed(const std::string& unit, std::function<void(std::string error)> done) {
  if (!isValidUnitName(unit)) return done("invalid unit name '" + unit + "'");
  if (!bus_.get()) return done("not connected to systemd");
  try {
    manager_->callMethodAsync("ResetFailedUnit")
        .onInterface(kManager)
        .withArguments(unit)
        .withTimeout(10s)
        .uponReplyInvoke([done](const sdbus::Error* error) { done(error ? error->getMessage() : std::string()); });
  } catch (const sdbus::Error& e) {
    return done(e.getMessage());
  }
  bus_.flush();
}

void DbusSystemdClient::unitState(const std::string& unit, StateDone done) {
  if (!isValidUnitName(unit)) return done(std::nullopt, "invalid unit name '" + unit + "'");
  readUnit(unit, std::move(done));
}

void DbusSystemdClient::watchUnits(const std::vector<std::string>& units, UnitChanged onChange) {
  unitChanged_ = std::move(onChange);
  for (const auto& unit : units) {
    if (!isValidUnitName(unit) || !watched_.insert(unit).second) continue;
    if (!bus_.get()) continue;  // connecting will watch it and read its state
    watchUnit(unit);
    reportCurrentState(unit);
  }
}

void DbusSystemdClient::watchUnit(const std::string& unit) {
  auto proxy = sdbus::createProxy(*bus_.get(), endpoint_.service, unitPath(unit));
  proxy->uponSignal("PropertiesChanged")
      .onInterface(kProperties)
      .call([this, unit](const std::string& interface, const std::map<std::string, sdbus::Variant>& changed,
                         const std::vector<std::string>&) {
        if (interface != kUnit || !changed.count("ActiveState")) return;
        // The signal carries the states; the rest (Result, MainPID) is read on demand.
        UnitState state;
        state.activeState = parseActiveState(get<std::string>(changed, "ActiveState", ""));
        state.subState = get<std::string>(changed, "SubState", "");
        state.jobQueued = hasJob(changed);
        // systemd repeats the states with every property it announces: pass on changes only.
        auto& last = lastReported_[unit];
        if (last == std::make_tuple(state.activeState, state.subState, state.jobQueued)) return;
        last = {state.activeState, state.subState, state.jobQueued};
        if (unitChanged_) unitChanged_(unit, state);
      });
  proxy->finishRegistration();
  unitProxies_[unit] = std::move(proxy);
}

}  // namespace medic::strategies
