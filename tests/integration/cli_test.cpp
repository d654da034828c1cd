// The medic binary as an operator runs it: validate, check and run.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "checks/registry.h"
#include "runtime/text.h"
#include "harness.h"

using namespace medic::test;
using namespace std::chrono_literals;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

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
  // (its units are not on this host: validate warns of them on stderr, tested below)
  auto out = capture("{ " + std::string(MEDIC_BINARY) + " validate -c " + s.config() + " 2>/dev/null; }");
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

// Ladders chosen by cause: `medic plan` says which ladder each cause climbs, and `medic
// validate` warns of a ladder no cause can reach (it still loads: not an error).
TEST(CliPlan, ShowsWhichLadderEachCauseClimbs) {
  TempDir dir;
  std::string file = dir.write("medic.yaml",
                               "agent: {state_dir: " + dir.file("state") + "}\n"
                               "services:\n  app:\n    unit: app.service\n    checks:\n"
                               "      - {name: config, type: file, path: /etc/hostname}\n"
                               "      - {name: health, type: tcp, host: 127.0.0.1, port: 1}\n"
                               "    recovery:\n"
                               "      ladders:\n"
                               "        - when: [config]\n"
                               "          ladder: [{step: reload}]\n"
                               "        - when: [oom-kill, core-dump]\n"
                               "          ladder: [{step: restart, attempts: 1}]\n"
                               "        - when: config\n"
                               "          ladder: [{step: restart}]\n");
  auto plan = medic("plan -c " + file);
  EXPECT_EQ(plan.code, 0) << plan.text;
  EXPECT_NE(plan.text.find("ladder 1 (when: config), taken by check 'config':\n    1. reload (1 attempt)"), std::string::npos)
      << plan.text;
  EXPECT_NE(plan.text.find("ladder 2 (when: oom-kill, core-dump), taken by core-dump and oom-kill:\n    1. restart (1 attempt)"),
            std::string::npos)
      << plan.text;
  EXPECT_NE(plan.text.find("ladder 3 (when: config), taken by no cause (it is never chosen):"), std::string::npos) << plan.text;
  EXPECT_NE(plan.text.find("the default ladder, taken by exit-code, signal, watchdog, timeout, start-limit, resources, failed, "
                           "stopped and check 'health':\n    1. restart (2 attempts)"),
            std::string::npos)
      << plan.text;

  auto validate = medic("validate -c " + file);
  EXPECT_EQ(validate.code, 0) << validate.text;
  EXPECT_NE(validate.text.find("warning: " + file + ":14:11: service 'app': ladder 3 (when: config) can never be chosen"),
            std::string::npos)
      << validate.text;
}

