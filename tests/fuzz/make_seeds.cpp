// Writes seed inputs for the fuzz targets whose format medic itself writes (state.json, an
// outbox file), by medic's own writers, so the seeds follow the format as it changes.
// Usage: fuzz_make_seeds DIR   (writes DIR/state/*.json and DIR/outbox/*.json)
#include <filesystem>
#include <fstream>
#include <iostream>

#include "alerts/outbox.h"
#include "recovery/state_store.h"
#include "sample_state.h"

using namespace medic;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_make_seeds DIR\n";
    return 2;
  }
  std::string dir = argv[1];
  std::filesystem::create_directories(dir + "/state");
  std::filesystem::create_directories(dir + "/outbox");

  // The integration tests' sample, with what a recovery under way and a pause add.
  recovery::SavedState s = test::sampleState();
  s.savedAtMs = 1700000001000;
  recovery::ServiceState& web = s.services["web"];
  web.machine.phase = recovery::Phase::verifying;
  web.machine.step = 3;
  web.machine.stepRunning = true;
  web.machine.ladder = 0;
  web.machine.pauseLeft = 5min;
  web.machine.paused = true;
  web.machine.pauseReason = "deploy";
  web.machine.cause = strategies::Cause{strategies::CauseKind::signal, "", "", 9, "killed by signal 9"};
  web.faults.push_back({1700000000000, 1700000003500, "signal", "critical", "recovered",
                        {{"restart", "did_not_heal"}, {"restore", "healed"}}, true, false, ""});
  web.faults.push_back({1700000010000, 0, "check", "warning", "", {}, false, true, ""});
  web.faults.push_back({1700000020000, 1700000021000, "dependency", "warning", "healed", {}, false, false, "db"});
  web.recoveryCause = "signal";
  web.excerpt = {"Dec 05 11:58:07 web[86]: ready", "Dec 05 11:58:08 systemd[1]: web.service: Failed with result 'signal'."};
  web.pausedByUid = 0;
  web.pausedBy = "root (uid 0, pid 191)";
  s.services["db"].machine.phase = recovery::Phase::gaveUp;
  std::ofstream(dir + "/state/sample.json") << recovery::toJson(s);

  alerts::Outbox outbox(dir + "/outbox");
  alerts::OutboxEntry e{0, "ops@0", 1700000000000, 7, "web: recovery started", R"({"alert":"recovery-started"})"};
  if (std::string error = outbox.add(e); !error.empty()) {
    std::cerr << error << "\n";
    return 1;
  }
  return 0;
}
