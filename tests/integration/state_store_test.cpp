// medic's saved state on a real filesystem.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sys/stat.h>

#include "recovery/state_store.h"
#include "harness.h"
#include "sample_state.h"

using namespace medic;
using namespace medic::recovery;
using namespace medic::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

recovery::SavedState sample() { return sampleState(); }

TEST(StateStore, SavesAndLoadsEverything) {
  TempDir dir;
  recovery::StateStore store(dir.file("state"));
  ASSERT_EQ(store.save(sample()), "");
  std::string warning;
  recovery::SavedState loaded = store.load(warning);
  EXPECT_EQ(warning, "");
  EXPECT_EQ(toJson(loaded), toJson(sample()));
  const auto& web = loaded.services.at("web");
  EXPECT_EQ(web.machine.phase, recovery::Phase::cooldown);
  EXPECT_EQ(web.machine.cooldownLeft, 90s);
  EXPECT_EQ(web.history.at(0).result, "failed: timeout");
  EXPECT_DOUBLE_EQ(web.figures.meanSeconds(), 2.0);
  EXPECT_EQ(web.figures.steps.at("restart").at("healed"), 2u) << "step counters survive a restart";
  EXPECT_FALSE(fs::exists(dir.file("state/state.json.tmp"))) << "the temporary file is renamed into place";
  EXPECT_EQ(fs::status(store.path()).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
}

TEST(StateStore, TotalsAddUpEveryService) {
  recovery::SavedState s = sample();
  s.services["db"].figures.recoveries = 1;
  s.services["db"].figures.gaveUp = 1;
  s.services["db"].figures.recoverySeconds = {5.0};
  recovery::Figures all = s.totals();
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
  recovery::SavedState loaded = recovery::StateStore(dir.file("none")).load(warning);
  EXPECT_EQ(warning, "");
  EXPECT_TRUE(loaded.services.empty());
  EXPECT_EQ(loaded.nextActionId, 1u);
}

// Loads `text` as state.json: what was kept, and the warning (empty when it all loaded).
std::pair<recovery::SavedState, std::string> loadWithWarning(const std::string& text) {
  TempDir dir;
  dir.write("state/state.json", text);
  recovery::StateStore store(dir.file("state"));
  std::string warning;
  recovery::SavedState loaded = store.load(warning);
  return {loaded, warning};
}

TEST(StateStore, ANumberNoMedicCouldHaveWrittenCostsOnlyItsOwnFieldNeverTheFile) {
  recovery::SavedState sample = sampleState();
  sample.services["worker"] = sample.services["web"];  // a second service, written right (after web)
  sample.services["worker"].machine.paused = true;
  sample.services["worker"].machine.pauseLeft = 3600s;
  sample.services["worker"].pauseReason = "disk swap";
  std::string good = toJson(sample);
  ASSERT_EQ(loadWithWarning(good).second, "");
  // Replaces the first `from` (web's, which is written first) by `to`.
  auto with = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  };
  // Each would overflow a duration, wrap a counter, or be clamped into nonsense. Each is
  // named, and costs what it belongs to: web's machine, a history entry, web's figures, or
  // one field; worker's state (its pause above all) and the rest of web's are kept.
  struct Bad {
    std::string from, to, named;
  };
  for (const Bad& bad : std::vector<Bad>{
           {"\"cooldown_left_ms\":90000", "\"cooldown_left_ms\":9223372036854775807",
            "service 'web', its recovery state: 'cooldown_left_ms' is 9223372036854775807, not a whole number from 0 to 315360000000"},
           {"\"cooldown_left_ms\":90000", "\"cooldown_left_ms\":-5", "service 'web', its recovery state"},
           {"\"cooldown_left_ms\":90000", "\"cooldown_left_ms\":1e300", "service 'web', its recovery state"},
           {"\"recovery_ages_ms\":[600000", "\"recovery_ages_ms\":[-9223372036854775807", "service 'web', recovery_ages_ms"},
           {"\"attempt\":1,\"cause", "\"attempt\":2147483648,\"cause", "service 'web', history entry 1"},
           {"\"round\":2,\"since", "\"round\":-2147483648,\"since", "service 'web', its recovery state"},
           {"\"started_ms\":1700000000000", "\"started_ms\":-1", "service 'web', history entry 1"},
           {"\"saved_at_ms\":0", "\"saved_at_ms\":18446744073709551615", "saved_at_ms"},
           {"\"recovery_seconds\":[1.5", "\"recovery_seconds\":[-1.5", "service 'web', figures"}}) {
    auto [loaded, warning] = loadWithWarning(with(bad.from, bad.to));
    EXPECT_NE(warning.find("dropped what no medic could have written and kept the rest: " + bad.named), std::string::npos)
        << bad.to << ": " << warning;
    ASSERT_EQ(loaded.services.count("worker"), 1u) << bad.to;
    EXPECT_EQ(toJson({{}, 0, {{"worker", loaded.services["worker"]}}}), toJson({{}, 0, {{"worker", sample.services["worker"]}}})) << bad.to;
    ASSERT_EQ(loaded.services.count("web"), 1u) << bad.to;
    EXPECT_EQ(loaded.services["web"].recoveryReason, sample.services["web"].recoveryReason) << bad.to;
  }
  // What was dropped took only itself: the web machine's snapshot, not its history.
  auto [loaded, warning] = loadWithWarning(with("\"cooldown_left_ms\":90000", "\"cooldown_left_ms\":-5"));
  EXPECT_EQ(loaded.services["web"].machine.phase, recovery::Phase::healthy);
  EXPECT_EQ(loaded.services["web"].history.size(), 1u);
  EXPECT_EQ(loaded.services["web"].figures.recoveries, 3u);
  // A pause whose length cannot be read stays a pause (until resumed), never a pause lost.
  std::string workerPause = "\"pause_left_ms\":3600000";
  ASSERT_NE(good.find(workerPause), std::string::npos);
  auto [paused, why] = loadWithWarning(with(workerPause, "\"pause_left_ms\":3153600000000"));
  EXPECT_NE(why.find("service 'worker', pause_left_ms: 'pause_left_ms' is 3153600000000"), std::string::npos) << why;
  EXPECT_TRUE(paused.services["worker"].machine.paused);
  EXPECT_FALSE(paused.services["worker"].machine.pauseLeft.has_value());
  EXPECT_EQ(paused.services["worker"].pauseReason, "disk swap");
}

