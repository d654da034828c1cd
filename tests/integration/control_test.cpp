// The control interface end to end on a private D-Bus daemon: the real `medic run` owns
// org.medic.Agent1, the real CLI talks to it, and the bus applies the policy file medic
// ships. (Recovery steps need systemd: tests/system/cases/operator_control.sh.)
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "harness.h"
#include "strategies/registry.h"

using namespace medic::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

const std::string kPolicy = std::string(MEDIC_SOURCE_DIR) + "/systemd/org.medic.Agent1.conf";
const std::string kSchema = std::string(MEDIC_SOURCE_DIR) + "/docs/status.schema.json";
const std::string kValidate = std::string(MEDIC_SOURCE_DIR) + "/tests/support/validate_json.py";

class Control : public ::testing::Test {
 protected:
  TempDir dir;
  std::string state = dir.write("plugin-state", "0");
  std::unique_ptr<PrivateBus> bus;
  std::unique_ptr<Subprocess> agent;

  // A bus like the system bus: anyone may connect; medic's policy file decides who may
  // call it. `withPolicy = false` leaves every call to medic's own checks.
  void startBus(bool withPolicy = true) {
    bus = std::make_unique<PrivateBus>(dir, withPolicy ? "<include>" + kPolicy + "</include>" : "");
    setenv("DBUS_SYSTEM_BUS_ADDRESS", bus->address().c_str(), 1);
  }

  // web: an exec check whose exit code is the file `state`; its restart can only fail here
  // (no systemd on this bus). db: always healthy.
  void startMedic(const std::string& moreServices = "") {
    std::string plugin = dir.write("plugin.sh", "#!/bin/sh\ns=$(cat " + state + ")\necho \"plugin says $s\"\nexit $s\n", 0755);
    std::string config = dir.write(
        "medic.yaml", "agent: {state_dir: " + dir.file("state") + "}\nservices:\n"
                      "  web:\n    unit: web.service\n    failure_threshold: 2\n    checks:\n"
                      "      - {name: plugin, type: exec, user: root, interval: 300ms, timeout: 250ms, command: [" + plugin + "]}\n"
                      "    recovery:\n      cooldown: 1h\n      ladder:\n        - step: restart\n          attempts: 1\n"
                      "  db:\n    unit: db.service\n    checks:\n"
                      "      - {name: root, type: disk, path: /, used_warn: 100, used_crit: 100, initial_delay: 10ms}\n" +
                      moreServices);
    agent = std::make_unique<Subprocess>(std::vector<std::string>{MEDIC_BINARY, "run", "-c", config}, true);
    // Until each check has answered once, a service's health is unknown: wait for web's and db's.
    std::set<std::string> pending = {"web/plugin: first result", "db/root: first result"};
    auto seen = [&](const std::vector<std::string>& lines) {
      for (const auto& line : lines)
        for (auto it = pending.begin(); it != pending.end();) it = line.find(*it) != std::string::npos ? pending.erase(it) : std::next(it);
    };
    seen(agent->readUntil("medic running", 10s));
    while (!pending.empty()) seen(agent->readUntil(": first result", 10s));
  }

  // `medic status --json` output against docs/status.schema.json.
  bool matchesSchema(const std::string& text) {
    std::string file = dir.write("status.json", text);
    auto out = capture(kValidate + " " + kSchema + " < " + file);
    if (out.code != 0) ADD_FAILURE() << out.text;
    return out.code == 0;
  }
  void set(int code) { dir.write("plugin-state", std::to_string(code)); }
  CommandOutput medic(const std::string& args) { return capture(std::string(MEDIC_BINARY) + " " + args); }
  // `medic ARGS` exits with `code` and says `text` (one line).
  void expectAnswer(const std::string& args, int code, const std::string& text) {
    auto out = medic(args);
    EXPECT_EQ(out.code, code) << args << ": " << out.text;
    EXPECT_EQ(out.text, text + "\n") << args;
  }
  json statusOf(const std::string& args) {
    auto out = capture(std::string(MEDIC_BINARY) + " status --json " + args + " 2>/dev/null");
    return json::parse(out.text);
  }
  void TearDown() override {
    agent.reset();
    bus.reset();
    unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
  }
};

