// The control interface's verbs and `medic drill`, on a supervisor driven by hand: what an
// operator is answered, what the supervisor remembers of who asked, and what systemd is
// asked to do.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agent/operator.h"
#include "supervised.h"

using namespace medic;
using namespace std::chrono_literals;
using checks::Status;
using recovery::Phase;
using testing::ElementsAre;

namespace {

const control::Caller kRoot{0, 123, std::nullopt};

struct Operated : test::Supervised {
  std::unique_ptr<agent::Operator> op;
  Operated() {
    listener = {[this](const std::string& s, const recovery::Decision& d) { if (op) op->recorded(s, d); },
                [this](const std::string& s) { if (op) op->healthNews(s); },
                [this](const std::string& s, bool) { if (op) op->settled(s); }};
    start();
    op = std::make_unique<agent::Operator>(*sup, clock, systemd, host.heartbeats);
  }
  const recovery::ServiceState& saved(const std::string& name) { return sup->saved().services.at(name); }
};

// The refusal an operator reads: the D-Bus error's name and its words.
template <typename F>
std::pair<std::string, std::string> refusal(F&& call) {
  try {
    call();
  } catch (const control::ControlError& e) {
    return {e.name, e.what()};
  }
  return {"", "(not refused)"};
}

}  // namespace

TEST(Operator, APauseHoldsRecoveryRemembersWhoAskedAndAResumeLetsItRun) {
  Operated f;
  EXPECT_EQ(f.op->pause("web", Duration::zero(), "maintenance", kRoot), "paused web until `medic resume web`: checks go on, no recovery starts");
  EXPECT_EQ(f.saved("web").pausedBy, kRoot.describe());
  EXPECT_EQ(f.saved("web").pausedByUid, 0);
  EXPECT_EQ(f.saved("web").pauseReason, "maintenance");
  f.fail("web", 3);
  EXPECT_TRUE(f.systemd.jobs.empty()) << "paused: no recovery starts";
  EXPECT_EQ(f.op->resume("web", kRoot), "resumed web: it is still failing, so its recovery has started");
  EXPECT_EQ(f.saved("web").pausedBy, "");
  EXPECT_EQ(f.saved("web").pausedByUid, -1);
  f.clock.advance();
  EXPECT_THAT(f.systemd.jobs, ElementsAre("restart web.service"));
  EXPECT_EQ(refusal([&] { f.op->resume("web", kRoot); }), std::make_pair(std::string(control::kErrorRefused), std::string("web is not paused")));
  EXPECT_EQ(refusal([&] { f.op->pause("db", 1min, "", kRoot); }),
            std::make_pair(std::string(control::kErrorNoSuchService), std::string("no service 'db' in medic's configuration (it has: web)")));
}

TEST(Operator, RecoverRunsTheNamedStepAndAnswersWithItsVerdict) {
  Operated f;
  f.systemd.units["web.service"].canReload = true;
  std::optional<std::pair<bool, std::string>> answer;
  f.op->recover("web", "reload", kRoot, [&](bool healed, const std::string& message) { answer = {healed, message}; });
  f.clock.advance();
  EXPECT_THAT(f.systemd.jobs, ElementsAre("reload web.service"));
  f.report("web", Status::healthy);
  f.clock.advance(10s);
  ASSERT_TRUE(answer) << "answered once the step was verified";
  EXPECT_TRUE(answer->first) << answer->second;
  EXPECT_EQ(refusal([&] { f.op->recover("web", "rollback", kRoot, [](bool, const std::string&) {}); }),
            std::make_pair(std::string(control::kErrorInvalidArgs),
                           std::string("web has no rollback step in its recovery ladder (it has: restart, reload)")));
}

TEST(Drills, ACheckFailedOnPurposeIsHealedByTheLadderAndReportedAsTheHistorySaysIt) {
  Operated f;
  f.report("web", Status::healthy);
  std::optional<nlohmann::json> report;
  bool passed = false;
  f.op->drill("web", "check", Duration::zero(), kRoot, [&](bool ok, const std::string& json) {
    passed = ok;
    report = nlohmann::json::parse(json);
  });
  EXPECT_TRUE(f.saved("web").drill) << "a drill under way is remembered across a restart";
  EXPECT_EQ(refusal([&] { f.op->drill("web", "kill", Duration::zero(), kRoot, [](bool, const std::string&) {}); }).second,
            "no drill of web: a drill of it is already under way");
  // The check answers healthy; the drill makes it count as failing until a step runs.
  f.report("web", Status::healthy);
  f.report("web", Status::healthy);
  EXPECT_THAT(f.systemd.jobs, ElementsAre("restart web.service"));
  f.clock.advance(10s);
  ASSERT_TRUE(report) << "the drill ended";
  EXPECT_TRUE(passed) << report->dump();
  EXPECT_EQ((*report)["fault"], "check=health");
  EXPECT_EQ((*report)["healed"], true);
  ASSERT_EQ((*report)["steps"].size(), 1u);
  EXPECT_EQ((*report)["steps"][0]["step"], "restart");
  EXPECT_EQ((*report)["steps"][0]["result"], f.saved("web").history.back().result);
  EXPECT_NE((*report)["cause"].get<std::string>().find("health"), std::string::npos) << (*report)["cause"];
  EXPECT_FALSE(f.saved("web").drill);
  EXPECT_THAT(f.events, ElementsAre("web recovery-started", "web recovered"));
}

TEST(Drills, ADrillStartsOnlyFromAServiceThatRunsWell) {
  Operated f;
  f.fail("web", 1);
  EXPECT_EQ(refusal([&] { f.op->drill("web", "stop", Duration::zero(), kRoot, [](bool, const std::string&) {}); }),
            std::make_pair(std::string(control::kErrorRefused),
                           std::string("no drill of web: it is not healthy (unhealthy, healthy, unit active): a drill starts from a healthy service")));
  EXPECT_TRUE(f.systemd.jobs.empty()) << "nothing was done to the service";
  EXPECT_EQ(refusal([&] { f.op->drill("web", "check=nosuch", Duration::zero(), kRoot, [](bool, const std::string&) {}); }).first,
            control::kErrorRefused);
}
