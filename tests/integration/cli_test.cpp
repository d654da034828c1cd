// The medic binary as an operator runs it: validate, check and run.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "harness.h"

using namespace medic::test;
using namespace std::chrono_literals;

namespace {

// Runs medic with `args` to completion, stdout and stderr together.
CommandOutput medic(const std::string& args) { return capture(std::string(MEDIC_BINARY) + " " + args); }

// A plugin whose exit code is whatever the file `state` holds.
struct Switchable {
  TempDir dir;
  std::string state = dir.write("state", "0");
  std::string plugin = dir.write("plugin.sh", "#!/bin/sh\ns=$(cat " + state + ")\necho \"state is $s\"\nexit $s\n", 0755);
  std::string config(const std::string& interval = "10s", const std::string& timeout = "2s") {
    return dir.write("medic.yaml", "agent: {state_dir: " + dir.file("state") + "}\n"
                                   "services:\n  app:\n    unit: app.service\n    checks:\n"
                                   "      - {name: plugin, type: exec, user: root, interval: " + interval +
                                   ", timeout: " + timeout + ", command: [" + plugin + "]}\n" +
                                   "  other:\n    unit: other.service\n    checks:\n"
                                   "      - {name: root, type: disk, path: /, used_warn: 100, used_crit: 100}\n");
  }
  void set(int code) { dir.write("state", std::to_string(code)); }
};

TEST(CliValidate, SummarisesAValidConfig) {
  Switchable s;
  auto out = medic("validate -c " + s.config());
  EXPECT_EQ(out.code, 0);
  EXPECT_EQ(out.text, s.dir.file("medic.yaml") + ": OK, 2 services, 2 checks in 1 file\n");
}

TEST(CliValidate, ListsEveryErrorAndExitsOne) {
  TempDir dir;
  std::string file = dir.write("medic.yaml", "agent:\n  log_levle: info\nservices:\n  a:\n    unit: a\n");
  auto out = medic("validate -c " + file);
  EXPECT_EQ(out.code, 1);
  EXPECT_EQ(out.text, file + ":2:3: agent: unknown key 'log_levle' (did you mean 'log_level'?)\n" + file +
                          ":5:11: service 'a': invalid unit name 'a': expected a full unit name such as 'nginx.service'\n"
                          "2 errors in " + file + "; nothing was changed\n");
}

TEST(CliCheck, ExitCodeIsTheWorstStatus) {
  Switchable s;
  std::string config = s.config();
  for (int code : {0, 1, 2, 3}) {
    s.set(code);
    auto out = medic("check -c " + config);
    EXPECT_EQ(out.code, code) << out.text;
    EXPECT_NE(out.text.find("state is " + std::to_string(code)), std::string::npos) << out.text;
  }
}

TEST(CliCheck, PrintsATableOrJsonForOneService) {
  Switchable s;
  std::string config = s.config();
  s.set(2);
  auto table = medic("check -c " + config + " --service other");
  EXPECT_EQ(table.code, 0) << "only 'other' ran, and it is healthy: " << table.text;
  EXPECT_EQ(table.text.rfind("SERVICE  CHECK  STATUS", 0), 0u) << table.text;
  EXPECT_NE(table.text.find("other    root   healthy"), std::string::npos) << table.text;
  EXPECT_EQ(table.text.find("plugin"), std::string::npos);

  auto out = medic("check -c " + config + " --json");
  EXPECT_EQ(out.code, 2);
  auto json = nlohmann::json::parse(out.text);
  EXPECT_EQ(json["status"], "unhealthy");
  ASSERT_EQ(json["checks"].size(), 2u);
  EXPECT_EQ(json["checks"][0]["service"], "app");
  EXPECT_EQ(json["checks"][0]["check"], "plugin");
  EXPECT_EQ(json["checks"][0]["type"], "exec");
  EXPECT_EQ(json["checks"][0]["status"], "unhealthy");
  EXPECT_EQ(json["checks"][0]["message"], "state is 2");
  EXPECT_TRUE(json["checks"][0]["duration_ms"].is_number());
  EXPECT_EQ(medic("check -c " + config + " --service nope").text, "no service named 'nope' in " + config + "\n");
}

TEST(CliRun, LogsStatusChangesOnlyAndStopsCleanlyOnSigterm) {
  Switchable s;
  std::string config = s.config("200ms", "150ms");
  Subprocess run({MEDIC_BINARY, "run", "-c", config}, true);
  auto lines = run.readUntil("app/plugin: first result -> healthy: state is 0", 10s);
  s.set(2);
  lines = run.readUntil("app/plugin: healthy -> unhealthy: state is 2", 10s);
  s.set(0);
  lines = run.readUntil("app/plugin: unhealthy -> healthy: state is 0", 10s);
  // ~10 runs happened in between at 200 ms; the ones that changed nothing were not logged.
  for (const auto& l : lines) EXPECT_EQ(l.find("unhealthy -> unhealthy"), std::string::npos) << l;
  EXPECT_EQ(run.stop(SIGTERM, 10s), 0);
}

TEST(CliRun, StopsCleanlyWhileAnExecCheckRunsAndLeavesNoProcessBehind) {
  TempDir dir;
  std::string started = dir.file("started");
  std::string plugin = dir.write("slow.sh", "#!/bin/sh\necho $$ > " + started + ".tmp && mv " + started + ".tmp " + started +
                                                "\nexec sleep 30\n", 0755);
  std::string config = dir.write("medic.yaml", "agent: {state_dir: " + dir.file("state") + "}\nservices:\n  app:\n"
                                               "    unit: app.service\n    checks:\n"
                                               "      - {name: slow, type: exec, user: root, interval: 60s, timeout: 50s, "
                                               "initial_delay: 0s, command: [" + plugin + "]}\n");
  Subprocess run({MEDIC_BINARY, "run", "-c", config}, true);
  run.readUntil("medic running", 10s);
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(started); })) << "the check did not start";
  std::ifstream in(started);
  pid_t pid = 0;
  in >> pid;
  ASSERT_GT(pid, 0);
  EXPECT_EQ(run.stop(SIGTERM, 10s), 0) << run.rest();
  EXPECT_NE(kill(pid, 0), 0) << "the running check's process outlived medic";
}

