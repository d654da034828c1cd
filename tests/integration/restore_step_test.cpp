// The restore step's file work on a real filesystem.
#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "harness.h"
#include "strategies/restore_step.h"
#include "strategies/rollback_step.h"

using namespace medic;
using namespace medic::test;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

struct Tree {
  TempDir dir;
  strategies::RestoreSettings spec;
  Tree() {
    dir.write("app/conf/app.conf", "valid=no\n");
    dir.write("app/conf/extra.d/local.conf", "operator's file\n");
    dir.write("defaults/app.conf", "valid=yes\n");
    dir.write("app/cache/blob", "cached\n");
    dir.write("app/cache/sub/deeper", "cached\n");
    dir.write("elsewhere/precious", "must survive\n");
    fs::create_symlink(dir.path / "elsewhere", dir.path / "app/cache/escape");
    spec.configDir = dir.file("app/conf");
    spec.defaultsDir = dir.file("defaults");
    spec.dataDirs = {dir.file("app/cache")};
    spec.backupDir = dir.file("backups/app");
    spec.keepBackups = 2;
  }
};

TEST(RestoreStep, BacksUpRestoresDefaultsAndClearsDataWithoutFollowingSymlinks) {
  Tree t;
  strategies::RestoreStep step(t.spec);
  ASSERT_EQ(step.refusal(), std::nullopt);
  std::vector<std::string> log;
  ASSERT_EQ(step.restoreFiles([&](const std::string& l) { log.push_back(l); }), std::nullopt);

  EXPECT_EQ(slurp(t.dir.path / "app/conf/app.conf"), "valid=yes\n");
  EXPECT_FALSE(fs::exists(t.dir.path / "app/conf/extra.d")) << "config_dir holds exactly the defaults";
  EXPECT_TRUE(fs::is_empty(t.dir.path / "app/cache"));
  EXPECT_EQ(slurp(t.dir.path / "elsewhere/precious"), "must survive\n") << "a symlink was followed out of the tree";

  std::vector<fs::path> backups(fs::directory_iterator(t.dir.path / "backups/app"), {});
  ASSERT_EQ(backups.size(), 1u);
  EXPECT_EQ(slurp(backups[0] / "app.conf"), "valid=no\n");
  EXPECT_EQ(slurp(backups[0] / "extra.d/local.conf"), "operator's file\n");
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0], "backed up " + t.spec.configDir + " to " + backups[0].string());
  EXPECT_EQ(log[1], "replaced 3 entries in " + t.spec.configDir + " with the contents of " + t.spec.defaultsDir);
  EXPECT_EQ(log[2], "deleted 4 entries inside " + t.spec.dataDirs[0]);
}

TEST(RestoreStep, KeepsOnlyTheNewestBackups) {
  Tree t;
  strategies::RestoreStep step(t.spec);
  for (int i = 0; i < 4; ++i) {
    t.dir.write("app/conf/app.conf", "valid=no, push " + std::to_string(i) + "\n");  // a new bad config each time
    ASSERT_EQ(step.restoreFiles([](const std::string&) {}), std::nullopt);
  }
  std::vector<fs::path> backups(fs::directory_iterator(t.dir.path / "backups/app"), {});
  EXPECT_EQ(backups.size(), 2u);
}

TEST(RestoreStep, RefusesUnsafePathsBeforeTouchingAnything) {
  Tree t;
  auto spec = t.spec;
  spec.dataDirs = {"/etc"};
  EXPECT_EQ(strategies::RestoreStep(spec).refusal(), "data_dirs /etc: refusing a top-level directory");
  EXPECT_EQ(strategies::RestoreStep(spec).restoreFiles([](const std::string&) {}), "refused: data_dirs /etc: refusing a top-level directory");
  EXPECT_EQ(slurp(t.dir.path / "app/conf/app.conf"), "valid=no\n") << "nothing was touched";

  spec = t.spec;
  fs::create_symlink(t.dir.path / "app", t.dir.path / "link");
  spec.dataDirs = {t.dir.file("link/cache")};  // created after validation, found before acting
  auto why = strategies::RestoreStep(spec).refusal();
  ASSERT_TRUE(why);
  EXPECT_EQ(why->find("goes through a symlink"), why->find(": ") + 2) << *why;

  spec = t.spec;
  spec.defaultsDir = t.dir.file("app/conf/extra.d");
  EXPECT_EQ(strategies::RestoreStep(spec).refusal(), "config_dir and defaults_dir must not contain each other");
  spec = t.spec;
  spec.defaultsDir = t.dir.file("missing");
  EXPECT_EQ(strategies::RestoreStep(spec).refusal(), "defaults_dir " + t.dir.file("missing") + " is not a directory");
}

