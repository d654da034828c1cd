#pragma once
/// Known-good snapshots of config dirs, for the rollback step: for each rollback step in a
/// service's ladders, the config dir is looked at now and then (every fifth of its
/// `snapshot_after`, 1s to 60s); once it has stayed as it is with the service healthy for
/// `snapshot_after`, a snapshot is taken (unless the newest holds the same). A config dir
/// changed while medic watched counts only from when its unit was next (re)started or
/// reloaded: a config the service has not loaded yet is not known to be good. The file
/// work runs off the loop.
#include <map>
#include <string>

#include "agent/supervisor.h"
#include "runtime/background.h"

namespace medic::agent {

class ConfigSnapshots {
 public:
  ConfigSnapshots(Supervisor& supervisor, Clock& clock, BackgroundTasks& background)
      : supervisor_(supervisor), clock_(clock), background_(background) {}
  /// After a (re)load: watches the rollback steps of `config`'s services.
  void apply(const config::Config& config);

 private:
  struct Watch {
    std::string service;
    strategies::SnapshotPolicy policy;
    Timer timer;
    bool busy = false;
    std::string seen;                      // the config dir's fingerprint, as last looked at
    std::optional<TimePoint> stableSince;  // unchanged and healthy since
    std::optional<TimePoint> changedAt;    // changed while watched: counts once applied (unit restarted or reloaded since)
    std::string kept;                      // the fingerprint of the last snapshot taken
  };
  void look(const std::string& key);
  void arm(const std::string& key);

  Supervisor& supervisor_;
  Clock& clock_;
  BackgroundTasks& background_;
  std::map<std::string, Watch> watches_;  // by service and config dir
};

}  // namespace medic::agent
