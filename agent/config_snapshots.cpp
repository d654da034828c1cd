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
  bool healthy = s && supervisor_.health(*s) == checks::Status::healthy && s->machine->phase() == recovery::Phase::healthy &&
                 s->unit.activeState == "active";
  if (!healthy) {
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
  background_.run(
      [policy = w.policy, seenBefore = w.seen, kept = w.kept, due] {
        std::string fp = strategies::fingerprint(policy.configDir);
        std::string out = fp + '\x1e';
        if (due && !fp.empty() && fp == seenBefore && fp != kept) {
          std::string lines;
          auto error = strategies::takeSnapshot(policy, [&](const std::string& l) { lines += l + "\n"; });
          out += error ? "!" + *error : "+" + lines;
        }
        return out;
      },
      [this, key, now](std::string out) {
        auto it = watches_.find(key);
        if (it == watches_.end()) return;
        Watch& w = it->second;
        w.busy = false;
        size_t sep = out.find('\x1e');
        std::string fp = out.substr(0, sep), result = out.substr(sep + 1);
        if (fp != w.seen || !w.stableSince) {  // changed (or healthy again): the wait starts over
          if (fp != w.seen && !w.seen.empty()) w.changedAt = now;
          w.seen = fp;
          w.stableSince = now;
          return;
        }
        if (result.empty()) return;
        if (result[0] == '!') {
          spdlog::error("{}: cannot take a snapshot of {}: {}", w.service, w.policy.configDir, result.substr(1));
          return;
        }
        w.kept = fp;
        for (size_t at = 1, nl; (nl = result.find('\n', at)) != std::string::npos; at = nl + 1)
          spdlog::info("{}: {}", w.service, result.substr(at, nl - at));
      });
}

}  // namespace medic::agent