// The paths are checked when the step runs, not only when it was planned: a directory
// swapped for a symlink after `medic plan` showed the step (an attacker's move, or a deploy
// tool's) is refused, and neither the symlink's target nor anything else is touched.
TEST(RestoreStep, ASymlinkSwappedInAfterThePlanIsRefusedWhenItRuns) {
  for (const char* swapped : {"app/cache", "app/conf"}) {
    Tree t;
    strategies::RestoreStep step(t.spec);
    ASSERT_EQ(step.refusal(), std::nullopt);
    ASSERT_EQ(step.describeFiles().size(), 3u) << "the plan shows the step";
    fs::rename(t.dir.path / swapped, t.dir.path / "moved");
    fs::create_directory_symlink(t.dir.path / "elsewhere", t.dir.path / swapped);
    auto why = step.restoreFiles([](const std::string&) {});
    ASSERT_TRUE(why) << swapped;
    EXPECT_NE(why->find("refused: "), std::string::npos) << *why;
    EXPECT_NE(why->find("goes through a symlink"), std::string::npos) << *why;
    EXPECT_EQ(slurp(t.dir.path / "elsewhere/precious"), "must survive\n") << swapped;
    EXPECT_EQ(std::distance(fs::directory_iterator(t.dir.path / "elsewhere"), fs::directory_iterator()), 1) << swapped;
    EXPECT_FALSE(fs::exists(t.dir.path / "backups")) << "nothing was written either";
  }
}

TEST(RestoreStep, DescribeTellsWhatItWouldDoAndTouchesNothing) {
  Tree t;
  auto lines = strategies::RestoreStep(t.spec).describeFiles();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "back up " + t.spec.configDir + " to " + t.spec.backupDir + "/<timestamp> (keeping the newest 2)");
  EXPECT_EQ(lines[1], "replace the contents of " + t.spec.configDir + " with those of " + t.spec.defaultsDir);
  EXPECT_EQ(lines[2], "delete the 4 entries inside " + t.spec.dataDirs[0]);
  EXPECT_EQ(slurp(t.dir.path / "app/conf/app.conf"), "valid=no\n");
  EXPECT_FALSE(fs::exists(t.dir.path / "backups"));
}

TEST(RestoreStep, RunAgainItNeverRotatesAwayTheOnlyBackupOfTheOperatorsConfig) {
  // A second attempt, or one resumed after medic was killed mid-restore: config_dir already
  // holds the defaults. With keep_backups 1, a backup of them would delete the operator's.
  Tree t;
  t.spec.keepBackups = 1;
  strategies::RestoreStep step(t.spec);
  ASSERT_EQ(step.restoreFiles([](const std::string&) {}), std::nullopt);
  std::vector<std::string> log;
  ASSERT_EQ(step.restoreFiles([&](const std::string& l) { log.push_back(l); }), std::nullopt);
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log[0], t.spec.configDir + " already holds the defaults; no new backup (those in " + t.spec.backupDir + " are kept)");
  std::vector<fs::path> backups(fs::directory_iterator(t.dir.path / "backups/app"), {});
  ASSERT_EQ(backups.size(), 1u);
  EXPECT_EQ(slurp(backups[0] / "app.conf"), "valid=no\n") << "the operator's own config is still backed up";
  EXPECT_EQ(slurp(t.dir.path / "app/conf/app.conf"), "valid=yes\n");
  // Changed again by someone: that is theirs, and is backed up (rotating the older one away).
  t.dir.write("app/conf/app.conf", "valid=maybe\n");
  ASSERT_EQ(step.restoreFiles([](const std::string&) {}), std::nullopt);
  backups.assign(fs::directory_iterator(t.dir.path / "backups/app"), {});
  ASSERT_EQ(backups.size(), 1u);
  EXPECT_EQ(slurp(backups[0] / "app.conf"), "valid=maybe\n");
}