TEST(StateStore, AFileThatIsNoRegularFileOrTooLargeIsMovedAsideWithoutReadingIt) {
  TempDir dir;
  recovery::StateStore store(dir.file("state"));
  fs::create_directories(dir.file("state"));
  auto warningFor = [&] {
    std::string warning;
    store.load(warning);
    EXPECT_FALSE(fs::exists(fs::symlink_status(store.path()))) << "moved aside";
    return warning;
  };
  fs::create_symlink("/dev/zero", store.path());
  EXPECT_NE(warningFor().find("(it is a symbolic link, which medic never follows)"), std::string::npos);
  ASSERT_EQ(mkfifo(store.path().c_str(), 0600), 0);
  EXPECT_NE(warningFor().find("(not a regular file)"), std::string::npos);
  { std::ofstream(store.path()) << "{}"; }
  fs::resize_file(store.path(), (64u << 20) + 1);  // sparse: costs no disk
  EXPECT_NE(warningFor().find("(larger than 64 MiB (67108865 bytes))"), std::string::npos);
}

TEST(StateStore, AWriteNeverGoesThroughALinkPlantedAtItsTemporary) {
  TempDir dir;
  std::string victim = dir.write("victim", "precious\n");
  fs::create_directories(dir.file("state"));
  fs::create_symlink(victim, dir.file("state/state.json.tmp"));
  recovery::StateStore store(dir.file("state"));
  ASSERT_EQ(store.save(sample()), "");
  std::ifstream in(victim);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in)), {}), "precious\n");
  std::string warning;
  EXPECT_EQ(store.load(warning).services.size(), 1u) << warning;
  for (const auto& e : fs::directory_iterator(dir.file("state")))
    EXPECT_TRUE(e.path().filename() == "state.json" || e.path().filename() == "state.json.tmp") << "a temporary was left: " << e.path();
}

TEST(StateStore, ACorruptFileIsMovedAsideAndMedicStartsFresh) {
  TempDir dir;
  dir.write("state/state.json", "{\"version\": 1, \"services\": {\"web\": tru");
  recovery::StateStore store(dir.file("state"));
  std::string warning;
  recovery::SavedState loaded = store.load(warning);
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
