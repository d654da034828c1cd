#include "recovery/conditions.h"

#include <fmt/format.h>

#include <memory>
#include <vector>

#include "checks/disk_check.h"
#include "checks/memory_check.h"
#include "checks/tcp_check.h"

namespace medic::recovery {

using namespace std::chrono_literals;

namespace {

// Disk and memory headroom, read at once: the first not met, or "".
std::string localHeadroom(const config::ConditionsSpec& c) {
  std::string error;
  for (const auto& d : c.diskFree) {
    auto u = checks::readDiskUsage(d.path, error);
    if (!u) return error;
    double freePercent = 100.0 - u->usedPercent;
    if (freePercent < d.minFreePercent) return fmt::format("only {:.1f}% free on {} (needs {:.0f}%)", freePercent, d.path, d.minFreePercent);
  }
  if (c.minMemoryAvailablePercent) {
    auto m = checks::readMemoryUsage(checks::MemorySpec{}.meminfo, error);
    if (!m) return error;
    if (m->availablePercent() < *c.minMemoryAvailablePercent)
      return fmt::format("only {:.1f}% memory available (needs {:.0f}%)", m->availablePercent(), *c.minMemoryAvailablePercent);
  }
  return {};
}

}  // namespace

void evaluateConditions(const config::ConditionsSpec& c, strategies::SystemdClient& systemd, checks::ProbeRunner& probes,
                        const HostCheckGate& hostChecks, std::function<void(std::string unmet)> done) {
  struct Pending {
    size_t left = 0;
    std::vector<std::string> unmet;  // one slot per condition, in config order
    std::function<void(std::string)> done;
  };
  auto pending = std::make_shared<Pending>();
  pending->left = c.unitsActive.size() + c.reachablePeers.size() + 1;  // +1: the local ones below
  pending->unmet.resize(pending->left);
  pending->done = std::move(done);
  auto answer = [pending](size_t slot, std::string unmet) {
    pending->unmet[slot] = std::move(unmet);
    if (--pending->left > 0) return;
    for (const auto& u : pending->unmet)
      if (!u.empty()) return pending->done(u);
    pending->done("");
  };
  size_t slot = 0;
  for (const auto& unit : c.unitsActive)
    systemd.unitState(unit, [answer, unit, i = slot++](std::optional<strategies::UnitState> st, std::string error) {
      if (!st) return answer(i, "cannot read " + unit + ": " + error);
      answer(i, st->up() ? "" : unit + " is " + std::string(strategies::toString(st->activeState)));
    });
  for (size_t t = 0; t < c.reachablePeers.size(); ++t) {
    checks::TcpSpec spec;
    spec.peer = c.reachablePeers[t];
    std::string target = t < c.reachable.size() ? c.reachable[t] : spec.peer.text();  // as the operator wrote it
    probes.run(std::make_shared<checks::TcpCheck>(std::move(spec)), 2s, [answer, target, i = slot++](checks::CheckResult r) {
      answer(i, r.status == checks::Status::healthy ? "" : target + " is unreachable: " + r.message);
    });
  }
  // The host's checks as last measured, and the local headroom, read at once.
  std::string local;
  for (const auto& check : c.checksHealthy)
    if (local.empty()) local = hostChecks(check);
  answer(slot, local.empty() ? localHeadroom(c) : local);
}

}  // namespace medic::recovery
