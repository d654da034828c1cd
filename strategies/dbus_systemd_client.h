#pragma once
/// SystemdClient over org.freedesktop.systemd1 with sdbus-c++, driven by the agent's
/// event loop (no sdbus-c++ thread). Survives the bus going away: it reconnects with
/// backoff, re-subscribes and re-reads the watched units so no change is missed, and follows
/// every job that was in flight to its end (systemd went on with it; the bus only carried
/// the news): once back, the unit's own state says how the job ended.
#include <sdbus-c++/sdbus-c++.h>

#include <map>
#include <memory>
#include <set>

#include "runtime/bus_connection.h"
#include "checks/exec_scope.h"
#include "checks/unit_check.h"
#include "runtime/event_loop.h"
#include "strategies/systemd_client.h"

namespace medic::strategies {

struct DbusEndpoint {
  std::string busAddress;  ///< empty: the system bus ($DBUS_SYSTEM_BUS_ADDRESS honoured)
  std::string service = "org.freedesktop.systemd1";
  std::string managerPath = "/org/freedesktop/systemd1";
};

class DbusSystemdClient : public SystemdClient, public checks::UnitAccountingReader, public checks::ScopeStarter {
 public:
  DbusSystemdClient(EventLoop& loop, DbusEndpoint endpoint = {});
  ~DbusSystemdClient() override;

  /// Connects now; on failure keeps retrying in the background. Returns whether it connected.
  bool connect();

  void runJob(JobKind kind, const std::string& unit, Duration deadline, JobDone done) override;
  void unitState(const std::string& unit, StateDone done) override;
  void resetFailed(const std::string& unit, std::function<void(std::string error)> done) override;
  void watchUnits(const std::vector<std::string>& units, UnitChanged onChange) override;
  bool connected() const override { return bus_.get() != nullptr; }
  /// The unit's accounting properties (for `type: unit` checks).
  void readAccounting(const std::string& unit, std::function<void(checks::UnitAccounting)> done) override;
  /// Manager.StartTransientUnit of a scope around an exec run; answers once its job is done.
  void startScope(const checks::ExecScope& scope, std::function<void(std::string error)> done) override;
  /// Manager.StopUnit of that scope; nobody waits for it, but it is asked again (waiting
  /// for the answer) when this client goes before systemd answered, and on reconnecting.
  void stopScope(const std::string& unit) override;
  /// Told when the connection to systemd comes (true) or goes (false, and why).
  void onConnectionChange(std::function<void(bool up, const std::string& why)> f) { connectionChanged_ = std::move(f); }

 private:
  struct PendingJob {
    std::string unit;
    JobDone done;
    TimePoint started;
    EventSource deadline;
    std::string path;  // known once the method reply came
    bool stops = false;  // a stop job: it ended well when the unit is down
    bool lost = false;   // in flight when the bus went away: followed by the unit's state
    EventSource settle;  // while followed: the next look at the unit
  };

  void setUp(sdbus::IConnection& connection);
  void lost(const std::string& why);
  // A job's life: tracked from the call (with its deadline), named by the call's reply,
  // ended by JobRemoved, the deadline, or the bus going away.
  uint64_t beginJob(const std::string& unit, Duration deadline, JobDone done, bool stops = false);
  void followLostJob(uint64_t id);
  void jobQueued(uint64_t id, const sdbus::Error* error, const sdbus::ObjectPath& path);
  void finishJob(uint64_t id, JobOutcome outcome);
  void onJobRemoved(const std::string& path, const std::string& unit, const std::string& result);
  void watchUnit(const std::string& unit);
  void reportCurrentState(const std::string& unit);
  void readUnit(const std::string& unit, StateDone done);
  std::string unitPath(const std::string& unit) const;
  sdbus::IProxy& callProxy(const std::string& unit);
  void stopScopeNow(const std::string& unit);  // this client is going: a call that waits

  EventLoop& loop_;
  DbusEndpoint endpoint_;
  BusConnection bus_;  // declared before the proxies, so it outlives them
  std::unique_ptr<sdbus::IProxy> manager_;
  bool systemdSilentAtExit_ = false;  // a stop at exit went unanswered: no more are asked
  std::set<std::string> stopsUnanswered_;  // scopes asked to stop, systemd's answer not yet in
  std::map<std::string, std::unique_ptr<sdbus::IProxy>> unitProxies_;  // signal watches
  std::map<std::string, std::unique_ptr<sdbus::IProxy>> callProxies_;  // property reads
  uint64_t nextJob_ = 1;
  std::map<uint64_t, PendingJob> jobs_;
  // JobRemoved may overtake the reply that names the job: remember recent endings briefly.
  std::map<std::string, std::pair<std::string, TimePoint>> recentlyRemoved_;
  std::set<std::string> watched_;
  std::map<std::string, std::tuple<ActiveState, std::string, bool>> lastReported_;  // ActiveState, SubState, a job queued
  UnitChanged unitChanged_;
  std::function<void(bool, const std::string&)> connectionChanged_;
};

}  // namespace medic::strategies