TEST(CliCheck, ExitCodeIsTheWorstServiceHealth) {
  Switchable s;
  std::string config = s.config();
  // A plugin's OK, WARNING, CRITICAL, UNKNOWN: the service is healthy, degraded, unhealthy,
  // and degraded again (an unknown check never starts recovery: the agent counts it as
  // degraded, and `medic check` judges as the agent does). 3 is for "cannot tell at all".
  const int expected[] = {0, 1, 2, 1};
  for (int code : {0, 1, 2, 3}) {
    s.set(code);
    auto out = medic("check -c " + config);
    EXPECT_EQ(out.code, expected[code]) << out.text;
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
  EXPECT_EQ(medic("check -c " + s.dir.file("missing.yaml")).code, 3) << "no config: nothing can be told";
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

TEST(CliCheck, ANonCriticalFailureOnlyDegradesItsServiceAsTheAgentJudgesIt) {
  Switchable s;
  std::string text = s.config();
  std::string yaml = slurp(text);
  yaml.replace(yaml.find("type: exec,"), 11, "type: exec, critical: false,");
  std::string config = s.dir.write("medic.yaml", yaml);
  s.set(2);
  auto out = medic("check -c " + config);
  EXPECT_EQ(out.code, 1) << "degraded, as docs/config.md says of a non-critical failure: " << out.text;
  EXPECT_NE(out.text.find("unhealthy (non-critical)"), std::string::npos) << out.text;
  EXPECT_NE(out.text.find("\napp: degraded\nother: healthy\n2 checks: degraded\n"), std::string::npos) << out.text;
  auto json = nlohmann::json::parse(medic("check --json -c " + config).text);
  EXPECT_EQ(json["status"], "degraded");
  EXPECT_EQ(json["services"][0], (nlohmann::json{{"service", "app"}, {"health", "degraded"}}));
  EXPECT_EQ(json["checks"][0]["critical"], false);
}

TEST(CliRun, AnUnknownStartsRecoveryOnlyWhereTheCheckSaysItIsAFailure) {
  Switchable s;
  std::string text = s.config("500ms", "450ms");
  std::string yaml = slurp(text);
  yaml.replace(yaml.find("type: exec,"), 11, "type: exec, unknown_is_failure: true,");
  std::string config = s.dir.write("medic.yaml", yaml);
  s.set(3);  // UNKNOWN: by default it would only degrade the service
  EXPECT_EQ(medic("check -c " + config).code, 2) << "unhealthy, as the check asks";
  Subprocess run({MEDIC_BINARY, "run", "-c", config}, true);
  run.readUntil("app: recovery started: check 'plugin' failed 3 in a row: state is 3", 10s);
  EXPECT_EQ(run.stop(SIGTERM, 10s), 0);
  EXPECT_EQ(medic("check -c " + s.config()).code, 1) << "without it (config() writes it afresh), UNKNOWN only degrades";
}

TEST(CliRun, LogsStatusChangesOnlyAndStopsCleanlyOnSigterm) {
  Switchable s;
  std::string config = s.config("500ms", "450ms");
  Subprocess run({MEDIC_BINARY, "run", "-c", config}, true);
  auto lines = run.readUntil("app/plugin: first result -> healthy: state is 0", 10s);
  s.set(2);
  lines = run.readUntil("app/plugin: healthy -> unhealthy: state is 2", 10s);
  s.set(0);
  lines = run.readUntil("app/plugin: unhealthy -> healthy: state is 0", 10s);
  // Runs happened in between every 500 ms; the ones that changed nothing were not logged.
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
  std::string config = s.config("500ms", "450ms");
  Subprocess run({MEDIC_BINARY, "run", "-c", config}, true);
  run.readUntil("app/plugin: first result -> healthy", 10s);

  // A valid change: one more check. What medic knew of the others stays.
  std::string text = s.dir.file("medic.yaml");
  std::string yaml = slurp(text);
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

TEST(CliValidate, RefusesAHugeOrExplosiveRegexAtItsPositionAtOnce) {
  TempDir dir;
  std::string file = dir.write("medic.yaml", "services:\n  web:\n    unit: web.service\n    checks:\n"
                                             "      - {name: big, type: http, url: 'http://127.0.0.1/', body_match: '" +
                                                 std::string(1 << 20, 'a') + "'}\n"
                                             "      - {name: bomb, type: http, url: 'http://127.0.0.1/', "
                                             "body_match: '(((a{1,1000}){1,1000}){1,1000})'}\n");
  // (before: a stack overflow inside regcomp for the first, minutes of compiling for the second)
  auto out = medic("validate -c " + file);
  EXPECT_EQ(out.code, 1) << out.text;
  EXPECT_NE(out.text.find(file + ":5:71: service 'web': check 'big': invalid regex 'aaaa"), std::string::npos) << out.text.substr(0, 300);
  EXPECT_NE(out.text.find("the pattern is 1048576 bytes; at most 4096 are allowed"), std::string::npos);
  EXPECT_NE(out.text.find(file + ":6:72: service 'web': check 'bomb': invalid regex '(((a{1,1000}){1,1000}){1,1000})': its repeats "
                                 "expand to about 1000000000 elements"),
            std::string::npos) << out.text.substr(0, 2000);
}

TEST(CliCheck, SigtermEndsItAndWhatItRan) {
  TempDir dir;
  std::string pid = dir.file("pid");
  std::string plugin = dir.write("slow.sh", "#!/bin/sh\necho $$ > " + pid + ".tmp && mv " + pid + ".tmp " + pid + "\nexec sleep 60\n", 0755);
  std::string config = dir.write("medic.yaml", "services:\n  app:\n    unit: app.service\n    checks:\n"
                                               "      - {name: slow, type: exec, user: root, interval: 90s, timeout: 80s, command: [" +
                                                   plugin + "]}\n");
  Subprocess check({MEDIC_BINARY, "check", "-c", config}, true);
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(pid); })) << "the check did not start";
  pid_t plugin_pid = 0;
  std::ifstream(pid) >> plugin_pid;
  // A short-lived command is not the agent: SIGTERM (and Ctrl-C) end it, and its check.
  EXPECT_EQ(check.stop(SIGTERM, 10s), 128 + SIGTERM) << check.rest();
  EXPECT_TRUE(eventually([&] { return kill(plugin_pid, 0) != 0; })) << "the plugin outlived medic check";
}

