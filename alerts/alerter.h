#pragma once
/// Alerts, end to end: the router's decisions (alerts/alert_router.h) put into each sink's
/// words (alerts/alert.h), kept in the durable outbox until the receiver has them, and
/// delivered in order per receiver with backoff (alerts/alert_transport.h). Delivery never
/// blocks the loop; a receiver that is down only delays its own queue. The journal is not
/// a sink: the agent writes every event there itself.
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "alerts/alert_router.h"
#include "alerts/alert_transport.h"
#include "alerts/outbox.h"

namespace medic::alerts {

class Alerter {
 public:
  Alerter(EventLoop& loop, CurlMulti& curl, const config::AlertsSpec& spec, std::string stateDir, std::string host);
  ~Alerter();
  /// Loads the alerts that were firing and what was left undelivered, and starts delivering.
  void start();
  /// After a configuration reload.
  void setSpec(const config::AlertsSpec& spec);

  void reconcile(const std::string& service, const std::string& unit, const std::vector<Condition>& wanted,
                 bool maintenance, const std::set<std::string>& leaveAlone = {});
  void event(const std::string& service, const std::string& unit, const std::string& name, checks::Severity severity,
             const std::string& summary, const std::vector<std::string>& details, bool maintenance, const Why& why = {});
  /// medic's own problems (config reload refused, systemd unreachable), by a name of the
  /// caller's choosing; nullopt when it is over.
  void setOwnProblem(const std::string& id, std::optional<Condition> problem);

  /// Deliveries waiting, per target (for tests and status).
  size_t pending() const;

  /// Per sink, for /metrics: notifications delivered, refused for good and delivery attempts
  /// failed since medic started; and what waits in its outbox now.
  struct SinkFigures {
    uint64_t delivered = 0, refused = 0, failedAttempts = 0;
    size_t waiting = 0;
    int64_t oldestWaitingMs = 0;  ///< wall clock of the oldest waiting one's creation; 0 if none
  };
  std::map<std::string, SinkFigures> figures() const;
  /// The alerts firing now (held ones too), oldest first.
  std::vector<Notification> firing() const;

 private:
  struct Target {
    std::string name;  // sink name, or sink@index for one Alertmanager of several
    std::string sink;
    std::string url;
    std::deque<OutboxEntry> queue;
    bool busy = false;
    size_t inFlight = 0;  // the first this many of queue are being delivered (busy)
    EventSource retry;
    Duration backoff{};
    int failures = 0;
    size_t fromBefore = 0;  // undelivered when medic started, still to go
  };
  void buildTargets();
  void flush();  // what the router decided -> the outbox and the wire
  void enqueue(const config::SinkSpec& sink, const Notification& n);
  void refresh(const config::SinkSpec& sink, const std::vector<Notification>& alerts);
  void pump(Target& t);
  void delivered(const std::string& target, size_t count, Delivery d);
  void saveActive();
  void noteOutboxWrite(const std::string& error);
  void armTimer();
  int64_t wallNow();  ///< the wall clock; moves what measures intervals by a step of it
  void reconcileOwn();
  const config::SinkSpec* sinkNamed(const std::string& name) const;

  EventLoop& loop_;
  const config::AlertsSpec* spec_;
  std::string stateDir_;
  AlertRouter router_;
  Outbox outbox_;
  AlertTransport transport_;
  std::map<std::string, Target> targets_;
  std::map<std::string, Condition> own_;    // medic's own problems
  std::set<std::string> failingSinks_;
  std::map<std::string, SinkFigures> counts_;  // per sink: the counters (they outlive a reload's new targets)
  EventSource timer_;
  std::string lastSaveError_;
  bool outboxWritable_ = true;  // a change is said once
  WallClockSteps clockSteps_;
};

}  // namespace medic::alerts