TEST_F(Control, WithMedicNotRunningTheCliSaysSoInOneLineAndExitsThree) {
  startBus();
  for (const char* command : {"status", "status web", "pause web", "resume web", "reset web", "recover web"}) {
    auto out = medic(command);
    EXPECT_EQ(out.code, 3) << command;
    EXPECT_NE(out.text.find("medic is not running"), std::string::npos) << command << ": " << out.text;
    EXPECT_EQ(std::count(out.text.begin(), out.text.end(), '\n'), std::string(command).rfind("recover", 0) == 0 ? 2 : 1)
        << command << ": one line (recover says first what it asks): " << out.text;
  }
}

TEST_F(Control, WithoutABusTheCliSaysSoAndExitsThree) {
  setenv("DBUS_SYSTEM_BUS_ADDRESS", ("unix:path=" + dir.file("no-bus-here")).c_str(), 1);
  auto out = medic("status");
  EXPECT_EQ(out.code, 3);
  EXPECT_NE(out.text.find("medic: cannot reach the system bus"), std::string::npos) << out.text;
}

TEST_F(Control, StatusShowsEveryServiceAndOneInDetailInTheDocumentedShape) {
  startBus();
  startMedic();
  set(2);  // web fails; its restart is refused (no systemd here): a round fails, cooldown
  agent->readUntil("round 1 of 3 did not heal it", 10s);
  auto overview = medic("status --json");
  EXPECT_EQ(overview.code, 2) << "unhealthy";
  EXPECT_TRUE(matchesSchema(overview.text)) << overview.text;
  json all = json::parse(overview.text);
  EXPECT_EQ(all["health"], "unhealthy");
  EXPECT_EQ(all["summary"]["services"], 2);
  EXPECT_EQ(all["summary"]["healthy"], 1);
  EXPECT_EQ(all["summary"]["unhealthy"], 1);
  json web = all["services"][1]["name"] == "web" ? all["services"][1] : all["services"][0];
  EXPECT_EQ(web["phase"], "cooldown");
  ASSERT_EQ(web["failing_checks"].size(), 1u);
  EXPECT_EQ(web["failing_checks"][0]["message"], "plugin says 2");

  auto detail = medic("status web --json");
  EXPECT_TRUE(matchesSchema(detail.text)) << detail.text;
  json one = json::parse(detail.text)["service"];
  ASSERT_EQ(one["history"].size(), 1u);
  EXPECT_EQ(one["history"][0]["step"], "restart");
  EXPECT_EQ(one["history"][0]["result"].get<std::string>().rfind("failed: ", 0), 0u) << one["history"][0];
  EXPECT_EQ(one["checks"][0]["status"], "unhealthy");
  EXPECT_EQ(one["figures"]["recoveries"], 1);

  auto text = medic("status");
  EXPECT_NE(text.text.find("unhealthy — 2 services: 1 healthy, 0 degraded, 1 unhealthy"), std::string::npos) << text.text;
  EXPECT_NE(text.text.find("web      cooldown"), std::string::npos) << text.text;
}

TEST_F(Control, APausedServiceIsWatchedButNotRecoveredUntilResumed) {
  startBus();
  startMedic();
  auto paused = medic("pause web --reason 'disk swap'");
  ASSERT_EQ(paused.code, 0) << paused.text;
  set(2);
  agent->readUntil("not recovering: paused (disk swap, by root (uid 0", 10s);
  json web = statusOf("web")["service"];
  EXPECT_EQ(web["history"].size(), 0u) << "no step ran";
  EXPECT_EQ(web["paused"]["reason"], "disk swap") << "the operator's words as given";
  EXPECT_EQ(web["paused"]["by"].get<std::string>().rfind("root (uid 0, pid ", 0), 0u) << web["paused"];
  EXPECT_EQ(web["paused"]["until"], nullptr);
  EXPECT_EQ(web["paused"]["by_uid"], 0);
  auto resumed = medic("resume web");
  EXPECT_EQ(resumed.code, 0);
  EXPECT_EQ(resumed.text, "resumed web: it is still failing, so its recovery has started\n");
  agent->readUntil("web: recovery started: check 'plugin' is still failing", 10s);
  EXPECT_EQ(statusOf("web")["service"]["history"].size(), 1u);
}

