#pragma once
/// heartbeat: pushed by the service, not probed (Consul's TTL check). A worker, a batch job
/// or a cron script runs `medic heartbeat SERVICE/CHECK [--status ok|warning|critical]
/// [--message TEXT]` at least every `ttl`; the check is what the latest heartbeat said while
/// it is younger than `ttl`, and unhealthy once it is older. A heartbeat that never came is
/// `unknown` until `ttl` has passed since medic began to expect it. Heartbeats reach the agent
/// over the control interface and wait on its HeartbeatBoard, which probes only read.
#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "checks/check.h"
#include "runtime/map_reader.h"

namespace medic::checks {

struct Heartbeat {
  TimePoint at;
  Status status = Status::healthy;  ///< healthy, degraded or unhealthy (ok, warning, critical)
  std::string message;
  std::string from;  ///< who pushed it: "backup (uid 34, pid 812)"
};

/// The latest heartbeat of each heartbeat check, keyed "SERVICE/CHECK". Bounded by the
/// configuration: only keys the agent expects are kept.
class HeartbeatBoard {
 public:
  /// The heartbeat checks of the configuration just applied: a key new to the board starts
  /// its ttl at `now`; a key no longer configured is forgotten; the others keep their beats.
  void expect(const std::vector<std::string>& keys, TimePoint now);
  /// Keeps `beat` as the latest for `key`; false when no such heartbeat check is expected.
  bool record(const std::string& key, Heartbeat beat);
  const Heartbeat* last(const std::string& key) const;
  /// When medic began to expect `key`; nullopt when it does not (e.g. `medic check`).
  std::optional<TimePoint> expectedSince(const std::string& key) const;

 private:
  struct Entry {
    TimePoint since;
    std::optional<Heartbeat> last;
  };
  std::map<std::string, Entry> entries_;
};

struct HeartbeatSpec {
  std::string key;  ///< "SERVICE/CHECK"
  Duration ttl{};
  std::vector<std::string> userNames;  ///< `users:` as written, for messages
  std::vector<uid_t> uids;             ///< these users may push
  std::string unit;  ///< without `users:`, the processes of this unit may push (root always may)
};

class HeartbeatCheck : public Check {
 public:
  explicit HeartbeatCheck(HeartbeatSpec spec) : spec_(std::move(spec)) {}
  const HeartbeatSpec& spec() const { return spec_; }
  std::string target() const override { return "heartbeat " + spec_.key + " within " + formatDuration(spec_.ttl); }
  std::vector<ValueInfo> values() const override { return {{"age", "s"}}; }
  std::unique_ptr<Probe> start(ProbeEnv& env, TimePoint deadline, ResultCallback done) const override;
  /// The check's status from the board at `now`: what a probe reports, and what the agent
  /// reports at once when a heartbeat arrives.
  CheckResult judge(const HeartbeatBoard& board, TimePoint now) const;
  /// Whether a caller may push this heartbeat: root always; else a user of `users:`, or,
  /// without `users:`, a process of the service's own unit (`callerUnit`, from its cgroup).
  bool mayPush(uid_t uid, const std::optional<std::string>& callerUnit) const;
  /// Who may push, for a refusal: "root and the processes of worker.service".
  std::string whoMayPush() const;

 private:
  HeartbeatSpec spec_;
};

/// "ok", "warning", "critical" as `medic heartbeat --status` says them.
std::optional<Status> heartbeatStatus(const std::string& word);

std::unique_ptr<Check> parseHeartbeatCheck(MapReader& keys, const CheckContext& where);

}  // namespace medic::checks