TEST(RestoreStep, ABackupTakenByTheSameRecoveryIsNeverRotatedAway) {
  // Killed while the defaults were half copied: the config dir is neither the operator's nor
  // the defaults. Run again by the same recovery it is backed up, and with keep_backups 1 the
  // first backup (the operator's own config) must not go.
  Tree t;
  t.spec.keepBackups = 1;
  strategies::RestoreStep step(t.spec);
  std::time_t recoveryStart = std::time(nullptr);
  ASSERT_EQ(step.restoreFiles([](const std::string&) {}, recoveryStart), std::nullopt);
  t.dir.write("app/conf/half-copied.conf", "x\n");
  ASSERT_EQ(step.restoreFiles([](const std::string&) {}, recoveryStart), std::nullopt);
  std::vector<fs::path> backups(fs::directory_iterator(t.dir.path / "backups/app"), {});
  std::sort(backups.begin(), backups.end());
  ASSERT_EQ(backups.size(), 2u) << "both of this recovery's backups are kept";
  EXPECT_EQ(slurp(backups[0] / "app.conf"), "valid=no\n") << "the operator's own config";
  // A later recovery (or none named) rotates as keep_backups says.
  t.dir.write("app/conf/app.conf", "valid=later\n");
  ASSERT_EQ(step.restoreFiles([](const std::string&) {}), std::nullopt);
  backups.assign(fs::directory_iterator(t.dir.path / "backups/app"), {});
  ASSERT_EQ(backups.size(), 1u);
  EXPECT_EQ(slurp(backups[0] / "app.conf"), "valid=later\n");
}

}  // namespace

// Known-good snapshots for the rollback step: a copy of the config dir (its symlinks kept as
// symlinks, never followed), not taken twice of the same tree, rotated beyond `keep`; the
// newest is a real directory — a symlink named to sort newest is never taken for one.
TEST(Snapshots, AreCopiesKeptNewestFirstAndNeverASymlink) {
  TempDir dir;
  dir.write("etc/app/app.conf", "version=A\n");
  dir.write("elsewhere/secret", "not config\n");
  fs::create_symlink(dir.path / "elsewhere", dir.path / "etc/app/link");
  strategies::SnapshotPolicy policy{dir.file("etc/app"), dir.file("snapshots/app"), std::chrono::seconds(1), 2};
  std::vector<std::string> log;
  auto logged = [&](const std::string& line) { log.push_back(line); };

  EXPECT_FALSE(strategies::newestSnapshot(policy));
  std::string before = strategies::fingerprint(policy.configDir);
  ASSERT_FALSE(before.empty());
  ASSERT_FALSE(strategies::takeSnapshot(policy, logged));
  auto first = strategies::newestSnapshot(policy);
  ASSERT_TRUE(first);
  EXPECT_EQ(slurp(*first + "/app.conf"), "version=A\n");
  EXPECT_TRUE(fs::is_symlink(*first + "/link")) << "a symlink is copied as one";
  EXPECT_FALSE(fs::exists(fs::path(*first) / "secret"));
  ASSERT_FALSE(strategies::takeSnapshot(policy, logged));
  EXPECT_EQ(log.size(), 1u) << "the same tree is not taken again";
  EXPECT_EQ(strategies::fingerprint(policy.configDir), before) << "reading it changes nothing";

  fs::create_directory_symlink(dir.path / "elsewhere", dir.path / "snapshots/app/29991231T000000Z");
  EXPECT_EQ(strategies::newestSnapshot(policy), first) << "a planted symlink is not a snapshot";

  for (const char* version : {"B", "C"}) {
    dir.write("etc/app/app.conf", std::string("version=") + version + "\n");
    EXPECT_NE(strategies::fingerprint(policy.configDir), before);
    // (names are seconds: a second snapshot within the same second gets a suffix)
    ASSERT_FALSE(strategies::takeSnapshot(policy, logged));
  }
  EXPECT_EQ(slurp(*strategies::newestSnapshot(policy) + "/app.conf"), "version=C\n");
  size_t real = 0;
  for (const auto& e : fs::directory_iterator(dir.path / "snapshots/app")) real += e.symlink_status().type() == fs::file_type::directory;
  EXPECT_EQ(real, 2u) << "keep: 2";
  EXPECT_FALSE(fs::exists(*first)) << "the oldest rotated away";
  EXPECT_EQ(slurp(dir.path / "elsewhere/secret"), "not config\n") << "rotation never followed the planted symlink";
  EXPECT_TRUE(fs::is_symlink(dir.path / "snapshots/app/29991231T000000Z"));
}