TEST_F(Control, APauseOutlivesARestartOfMedic) {
  startBus();
  startMedic();
  ASSERT_EQ(medic("pause web --for 30m --reason deploy").code, 0);
  json before = statusOf("web")["service"]["paused"];
  ASSERT_NE(before["until"], nullptr);
  EXPECT_EQ(agent->stop(SIGTERM, 10s), 0) << agent->rest();
  // medic stays down for a while: the pause must still end when it was asked to.
  auto down = std::chrono::system_clock::now();
  ASSERT_TRUE(eventually([&] { return std::chrono::system_clock::now() - down >= 1500ms; }));
  startMedic();
  json after = statusOf("web")["service"]["paused"];
  EXPECT_EQ(after["reason"], before["reason"]);
  EXPECT_EQ(after["until"].get<std::string>().substr(0, 19), before["until"].get<std::string>().substr(0, 19))
      << "the same end (to the second), however long medic was down";
  EXPECT_EQ(medic("resume web").code, 0);
  EXPECT_EQ(statusOf("web")["service"]["paused"], nullptr);
}

TEST_F(Control, ResetClearsACooldown) {
  startBus();
  startMedic();
  set(2);
  agent->readUntil("round 1 of 3 did not heal it", 10s);
  set(0);  // fixed by hand meanwhile; the cooldown would hold the next round for an hour
  auto out = medic("reset web");
  EXPECT_EQ(out.code, 0) << out.text;
  agent->readUntil("recovery state reset by root (uid 0", 10s);
  json web = statusOf("web")["service"];
  EXPECT_EQ(web["phase"], "healthy");
  EXPECT_EQ(web["recovery"], nullptr);
}

TEST_F(Control, MistakesAreRefusedWithTheReason) {
  startBus();
  startMedic();
  expectAnswer("pause nope", 1, "no service 'nope' in medic's configuration (it has: db, web)");
  expectAnswer("resume web", 1, "web is not paused");
  auto noStep = medic("recover web --step restore");
  EXPECT_EQ(noStep.code, 1);
  EXPECT_NE(noStep.text.find("web has no restore step in its recovery ladder (it has: restart)"), std::string::npos);
  EXPECT_EQ(medic("pause web --for soon").code, 64) << "not a duration: a usage error, not a health";
  // Asked for the health of a service medic does not have: it cannot tell (3), not "degraded".
  expectAnswer("status nope", 3, "no service 'nope' in medic's configuration (it has: db, web)");
  // Usage errors are 64 (EX_USAGE), whatever CLI11's own code for the kind of error.
  for (const char* usage : {"frobnicate", "pause", "recover web --step frobnicate", "status --frobnicate"}) {
    auto out = medic(usage);
    EXPECT_EQ(out.code, 64) << usage << ": " << out.text;
    EXPECT_FALSE(out.text.empty()) << usage << ": says what is wrong";
  }
  EXPECT_EQ(medic("--help").code, 0);
  // A pause longer than medic can keep is refused where it is asked, by the CLI and by the
  // control interface itself (busctl, a script), and changes nothing.
  auto tooLong = medic("pause web --for 876000h");
  EXPECT_EQ(tooLong.code, 64) << tooLong.text;
  EXPECT_NE(tooLong.text.find("longer than 3650d"), std::string::npos) << tooLong.text;
  auto busctl = capture("busctl --address=" + bus->address() +
                        " call org.medic.Agent1 /org/medic/Agent1 org.medic.Agent1 Pause sts web 3153600000 century");
  EXPECT_NE(busctl.code, 0);
  EXPECT_NE(busctl.text.find("a pause may last at most 3650d (315360000 s), not 3153600000 s"), std::string::npos) << busctl.text;
  EXPECT_EQ(statusOf("web")["service"]["paused"], nullptr) << "refused: nothing changed";
  ASSERT_EQ(medic("pause web --for 3650d").code, 0) << "the longest pause medic keeps is accepted";
}

