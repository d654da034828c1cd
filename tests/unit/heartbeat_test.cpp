// A heartbeat check judged from the board at hand-picked times: unknown until its ttl has
// passed once, then what the latest heartbeat said while it is fresh, unhealthy once stale.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "checks/heartbeat_check.h"
#include "config/loader.h"
#include "temp_dir.h"

using namespace medic;
using namespace std::chrono_literals;
using checks::Status;

namespace {

const TimePoint t0 = TimePoint(std::chrono::hours(1000));

struct Loaded {
  std::optional<config::Config> config;
  const checks::HeartbeatCheck& check(size_t i = 0) const {
    return dynamic_cast<const checks::HeartbeatCheck&>(*config->services.at(0).checks.at(i).check);
  }
};

Loaded load(const std::string& checks) {
  test::TempDir dir;
  auto result = config::loadConfig(dir.write("medic.yaml", "services:\n  worker:\n    unit: worker.service\n    checks:\n" + checks));
  EXPECT_TRUE(result.config) << result.errors.str();
  return {std::move(result.config)};
}

TEST(Heartbeat, UnknownUntilTheTtlHasPassedOnceThenUnhealthy) {
  auto loaded = load("      - {name: beat, type: heartbeat, ttl: 2m}\n");
  const auto& check = loaded.check();
  EXPECT_EQ(check.spec().key, "worker/beat");
  checks::HeartbeatBoard board;
  board.expect({"worker/beat"}, t0);
  auto early = check.judge(board, t0 + 119s);
  EXPECT_EQ(early.status, Status::unknown);
  EXPECT_EQ(early.message, "no heartbeat yet (1m59s of its ttl of 2m passed)");
  auto late = check.judge(board, t0 + 121s);
  EXPECT_EQ(late.status, Status::unhealthy);
  EXPECT_EQ(late.message, "no heartbeat in the 2m1s since medic began to expect one (ttl 2m)");
}

TEST(Heartbeat, SaysWhatTheLatestHeartbeatSaidWhileItIsFresh) {
  auto loaded = load("      - {name: beat, type: heartbeat, ttl: 30s}\n");
  const auto& check = loaded.check();
  checks::HeartbeatBoard board;
  board.expect({"worker/beat"}, t0);
  ASSERT_TRUE(board.record("worker/beat", {t0 + 10s, Status::healthy, "", "root"}));
  EXPECT_EQ(check.judge(board, t0 + 15s).status, Status::healthy);
  EXPECT_EQ(check.judge(board, t0 + 15s).message, "heartbeat 5s ago");
  board.record("worker/beat", {t0 + 20s, Status::degraded, "queue at 80%", "root"});
  EXPECT_EQ(check.judge(board, t0 + 20s).status, Status::degraded);
  EXPECT_EQ(check.judge(board, t0 + 20s).message, "heartbeat just now: queue at 80%");
  board.record("worker/beat", {t0 + 25s, Status::unhealthy, "disk full", "root"});
  EXPECT_EQ(check.judge(board, t0 + 26s).status, Status::unhealthy);
  // Stale: unhealthy whatever it said, and the last words are kept for the operator.
  auto stale = check.judge(board, t0 + 56s);
  EXPECT_EQ(stale.status, Status::unhealthy);
  EXPECT_EQ(stale.message, "no heartbeat for 31s (ttl 30s); the last said critical: disk full");
  EXPECT_EQ(check.judge(board, t0 + 55s).status, Status::unhealthy) << "within ttl, the critical heartbeat stands";
}

TEST(Heartbeat, TheBoardKeepsBeatsAcrossAReloadAndForgetsChecksThatAreGone) {
  checks::HeartbeatBoard board;
  board.expect({"worker/beat", "worker/old"}, t0);
  EXPECT_FALSE(board.record("worker/nosuch", {t0, Status::healthy, "", "root"})) << "only configured heartbeats are kept";
  board.record("worker/beat", {t0 + 1s, Status::healthy, "", "root"});
  board.record("worker/old", {t0 + 1s, Status::healthy, "", "root"});
  board.expect({"worker/beat", "worker/new"}, t0 + 60s);
  ASSERT_TRUE(board.last("worker/beat"));
  EXPECT_EQ(board.last("worker/beat")->at, t0 + 1s);
  EXPECT_EQ(board.expectedSince("worker/beat"), t0) << "a kept check keeps its start";
  EXPECT_FALSE(board.expectedSince("worker/old"));
  EXPECT_EQ(board.expectedSince("worker/new"), t0 + 60s) << "a new check's ttl starts when it is configured";
}

TEST(Heartbeat, WithoutTheAgentItIsUnknown) {
  auto loaded = load("      - {name: beat, type: heartbeat, ttl: 30s}\n");
  checks::HeartbeatBoard nothingExpected;  // as under `medic check`
  auto r = loaded.check().judge(nothingExpected, t0);
  EXPECT_EQ(r.status, Status::unknown);
  EXPECT_EQ(r.message, "heartbeats are received by the running agent: see medic status");
}

TEST(Heartbeat, WhoMayPush) {
  auto loaded = load("      - {name: beat, type: heartbeat, ttl: 30s}\n"
                     "      - {name: cron, type: heartbeat, ttl: 1d, users: [nobody, daemon]}\n");
  const auto& own = loaded.check(0);
  EXPECT_TRUE(own.mayPush(0, std::nullopt)) << "root always";
  EXPECT_TRUE(own.mayPush(1234, std::string("worker.service")));
  EXPECT_FALSE(own.mayPush(1234, std::string("cron.service")));
  EXPECT_FALSE(own.mayPush(1234, std::nullopt));
  EXPECT_EQ(own.whoMayPush(), "root and the processes of worker.service");
  const auto& cron = loaded.check(1);
  EXPECT_TRUE(cron.mayPush(65534, std::nullopt));
  EXPECT_FALSE(cron.mayPush(1234, std::string("worker.service"))) << "users: replaces the unit's processes";
  EXPECT_EQ(cron.whoMayPush(), "root and the users nobody, daemon");
}

TEST(Heartbeat, ConfigErrorsNameTheirPlace) {
  test::TempDir dir;
  auto result = config::loadConfig(dir.write("medic.yaml",
                                             "services:\n  worker:\n    unit: worker.service\n    checks:\n"
                                             "      - {name: a, type: heartbeat}\n"
                                             "      - {name: b, type: heartbeat, ttl: 0s, users: [no-such-user-x]}\n"
                                             "      - {name: c, type: heartbeat, ttl: 1m, users: []}\n"));
  EXPECT_FALSE(result.config);
  std::vector<std::string> errors;
  for (const auto& e : result.errors.all()) errors.push_back(e.str().substr(e.str().find("medic.yaml")));
  EXPECT_THAT(errors, testing::UnorderedElementsAre(
                          "medic.yaml:5:9: service 'worker': check 'a': missing required key 'ttl'",
                          "medic.yaml:6:41: service 'worker': check 'b': 'ttl' must be at least 1s, got 0s",
                          "medic.yaml:6:52: service 'worker': check 'b': unknown user 'no-such-user-x'",
                          "medic.yaml:7:52: service 'worker': check 'c': 'users' must name at least one user (root may always push)"));
}

}  // namespace