TEST(CliRun, SighupAppliesAValidConfigAndRefusesABrokenOne) {
  Switchable s;
  std::string config = s.config("200ms", "150ms");
  Subprocess run({MEDIC_BINARY, "run", "-c", config}, true);
  run.readUntil("app/plugin: first result -> healthy", 10s);

  // A valid change: one more check. What medic knew of the others stays.
  std::string text = s.dir.file("medic.yaml");
  std::ifstream in(text);
  std::string yaml((std::istreambuf_iterator<char>(in)), {});
  yaml += "  extra:\n    unit: extra.service\n    checks:\n      - {name: tmp, type: disk, path: /tmp, interval: 200ms}\n";
  s.dir.write("medic.yaml", yaml);
  kill(run.pid(), SIGHUP);
  auto lines = run.readUntil("configuration reloaded: 3 services, 3 checks", 10s);
  lines = run.readUntil("extra/tmp: first result -> healthy", 10s);
  for (const auto& l : lines) EXPECT_EQ(l.find("app/plugin: first result"), std::string::npos) << "state was lost: " << l;

  // A broken change: refused with its position, and the running checks go on.
  s.dir.write("medic.yaml", yaml + "      - {name: bad, type: disk, path: relative}\n");
  kill(run.pid(), SIGHUP);
  run.readUntil("configuration refused: " + config + ":15:39: service 'extra': check 'bad': 'path' must be an absolute path", 10s);
  run.readUntil("reload refused (1 error): still running the configuration loaded before", 10s);
  s.set(2);
  run.readUntil("app/plugin: healthy -> unhealthy: state is 2", 10s);
  EXPECT_EQ(run.stop(SIGTERM, 10s), 0);
}

TEST(CliRun, RefusesABadConfigWithTheErrors) {
  TempDir dir;
  std::string file = dir.write("medic.yaml", "services:\n  a:\n    unit: a.service\n    checks: {}\n");
  auto out = medic("run -c " + file);
  EXPECT_EQ(out.code, 1);
  EXPECT_EQ(out.text.rfind(file + ":4:13: service 'a': 'checks' must be a list of checks\n", 0), 0u) << out.text;
}

}  // namespace