// `medic status SERVICE` prints what checks measured as `medic check` does ("11.5 GiB",
// "42.1%"), never a raw float ("1.23457e+10B").
TEST_F(Control, StatusOfOneServicePrintsValuesAsPeopleReadThem) {
  startBus();
  startMedic();
  auto out = medic("status db");
  EXPECT_EQ(out.code, 0) << out.text;
  std::smatch values;
  ASSERT_TRUE(std::regex_search(out.text, values, std::regex("\n  root: ([^\n]*)"))) << out.text;
  EXPECT_TRUE(std::regex_search(values[1].str(), std::regex("free [0-9.]+ (KiB|MiB|GiB|TiB)"))) << values[1];
  EXPECT_TRUE(std::regex_search(values[1].str(), std::regex("used [0-9]+\\.[0-9]%"))) << values[1];
  EXPECT_FALSE(std::regex_search(values[1].str(), std::regex("[0-9]e[+-][0-9]"))) << "a raw float: " << values[1];
}

// An empty configuration says where services go, not only "0 services".
TEST_F(Control, WithNoServicesStatusSaysWhereTheyGo) {
  startBus();
  std::string config = dir.write("medic.yaml", "agent: {state_dir: " + dir.file("state") + "}\nservices: {}\n");
  agent = std::make_unique<Subprocess>(std::vector<std::string>{MEDIC_BINARY, "run", "-c", config}, true);
  agent->readUntil("medic running", 10s);
  auto out = medic("status");
  EXPECT_EQ(out.code, 0) << out.text;
  EXPECT_NE(out.text.find("no services are configured: add them under `services:` in /etc/medic/medic.yaml or in a file of its checks.d/"),
            std::string::npos) << out.text;
}

// Every step in the registry is one `medic recover --step` accepts and hands to medic (which
// then says whether this service's ladder has it): no hand-kept list refuses one first.
TEST_F(Control, RecoverAcceptsEveryRegisteredStep) {
  startBus();
  startMedic();
  for (const auto& type : medic::strategies::stepTypes()) {
    std::string name(type.name);
    if (name == "restart") continue;  // web's own step: it would run
    auto out = medic("recover web --step " + name);
    EXPECT_EQ(out.code, 1) << name << ": " << out.text;
    EXPECT_NE(out.text.find("web has no " + name + " step in its recovery ladder (it has: restart)"), std::string::npos)
        << name << ": " << out.text;
  }
}

// A service none of whose checks has answered yet is not healthy: its health is unknown,
// counted apart, and `medic status` exits 3 (cannot tell) for it, as Nagios does.
TEST_F(Control, AServiceNotCheckedYetIsUnknownNotHealthy) {
  startBus();
  startMedic("  late:\n    unit: late.service\n    checks:\n"
             "      - {name: root, type: disk, path: /, used_warn: 100, used_crit: 100, initial_delay: 120s}\n");
  auto overview = medic("status --json");
  EXPECT_TRUE(matchesSchema(overview.text)) << overview.text;
  json all = json::parse(overview.text);
  json late;
  for (const auto& s : all["services"])
    if (s["name"] == "late") late = s;
  EXPECT_EQ(late["health"], "unknown") << late;
  EXPECT_EQ(all["summary"]["unknown"], 1) << all["summary"];
  EXPECT_EQ(all["summary"]["healthy"], 2) << all["summary"];
  EXPECT_EQ(all["health"], "unknown");
  EXPECT_EQ(overview.code, 3);
  auto one = medic("status late");
  EXPECT_EQ(one.code, 3) << one.text;
  EXPECT_NE(one.text.find("late (late.service): unknown"), std::string::npos) << one.text;
  auto text = medic("status");
  EXPECT_NE(text.text.find("unknown — 3 services: 2 healthy, 0 degraded, 0 unhealthy, 1 unknown (not checked yet)"),
            std::string::npos) << text.text;
  EXPECT_EQ(medic("status web").code, 0) << "a service that has answered is told as it is";
}