TEST(CliRun, ASighupWithAnExplosiveRegexIsRefusedAndTheAgentGoesOn) {
  Switchable s;
  std::string config = s.config("500ms", "450ms");
  Subprocess run({MEDIC_BINARY, "run", "-c", config}, true);
  run.readUntil("app/plugin: first result -> healthy", 10s);
  std::string yaml = slurp(config);
  s.dir.write("medic.yaml", yaml + "  web:\n    unit: web.service\n    checks:\n"
                                   "      - {name: a, type: http, url: 'http://127.0.0.1/', body_match: '" + std::string(1 << 20, 'x') + "'}\n"
                                   "      - {name: b, type: tcp, host: 127.0.0.1, port: 1, expect: '(((a{1,1000}){1,1000}){1,1000})'}\n");
  kill(run.pid(), SIGHUP);
  run.readUntil("at most 4096 are allowed", 10s);
  run.readUntil("reload refused (2 errors): still running the configuration loaded before", 10s);
  s.set(2);
  run.readUntil("app/plugin: healthy -> unhealthy: state is 2", 10s);
  EXPECT_EQ(run.stop(SIGTERM, 10s), 0);
}

TEST(CliRun, WhatAPluginPrintsCannotForgeALogLine) {
  Switchable s;
  std::string config = s.config("500ms", "450ms");
  s.dir.write("plugin.sh", "#!/bin/sh\nprintf 'CRITICAL: down\\033[2J\\302\\233 \\377 | x=1\\n2026-12-03 critical FORGED LOG LINE\\n'\nexit 2\n", 0755);
  Subprocess run({MEDIC_BINARY, "run", "-c", config}, true);
  auto lines = run.readUntil("app/plugin: first result -> unhealthy", 10s);
  // The plugin API's first line only; ESC a space, invalid bytes U+FFFD, the C1 CSI escaped.
  EXPECT_NE(lines.back().find("unhealthy: CRITICAL: down [2J\\xc2\\x9b \xEF\xBF\xBD ("), std::string::npos) << lines.back();
  EXPECT_EQ(run.stop(SIGTERM, 10s), 0);
  for (const auto& l : lines) EXPECT_TRUE(medic::isPlainText(l) || l.find("\xEF\xBF\xBD") != std::string::npos) << l;
  for (const auto& l : lines) EXPECT_EQ(l.rfind("2026-12-03 critical FORGED", 0), std::string::npos) << l;
}

TEST(CliRun, AnExecCheckLeavesNothingBehindWhenMedicIsKilled) {
  TempDir dir;
  std::string pids = dir.file("pids");
  std::string daemon = dir.write("daemon.sh", "#!/bin/sh\necho $$ >> " + pids + "\nexec sleep 300\n", 0755);
  std::string plugin = dir.write("plugin.sh", "#!/bin/sh\nsetsid -f " + daemon + "\n" + daemon + " &\nexec sleep 300\n", 0755);
  std::string config = dir.write("medic.yaml", "agent: {state_dir: " + dir.file("state") + "}\nservices:\n  app:\n"
                                               "    unit: app.service\n    checks:\n"
                                               "      - {name: slow, type: exec, user: root, interval: 60s, timeout: 50s, "
                                               "initial_delay: 0s, command: [" + plugin + "]}\n");
  auto started = [&] {
    std::vector<pid_t> out;
    std::ifstream in(pids);
    for (pid_t p; in >> p;) out.push_back(p);
    return out;
  };
  Subprocess run({MEDIC_BINARY, "run", "-c", config}, true);
  run.readUntil("medic running", 10s);
  ASSERT_TRUE(eventually([&] { return started().size() == 2; })) << "the check did not start its daemons";
  // Not even a clean stop: SIGKILL, as the OOM killer or a watchdog would.
  EXPECT_EQ(run.stop(SIGKILL, 10s), 128 + SIGKILL);
  EXPECT_TRUE(eventually([&] {
    for (pid_t p : started())
      if (kill(p, 0) == 0) return false;
    return true;
  })) << "what the check started outlived medic";
}

}  // namespace

namespace {

// The subcommands `medic --help` lists (CLI11's own list: what the binary really has).
std::vector<std::string> subcommands() {
  auto help = medic("--help");
  std::vector<std::string> names;
  size_t at = help.text.find("Subcommands:");
  EXPECT_NE(at, std::string::npos) << help.text;
  std::istringstream in(help.text.substr(at));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line) && !line.empty()) {
    std::istringstream words(line);
    std::string name;
    if (line.rfind("  ", 0) == 0 && words >> name) names.push_back(name);
  }
  return names;
}

}  // namespace

