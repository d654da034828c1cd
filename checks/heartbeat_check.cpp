#include "checks/heartbeat_check.h"

#include <pwd.h>

#include <algorithm>

#include "checks/probe_env.h"
#include "runtime/event_loop.h"

namespace medic::checks {

void HeartbeatBoard::expect(const std::vector<std::string>& keys, TimePoint now) {
  std::map<std::string, Entry> kept;
  for (const auto& key : keys) {
    auto it = entries_.find(key);
    kept.emplace(key, it != entries_.end() ? std::move(it->second) : Entry{now, std::nullopt});
  }
  entries_ = std::move(kept);
}

bool HeartbeatBoard::record(const std::string& key, Heartbeat beat) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  it->second.last = std::move(beat);
  return true;
}

const Heartbeat* HeartbeatBoard::last(const std::string& key) const {
  auto it = entries_.find(key);
  return it != entries_.end() && it->second.last ? &*it->second.last : nullptr;
}

std::optional<TimePoint> HeartbeatBoard::expectedSince(const std::string& key) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second.since;
}

namespace {
std::string_view heartbeatWord(Status s) {
  return s == Status::healthy ? "ok" : s == Status::degraded ? "warning" : "critical";
}
}  // namespace

std::optional<Status> heartbeatStatus(const std::string& word) {
  if (word == "ok") return Status::healthy;
  if (word == "warning") return Status::degraded;
  if (word == "critical") return Status::unhealthy;
  return std::nullopt;
}

CheckResult HeartbeatCheck::judge(const HeartbeatBoard& board, TimePoint now) const {
  std::string ttl = formatDuration(spec_.ttl);
  auto secs = [](Duration d) { return formatDuration(std::chrono::duration_cast<std::chrono::seconds>(d)); };
  if (const Heartbeat* beat = board.last(spec_.key)) {
    auto age = std::chrono::duration_cast<Duration>(now - beat->at);
    std::string said = beat->message.empty() ? "" : ": " + beat->message;
    std::vector<PerfDatum> values = {{"age", std::chrono::duration<double>(age).count(), "s"}};
    if (age > spec_.ttl) return {Status::unhealthy, "no heartbeat for " + secs(age) + " (ttl " + ttl + "); the last said " + std::string(heartbeatWord(beat->status)) + said, {}, values};
    return {beat->status, "heartbeat " + (age < std::chrono::seconds(1) ? std::string("just now") : secs(age) + " ago") + said, {}, values};
  }
  auto since = board.expectedSince(spec_.key);
  if (!since) return CheckResult::unknown("heartbeats are received by the running agent: see medic status");
  auto waited = std::chrono::duration_cast<Duration>(now - *since);
  if (waited < spec_.ttl) return CheckResult::unknown("no heartbeat yet (" + secs(waited) + " of its ttl of " + ttl + " passed)");
  return CheckResult::unhealthy("no heartbeat in the " + secs(waited) + " since medic began to expect one (ttl " + ttl + ")");
}

std::unique_ptr<Probe> HeartbeatCheck::start(ProbeEnv& env, TimePoint, ResultCallback done) const {
  done(judge(env.heartbeats, env.loop.now()));
  return nullptr;
}

bool HeartbeatCheck::mayPush(uid_t uid, const std::optional<std::string>& callerUnit) const {
  if (uid == 0) return true;
  if (!spec_.uids.empty()) return std::find(spec_.uids.begin(), spec_.uids.end(), uid) != spec_.uids.end();
  return !spec_.unit.empty() && callerUnit == spec_.unit;
}

std::string HeartbeatCheck::whoMayPush() const {
  if (!spec_.userNames.empty()) {
    std::string users;
    for (const auto& u : spec_.userNames) users += (users.empty() ? "" : ", ") + u;
    return std::string("root and the user") + (spec_.userNames.size() > 1 ? "s " : " ") + users;
  }
  return spec_.unit.empty() ? "root" : "root and the processes of " + spec_.unit;
}

std::unique_ptr<Check> parseHeartbeatCheck(MapReader& keys, const CheckContext& where) {
  HeartbeatSpec spec;
  spec.key = where.service + "/" + where.check;
  spec.unit = where.unit;
  if (keys.require("ttl")) keys.read("ttl", spec.ttl, std::chrono::seconds(1));
  if (keys.read("users", spec.userNames)) {
    if (spec.userNames.empty()) keys.error("users", "'users' must name at least one user (root may always push)");
    for (const auto& name : spec.userNames) {
      if (struct passwd* pw = getpwnam(name.c_str())) spec.uids.push_back(pw->pw_uid);
      else keys.error("users", "unknown user " + quoteValue(name));
    }
  }
  return std::make_unique<HeartbeatCheck>(std::move(spec));
}

}  // namespace medic::checks