TEST_F(Control, OnlyRootMayChangeAnythingEvenWhereTheBusWouldLetAnyoneCall) {
  startBus(/*withPolicy=*/false);
  startMedic();
  const std::string asNobody = "setpriv --reuid=nobody --regid=nogroup --clear-groups ";
  auto status = capture(asNobody + MEDIC_BINARY + " status");
  EXPECT_NE(status.code, 3) << status.text;
  for (const char* command : {"pause web", "resume web", "reset web", "recover web"}) {
    auto out = capture(asNobody + MEDIC_BINARY + " " + command);
    EXPECT_EQ(out.code, 4) << command << ": " << out.text;
    EXPECT_EQ(out.text, "permission denied: only root may change what medic does (sudo medic ...)\n") << "one sentence";
  }
  agent->readUntil("control: refused pause a service's recovery to nobody (uid 65534", 10s);
  EXPECT_EQ(statusOf("web")["service"]["paused"], nullptr);
}

TEST_F(Control, TheShippedBusPolicyKeepsOthersOutEntirely) {
  startBus(/*withPolicy=*/true);
  startMedic();
  auto out = capture("setpriv --reuid=nobody --regid=nogroup --clear-groups " + std::string(MEDIC_BINARY) + " status");
  EXPECT_EQ(out.code, 4) << "denied: never read as a health: " << out.text;
  EXPECT_EQ(out.text, "permission denied: only root and members of group medic may read medic's status "
                      "(sudo medic status, or: usermod -aG medic $USER)\n") << "one sentence, no D-Bus internals";
  auto recover = capture("setpriv --reuid=nobody --regid=nogroup --clear-groups " + std::string(MEDIC_BINARY) + " recover web");
  EXPECT_EQ(recover.code, 4);
  EXPECT_EQ(recover.text, "permission denied: only root may change what medic does (sudo medic ...)\n")
      << "refused without first promising to wait";
}

// Heartbeats through the shipped bus policy: anyone may send one, medic decides per check.
class Heartbeats : public Control {
 protected:
  void SetUp() override {
    startBus(/*withPolicy=*/true);
    startMedic("  worker:\n    unit: worker.service\n    recovery: {enabled: false}\n    checks:\n"
               "      - {name: beat, type: heartbeat, ttl: 3s, interval: 200ms}\n"
               "      - {name: cron, type: heartbeat, ttl: 1h, users: [nobody]}\n");
  }
  json check(const std::string& name) {
    json status = statusOf("worker");  // (iterating a part of a temporary would outlive it)
    for (const auto& c : status["service"]["checks"])
      if (c["name"] == name) return c;
    return json();
  }
  bool checkIs(const std::string& name, const std::string& status, const std::string& messagePart = "") {
    json c = check(name);
    return c.is_object() && c["status"] == status && c["message"].get<std::string>().find(messagePart) != std::string::npos;
  }
  const std::string asNobody = "setpriv --reuid=nobody --regid=nogroup --clear-groups ";
  const std::string asDaemon = "setpriv --reuid=daemon --regid=daemon --clear-groups ";
};

