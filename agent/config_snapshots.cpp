#include "agent/config_snapshots.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "strategies/rollback_step.h"

namespace medic::agent {

void ConfigSnapshots::apply(const config::Config& config) {
  std::map<std::string, Watch> next;
  for (const auto& s : config.services)
    for (const auto* step : s.recovery.allSteps()) {
      const strategies::SnapshotPolicy* p = step->step ? step->step->snapshots() : nullptr;
      if (!p) continue;
      std::string key = s.name + "\n" + p->configDir;
      if (next.count(key)) continue;
      auto old = watches_.find(key);
      Watch w;
      if (old != watches_.end() && !old->second.busy) {  // what was seen of it stays known
        w.seen = old->second.seen;
        w.stableSince = old->second.stableSince;
        w.changedAt = old->second.changedAt;
        w.kept = old->second.kept;
      }
      w.service = s.name;
      w.policy = *p;
      next.emplace(key, std::move(w));
    }
  watches_ = std::move(next);  // (a look under way for a removed or busy watch is dropped)
  for (auto& [key, w] : watches_) arm(key);
}

void ConfigSnapshots::arm(const std::string& key) {
  Watch& w = watches_.at(key);
  Duration every = std::clamp<Duration>(w.policy.after / 5, std::chrono::seconds(1), std::chrono::seconds(60));
  w.timer = clock_.at(clock_.now() + every, [this, key] { look(key); });
}

void ConfigSnapshots::look(const std::string& key) {
  auto it = watches_.find(key);
  if (it == watches_.end()) return;
  Watch& w = it->second;
  arm(key);
  const Supervisor::Service* s = supervisor_.find(w.service);
  if (!s || !supervisor_.runsWell(*s)) {
    w.stableSince.reset();  // known good means it ran well with it
    return;
  }
  if (w.busy) return;
  w.busy = true;
  TimePoint now = clock_.now();
  // The snapshot is taken on the same thread right after the look, when it is due.
  std::optional<TimePoint> since = w.stableSince;
  if (since && w.changedAt) since = s->upSince >= *w.changedAt ? std::optional<TimePoint>(std::max(*since, s->upSince)) : std::nullopt;
  bool due = since && now - *since >= w.policy.after;
  // What the worker found, read back on the loop.
  struct Look {
    std::string fingerprint;
    bool took = false;  // a snapshot was attempted
    std::optional<std::string> error;
    std::vector<std::string> lines;
  };
  auto found = std::make_shared<Look>();
  background_.run(
      [policy = w.policy, seenBefore = w.seen, kept = w.kept, due, found] {
        found->fingerprint = strategies::fingerprint(policy.configDir);
        if (due && !found->fingerprint.empty() && found->fingerprint == seenBefore && found->fingerprint != kept) {
          found->took = true;
          found->error = strategies::takeSnapshot(policy, [&](const std::string& l) { found->lines.push_back(l); });
        }
        return std::string();
      },
      [this, key, now, found](std::string) {
        auto it = watches_.find(key);
        if (it == watches_.end()) return;
        Watch& w = it->second;
        w.busy = false;
        if (found->fingerprint != w.seen || !w.stableSince) {  // changed (or healthy again): the wait starts over
          if (found->fingerprint != w.seen && !w.seen.empty()) w.changedAt = now;
          w.seen = found->fingerprint;
          w.stableSince = now;
          return;
        }
        if (!found->took) return;
        if (found->error) {
          spdlog::error("{}: cannot take a snapshot of {}: {}", w.service, w.policy.configDir, *found->error);
          return;
        }
        w.kept = found->fingerprint;
        for (const auto& line : found->lines) spdlog::info("{}: {}", w.service, line);
      });
}

}  // namespace medic::agent
