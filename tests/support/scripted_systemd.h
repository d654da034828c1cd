#pragma once
// A scripted systemd for unit tests: jobs end as the test says (done, failed, or never —
// then "deadline" at their deadline, as DbusSystemdClient reports a missing JobRemoved),
// unit states change on demand, and every answer arrives later on the clock, never inside
// the call, as a real D-Bus answer does.
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "manual_clock.h"
#include "strategies/systemd_client.h"

namespace medic::test {

class ScriptedSystemd : public strategies::SystemdClient {
 public:
  explicit ScriptedSystemd(ManualClock& clock) : clock_(clock) {}

  /// How the next jobs on `unit` of `kind` end: "done", "failed", ... or "hang" (no JobRemoved).
  /// Unscripted jobs end "done".
  void script(strategies::JobKind kind, const std::string& unit, std::vector<std::string> results) {
    for (auto& r : results) scripts_[{kind, unit}].push_back(std::move(r));
  }
  /// Sets a unit's state and tells the watcher, as systemd's PropertiesChanged does.
  void setState(const std::string& unit, const std::string& active, const std::string& sub) {
    auto& st = units[unit];
    st.activeState = strategies::parseActiveState(active);
    st.subState = sub;
    if (watched_.count(unit) && onChange_) later([this, unit, st] { onChange_(unit, st); });
  }

  /// Every job asked for, in order: "restart web.service".
  std::vector<std::string> jobs;
  std::map<std::string, strategies::UnitState> units;

  void runJob(strategies::JobKind kind, const std::string& unit, Duration deadline, JobDone done) override {
    jobs.push_back(std::string(toString(kind)) + " " + unit);
    std::string result = "done";
    if (auto& q = scripts_[{kind, unit}]; !q.empty()) {
      result = q.front();
      q.pop_front();
    }
    if (result == "hang") {
      pending_.push_back(clock_.at(clock_.now() + deadline, [done, deadline] { done({"deadline", "", "", deadline}); }));
      return;
    }
    later([this, kind, unit, result, done] {
      if (result == "done") {
        if (kind == strategies::JobKind::stop) setState(unit, "inactive", "dead");
        else if (kind != strategies::JobKind::reload) setState(unit, "active", "running");
      }
      done({result, "", "/org/freedesktop/systemd1/job/1", std::chrono::milliseconds(5)});
    });
  }
  void unitState(const std::string& unit, StateDone done) override {
    auto it = units.find(unit);
    std::optional<strategies::UnitState> st;
    if (it != units.end()) st = it->second;
    later([st, done] { done(st, st ? "" : "no such unit"); });
  }
  void resetFailed(const std::string& unit, std::function<void(std::string)> done) override {
    jobs.push_back("reset-failed " + unit);
    later([done] { done(""); });
  }
  void watchUnits(const std::vector<std::string>& units, UnitChanged onChange) override {
    watched_ = {units.begin(), units.end()};
    onChange_ = std::move(onChange);
  }
  bool connected() const override { return true; }

 private:
  void later(std::function<void()> fn) { pending_.push_back(clock_.at(clock_.now(), std::move(fn))); }

  ManualClock& clock_;
  std::map<std::pair<strategies::JobKind, std::string>, std::deque<std::string>> scripts_;
  std::set<std::string> watched_;
  UnitChanged onChange_;
  std::vector<Timer> pending_;
};

}  // namespace medic::test
