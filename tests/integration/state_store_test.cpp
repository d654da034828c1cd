// medic's saved state on a real filesystem.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "agent/state_store.h"
#include "harness.h"

using namespace medic;
using namespace medic::agent;
using namespace medic::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

SavedState sample() {
  SavedState s;
  s.nextActionId = 42;
  ServiceState& web = s.services["web"];
  web.machine.phase = Phase::cooldown;
  web.machine.round = 2;
  web.machine.step = 1;
  web.machine.attempt = 1;
  web.machine.cooldownLeft = 90s;
  web.machine.recoveryAges = {10min, 2min};
  web.history.push_back({41, "restart", 1, 2, "check 'health' failed 3 in a row: HTTP 500", 1700000000000, 1700000000900, "failed: timeout"});
  web.figures.recoveries = 3;
  web.figures.successes = 2;
  web.figures.recoverySeconds = {1.5, 2.5};
  web.recoveryStartedMs = 1700000000000;
  web.recoveryReason = "check 'health' failed 3 in a row: HTTP 500";
  return s;
}

TEST(StateStore, SavesAndLoadsEverything) {
  TempDir dir;
  StateStore store(dir.file("state"));
  ASSERT_EQ(store.save(sample()), "");
  std::string warning;
  SavedState loaded = store.load(warning);
  EXPECT_EQ(warning, "");
  EXPECT_EQ(toJson(loaded), toJson(sample()));
  const auto& web = loaded.services.at("web");
  EXPECT_EQ(web.machine.phase, Phase::cooldown);
  EXPECT_EQ(web.machine.cooldownLeft, 90s);
  EXPECT_EQ(web.history.at(0).result, "failed: timeout");
  EXPECT_DOUBLE_EQ(web.figures.meanSeconds(), 2.0);
  EXPECT_FALSE(fs::exists(dir.file("state/state.json.tmp"))) << "the temporary file is renamed into place";
  EXPECT_EQ(fs::status(store.path()).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
}

TEST(StateStore, TotalsAddUpEveryService) {
  SavedState s = sample();
  s.services["db"].figures.recoveries = 1;
  s.services["db"].figures.gaveUp = 1;
  s.services["db"].figures.recoverySeconds = {5.0};
  Figures all = s.totals();
  EXPECT_EQ(all.recoveries, 4u);
  EXPECT_EQ(all.successes, 2u);
  EXPECT_EQ(all.gaveUp, 1u);
  EXPECT_DOUBLE_EQ(all.meanSeconds(), 3.0);
  EXPECT_DOUBLE_EQ(all.p95Seconds(), 5.0);
  EXPECT_NE(toJson(s).find("\"totals\""), std::string::npos);
}

TEST(StateStore, NoFileIsAFirstStart) {
  TempDir dir;
  std::string warning;
  SavedState loaded = StateStore(dir.file("none")).load(warning);
  EXPECT_EQ(warning, "");
  EXPECT_TRUE(loaded.services.empty());
  EXPECT_EQ(loaded.nextActionId, 1u);
}

TEST(StateStore, ACorruptFileIsMovedAsideAndMedicStartsFresh) {
  TempDir dir;
  dir.write("state/state.json", "{\"version\": 1, \"services\": {\"web\": tru");
  StateStore store(dir.file("state"));
  std::string warning;
  SavedState loaded = store.load(warning);
  EXPECT_TRUE(loaded.services.empty());
  EXPECT_EQ(warning.rfind("cannot read " + store.path() + " (", 0), 0u) << warning;
  EXPECT_NE(warning.find("moved it to " + store.path() + ".corrupt-"), std::string::npos) << warning;
  EXPECT_FALSE(fs::exists(store.path()));
  int aside = 0;
  for (const auto& e : fs::directory_iterator(dir.file("state")))
    aside += e.path().filename().string().rfind("state.json.corrupt-", 0) == 0;
  EXPECT_EQ(aside, 1);
}

}  // namespace
