#pragma once
/// Which notifications go where, and when: no I/O, time passed in. The agent says what
/// should be firing for each service (reconcile) and what happened (event); the router turns
/// that into one notification per change (a "resolved" for every "firing"), routes each to
/// the sinks that take it (severity, services), holds back what exceeds a sink's rate limit
/// and sends it as one digest when the window ends, repeats still-firing alerts at a sink's
/// repeat_interval, and keeps Alertmanager's alerts fresh. The delivery takes what it
/// decided with take().
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "alerts/alert.h"
#include "config/spec.h"

namespace medic::alerts {

/// Something that should be firing now.
struct Condition {
  std::string alert;  ///< MedicServiceUnhealthy, ...
  checks::Severity severity = checks::Severity::warning;
  std::string summary;
  std::vector<std::string> details;
  std::string sink;   ///< MedicAlertSinkFailing: which sink (it is not told about itself)
  bool held = false;  ///< not past the service's threshold yet (see Notification::held)
  Why why{};          ///< about a failure: its cause and the unit's journal
};

class AlertRouter {
 public:
  AlertRouter(const config::AlertsSpec& spec, std::string host) : spec_(&spec), host_(std::move(host)) {}
  /// After a configuration reload (sinks are matched by name).
  void setSpec(const config::AlertsSpec& spec) { spec_ = &spec; }

  /// Makes what fires for `service` ("" for medic itself) exactly `wanted`; alerts named in
  /// `leaveAlone` (say, health while it is not known yet) stay as they are.
  void reconcile(const std::string& service, const std::string& unit, const std::vector<Condition>& wanted,
                 bool maintenance, int64_t nowMs, const std::set<std::string>& leaveAlone = {});
  void event(const std::string& service, const std::string& unit, const std::string& name, checks::Severity severity,
             const std::string& summary, const std::vector<std::string>& details, bool maintenance, int64_t nowMs,
             const Why& why = {});
  /// A test notification for one sink (or all when empty); no rate limit.
  void test(const std::string& sink, int64_t nowMs);
  /// Time passed: digests, reminders, Alertmanager's refresh.
  void onTimer(int64_t nowMs);
  std::optional<int64_t> wakeAt() const;
  /// The wall clock stepped by `ms` (WallClockSteps): rate-limit windows, reminders and
  /// Alertmanager's refresh keep their intervals, counted from the same moments as before.
  void clockStepped(int64_t ms);

  struct Outgoing {
    std::string sink;
    Notification n;
    bool refresh = false;  ///< Alertmanager: a still-firing alert sent again (best effort, not queued)
  };
  std::vector<Outgoing> take();

  const std::map<std::string, Notification>& active() const { return active_; }
  /// Active alerts and the next id, so that a restarted medic resolves what it fired.
  std::string toJson() const;
  void fromJson(const std::string& text, int64_t nowMs);  ///< throws on malformed input

 private:
  struct SinkState {
    int64_t windowStart = 0;
    int sentInWindow = 0;
    std::vector<Notification> held;
    std::map<std::string, int64_t> lastSent;  ///< per alert key: for reminders
    int64_t lastRefresh = 0;
  };
  /// Gives `n` its id and offers it to every sink that takes it; a resolved one only to the
  /// sinks that were told it fired; `untoldOnly`: a firing only to sinks not told it yet.
  void publish(Notification& n, int64_t nowMs, bool untoldOnly = false);
  void offer(const config::SinkSpec& sink, SinkState& st, const Notification& n, int64_t nowMs);
  bool takes(const config::SinkSpec& sink, const Notification& n) const;

  const config::AlertsSpec* spec_;
  std::string host_;
  uint64_t takeId(int64_t nowMs);
  uint64_t nextId_ = 1;
  std::map<std::string, Notification> active_;  ///< firing alerts by key
  std::map<std::string, SinkState> sinks_;
  std::vector<Outgoing> out_;
};

}  // namespace medic::alerts