// The man page documents every subcommand the binary has (it once lacked plan, drill and
// report), and has the sections an operator looks for.
TEST(Docs, TheManPageHasEverySubcommandAnExitStatusAndExamples) {
  std::string man = slurp(std::string(MEDIC_SOURCE_DIR) + "/packaging/medic.8");
  auto names = subcommands();
  EXPECT_GE(names.size(), 12u);
  for (const auto& name : names) EXPECT_NE(man.find(".B " + name), std::string::npos) << "medic " << name << " is not in medic.8";
  for (const char* section : {".SH EXIT STATUS", ".SH EXAMPLES", ".SH FILES"}) EXPECT_NE(man.find(section), std::string::npos) << section;
  for (const char* code : {".B 0\n", ".B 1\n", ".B 2\n", ".B 3\n", ".B 4\n", ".B 64\n"}) EXPECT_NE(man.find(code), std::string::npos) << code;
}

// Every check type of the registry is named where a newcomer reads which types there are:
// the config reference's `type` row, the package description and the man page.
TEST(Docs, EveryRegisteredCheckTypeIsListedWhereTypesAreListed) {
  std::string config = slurp(std::string(MEDIC_SOURCE_DIR) + "/docs/config.md");
  size_t row = config.find("| `type` | required |");
  ASSERT_NE(row, std::string::npos);
  std::string typeRow = config.substr(row, config.find('\n', row) - row);
  std::string packaging = slurp(std::string(MEDIC_SOURCE_DIR) + "/packaging/CMakeLists.txt");
  size_t d = packaging.find("CPACK_PACKAGE_DESCRIPTION \"");
  ASSERT_NE(d, std::string::npos);
  std::string description = packaging.substr(d, packaging.find("\")", d) - d);
  std::string man = slurp(std::string(MEDIC_SOURCE_DIR) + "/packaging/medic.8");
  std::string manDescription = man.substr(man.find(".SH DESCRIPTION"), 400);
  for (const auto& type : medic::checks::checkTypes()) {
    std::string name(type.name);
    EXPECT_NE(typeRow.find("`" + name + "`"), std::string::npos) << name << " is not in docs/config.md's type row";
    EXPECT_NE(description.find(name), std::string::npos) << name << " is not in the package description";
    EXPECT_NE(manDescription.find(name), std::string::npos) << name << " is not in medic.8's description";
  }
}

// The binary names its sources relative to the tree: the journal's CODE_FILE= once carried
// the builder's absolute path.
TEST(Docs, TheBinaryCarriesNoBuildersPath) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "the sanitizers keep their own source locations; the binary that ships is the normal build's";
#endif
  auto out = capture("grep -c -a -F '" + std::string(MEDIC_SOURCE_DIR) + "/' " + MEDIC_BINARY);
  EXPECT_EQ(out.text, "0\n") << MEDIC_SOURCE_DIR << " appears in the binary";
}

// `medic validate` warns of a unit systemd has no file for on this host, with the unit it
// probably meant, and still passes the config (the unit may come with a package later).
TEST(CliValidate, WarnsOfAUnitSystemdDoesNotHaveWithTheNearestName) {
  if (!std::filesystem::exists("/lib/systemd/system/systemd-journald.service")) GTEST_SKIP() << "no systemd unit files here";
  TempDir dir;
  auto validate = [](const std::string& file) { return capture(std::string(MEDIC_BINARY) + " validate -c " + file); };
  auto config = [&](const std::string& unit) {
    return dir.write("medic.yaml", "agent: {state_dir: " + dir.file("state") + "}\nservices:\n  logs:\n    unit: " + unit +
                                       "\n    checks:\n      - {name: root, type: disk, path: /}\n");
  };
  auto typo = validate(config("systemd-jurnald.service"));
  EXPECT_EQ(typo.code, 0) << typo.text;
  EXPECT_NE(typo.text.find("warning: " + dir.file("medic.yaml") + ":3:3: service 'logs': systemd has no unit "
                           "'systemd-jurnald.service' on this host (did you mean 'systemd-journald.service'?)"),
            std::string::npos) << typo.text;
  auto right = validate(config("systemd-journald.service"));
  EXPECT_EQ(right.code, 0);
  EXPECT_EQ(right.text.find("warning"), std::string::npos) << right.text;
  auto bare = validate(config("systemd-journald"));  // systemd's own shorthand for .service
  EXPECT_EQ(bare.text.find("warning"), std::string::npos) << bare.text;
}