TEST_F(Heartbeats, AnAllowedUserPushesAndEveryoneElseIsRefusedWithWhoMay) {
  EXPECT_TRUE(checkIs("cron", "unknown")) << check("cron");
  auto pushed = capture(asNobody + MEDIC_BINARY + " heartbeat worker/cron --message 'backup done'");
  EXPECT_EQ(pushed.code, 0) << pushed.text;
  EXPECT_EQ(pushed.text, "heartbeat worker/cron recorded: ok\n");
  EXPECT_TRUE(eventually([&] { return checkIs("cron", "healthy", ": backup done"); })) << check("cron");

  auto other = capture(asDaemon + MEDIC_BINARY + " heartbeat worker/cron --status critical");
  EXPECT_EQ(other.code, 4) << other.text;
  EXPECT_EQ(other.text, "permission denied: only root and the user nobody may push heartbeat worker/cron\n");
  agent->readUntil("control: refused heartbeat worker/cron from daemon (uid 1", 10s);
  EXPECT_TRUE(checkIs("cron", "healthy")) << "a refused heartbeat changes nothing";

  // A stranger guessing names learns nothing of what medic watches (root is told more).
  for (const char* guess : {"web/plugin", "nope/x", "worker/nosuch"}) {
    auto out = capture(asNobody + MEDIC_BINARY + " heartbeat " + guess);
    EXPECT_EQ(out.code, 1) << guess;
    EXPECT_EQ(out.text, "no heartbeat check '" + std::string(guess) + "' in medic's configuration\n") << "no list of services";
  }

  // Without users:, only the processes of the service's own unit (and root) may push.
  auto outsider = capture(asNobody + MEDIC_BINARY + " heartbeat worker/beat");
  EXPECT_EQ(outsider.code, 4);
  EXPECT_EQ(outsider.text, "permission denied: only root and the processes of worker.service may push heartbeat worker/beat\n");
}

TEST_F(Heartbeats, ACriticalHeartbeatCountsAtOnceAndAStaleOneFailsAfterItsTtl) {
  // ttl 3s: unknown first, unhealthy once 3 s have passed with nothing (3 s, not 1: a loaded
  // machine can take a second between a heartbeat and the status that reads it).
  EXPECT_TRUE(eventually([&] { return checkIs("beat", "unhealthy", "no heartbeat in the"); })) << check("beat");
  ASSERT_EQ(medic("heartbeat worker/beat -q").code, 0);
  EXPECT_TRUE(eventually([&] { return checkIs("beat", "healthy", "heartbeat"); })) << check("beat");
  ASSERT_EQ(medic("heartbeat worker/beat --status critical --message 'queue stuck' -q").code, 0);
  EXPECT_TRUE(checkIs("beat", "unhealthy", "queue stuck")) << "at once, not at the next run: " << check("beat");
  ASSERT_EQ(medic("heartbeat worker/beat -q").code, 0);
  EXPECT_TRUE(checkIs("beat", "healthy")) << check("beat");
  EXPECT_TRUE(eventually([&] { return checkIs("beat", "unhealthy", "no heartbeat for"); })) << "stale after ttl: " << check("beat");
}

TEST_F(Heartbeats, MistakesAreRefusedWithTheReason) {
  expectAnswer("heartbeat worker/nosuch", 1, "service 'worker' has no check 'nosuch'");
  expectAnswer("heartbeat web/plugin", 1, "check 'plugin' of web is not a heartbeat (type: exec)");
  EXPECT_EQ(medic("heartbeat worker").code, 64);
  auto badStatus = medic("heartbeat worker/beat --status fine");
  EXPECT_NE(badStatus.code, 0);
  EXPECT_NE(badStatus.text.find("--status: fine not in {ok,warning,critical}"), std::string::npos) << badStatus.text;
}

