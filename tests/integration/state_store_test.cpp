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

// Loads `text` as state.json; returns the warning (empty when it loaded).
std::string loadWarning(const std::string& text) {
  TempDir dir;
  dir.write("state/state.json", text);
  recovery::StateStore store(dir.file("state"));
  std::string warning;
  recovery::SavedState loaded = store.load(warning);
  if (!warning.empty()) {
    EXPECT_TRUE(loaded.services.empty());
  }
  return warning;
}

TEST(StateStore, NumbersNoMedicCouldHaveWrittenMakeTheFileCorrupt) {
  std::string good = toJson(sample());
  ASSERT_EQ(loadWarning(good), "");
  auto with = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  };
  // Each would overflow a duration, wrap a counter, or be clamped into nonsense.
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"\"cooldown_left_ms\":90000", "\"cooldown_left_ms\":9223372036854775807"},
           {"\"cooldown_left_ms\":90000", "\"cooldown_left_ms\":-5"},
           {"\"cooldown_left_ms\":90000", "\"cooldown_left_ms\":1e300"},
           {"\"recovery_ages_ms\":[600000", "\"recovery_ages_ms\":[-9223372036854775807"},
           {"\"attempt\":1,\"cause", "\"attempt\":2147483648,\"cause"},
           {"\"round\":2,\"since", "\"round\":-2147483648,\"since"},
           {"\"started_ms\":1700000000000", "\"started_ms\":-1"},
           {"\"saved_at_ms\":0", "\"saved_at_ms\":18446744073709551615"},
           {"\"recovery_seconds\":[1.5", "\"recovery_seconds\":[-1.5"}}) {
    std::string warning = loadWarning(with(from, to));
    EXPECT_NE(warning.find("starting with no saved state"), std::string::npos) << to << ": " << warning;
  }
  EXPECT_NE(loadWarning(with("\"cooldown_left_ms\":90000", "\"cooldown_left_ms\":9223372036854775807")).find(
                "'cooldown_left_ms' is 9223372036854775807, not a whole number from 0 to 315360000000"),
            std::string::npos);
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