TEST_F(Control, PausesAndCooldownsEndOnTimeAcrossSeveralRestartsOfMedic) {
  startBus();
  // web fails at once and its restart cannot work here: a cooldown of an hour. db will be
  // paused, noise only makes medic write its state. After their first results all three are
  // quiet (hourly checks), so nothing but a write refreshes what is saved of them.
  std::string plugin = dir.write("plugin.sh", "#!/bin/sh\necho down\nexit 2\n", 0755);
  std::string config = dir.write(
      "medic.yaml", "agent: {state_dir: " + dir.file("state") + "}\nservices:\n"
                    "  web:\n    unit: web.service\n    failure_threshold: 1\n    checks:\n"
                    "      - {name: plugin, type: exec, user: root, interval: 1h, initial_delay: 0s, timeout: 5s, command: [" + plugin + "]}\n"
                    "    recovery:\n      cooldown: 1h\n      ladder:\n        - {step: restart, attempts: 1}\n"
                    "  db:\n    unit: db.service\n    checks:\n      - {name: root, type: disk, path: /, interval: 1h, initial_delay: 0s}\n"
                    "  noise:\n    unit: noise.service\n    checks:\n      - {name: root, type: disk, path: /, interval: 1h, initial_delay: 0s}\n");
  auto start = [&] {
    agent = std::make_unique<Subprocess>(std::vector<std::string>{MEDIC_BINARY, "run", "-c", config}, true);
    agent->readUntil("medic running", 10s);
  };
  // When each ends, in wall-clock ms, as the saved file says: written at saved_at_ms, with
  // so long left.
  auto ends = [&] {
    std::ifstream in(dir.file("state/state.json"));
    json st = json::parse(in);
    if (st["services"]["db"]["machine"]["pause_left_ms"].is_null()) st["services"]["db"]["machine"]["pause_left_ms"] = 0;
    int64_t at = st["saved_at_ms"].get<int64_t>();
    return std::pair<int64_t, int64_t>{at + st["services"]["web"]["machine"]["cooldown_left_ms"].get<int64_t>(),
                                       at + st["services"]["db"]["machine"].value("pause_left_ms", json(0)).get<int64_t>()};
  };
  auto let = [](std::chrono::milliseconds time) {  // time passing is the point here
    auto from = std::chrono::steady_clock::now();
    ASSERT_TRUE(eventually([&] { return std::chrono::steady_clock::now() - from >= time; }, time + 10s));
  };
  auto savedPhase = [&] {
    std::ifstream in(dir.file("state/state.json"));
    return in ? json::parse(in)["services"]["web"]["machine"]["phase"].get<std::string>() : "";
  };
  // "2026-12-03T10:10:00.360Z" -> ms since the epoch
  auto ms = [](const std::string& iso) {
    std::tm tm{};
    strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    return int64_t(timegm(&tm)) * 1000 + std::stoi(iso.substr(20, 3));
  };
  start();
  ASSERT_TRUE(eventually([&] { return savedPhase() == "cooldown"; })) << "web's round did not fail";
  auto [cooldownEnd, ignored] = ends();
  ASSERT_EQ(medic("pause db --for 30m").code, 0);
  auto [sameCooldown, pauseEnd] = ends();
  EXPECT_NEAR(sameCooldown, cooldownEnd, 500);
  int64_t pausedUntil = ms(statusOf("db")["service"]["paused"]["until"]);
  for (int restart = 1; restart <= 3; ++restart) {
    let(1500ms);  // quiet services' own snapshots grow stale meanwhile
    ASSERT_EQ(medic(restart % 2 ? "pause noise" : "resume noise").code, 0) << "a write";
    auto [cooldown, pause] = ends();
    EXPECT_NEAR(cooldown, cooldownEnd, 500) << "before restart " << restart << ": the cooldown moved";
    EXPECT_NEAR(pause, pauseEnd, 500) << "before restart " << restart << ": the pause moved";
    EXPECT_EQ(agent->stop(SIGTERM, 10s), 0) << agent->rest();
    let(1000ms);  // medic down
    start();
    EXPECT_NEAR(ms(statusOf("db")["service"]["paused"]["until"]), pausedUntil, 500) << "after restart " << restart;
  }
  let(1500ms);
  ASSERT_EQ(medic("pause noise").code, 0);
  auto [cooldown, pause] = ends();
  EXPECT_NEAR(cooldown, cooldownEnd, 500) << "after three restarts, the cooldown still ends when it would have";
  EXPECT_NEAR(pause, pauseEnd, 500) << "after three restarts, the pause still ends when asked";
}

}  // namespace
