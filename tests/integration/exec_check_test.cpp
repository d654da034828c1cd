// The exec check with real programs: Debian's monitoring-plugins, scripts that misbehave.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <optional>
#include <vector>

#include "checks/check_runner.h"
#include "checks/exec_scope.h"
#include "checks/probe_host.h"
#include "config/loader.h"
#include "harness.h"

using namespace medic;
using namespace medic::test;
using checks::Status;
using namespace std::chrono_literals;

namespace {

LoopbackPeers& peers() { return sharedPeers(); }

std::string exec(const std::string& command, const std::string& extra = "") {
  return "- name: e\n  type: exec\n  command: " + command + "\n" + extra;
}

TEST(ExecCheck, ExitCodesFollowTheNagiosPluginApi) {
  TempDir dir;
  std::string script = dir.write("plugin.sh", "#!/bin/sh\necho \"STATE $1 | value=$1;1;2;0;3\"\nexit $1\n", 0755);
  auto results = runChecks("- name: ok\n  type: exec\n  command: [" + script + ", '0']\n"
                           "- name: warn\n  type: exec\n  command: [" + script + ", '1']\n"
                           "- name: crit\n  type: exec\n  command: [" + script + ", '2']\n"
                           "- name: unknown\n  type: exec\n  command: [" + script + ", '3']\n");
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0].status, Status::healthy);
  EXPECT_EQ(results[1].status, Status::degraded);
  EXPECT_EQ(results[2].status, Status::unhealthy);
  EXPECT_EQ(results[3].status, Status::unknown);
  EXPECT_EQ(results[2].message, "STATE 2");
  ASSERT_EQ(results[2].perfdata.size(), 1u);
  EXPECT_EQ(results[2].perfdata[0].label, "value");
  EXPECT_DOUBLE_EQ(results[2].perfdata[0].value, 2);
  EXPECT_DOUBLE_EQ(*results[2].perfdata[0].crit, 2);
}

TEST(ExecCheck, DebianMonitoringPluginsWorkAsChecks) {
  std::string port = std::to_string(peers().port("banner"));
  auto r = runCheck(exec("[/usr/lib/nagios/plugins/check_tcp, -H, 127.0.0.1, -p, '" + port + "']"));
  EXPECT_EQ(r.status, Status::healthy) << r.message;
  EXPECT_EQ(r.message.rfind("TCP OK", 0), 0u) << r.message;
  ASSERT_FALSE(r.perfdata.empty());
  EXPECT_EQ(r.perfdata[0].label, "time");

  std::string http = std::to_string(peers().port("http"));
  r = runCheck(exec("[/usr/lib/nagios/plugins/check_http, -H, 127.0.0.1, -p, '" + http + "', -u, /status/500]"));
  EXPECT_EQ(r.status, Status::unhealthy) << r.message;
  EXPECT_NE(r.message.find("500"), std::string::npos) << r.message;
}

// A check (run as root or as its user) never gets one of medic's files: not the state file,
// not a socket, not a descriptor some library opened without O_CLOEXEC.
TEST(ExecCheck, InheritsNoDescriptorBeyondItsStdio) {
  TempDir dir;
  int leaked = open(dir.write("secret", "s3cret").c_str(), O_RDONLY);  // no O_CLOEXEC, on purpose
  ASSERT_GE(leaked, 3);
  // sh -c, not a script file: dash keeps a script's own file open as fd 10. The glob's own
  // directory fd is closed by the time each entry is tested.
  std::string script =
      "open=\"\"; for fd in /proc/$$/fd/*; do n=${fd##*/}; [ \"$n\" -gt 2 ] && [ -e \"$fd\" ] && open=\"$open $n\"; done; "
      "if [ -n \"$open\" ]; then echo \"inherited:$open\"; exit 2; fi; echo only stdio";
  auto r = runCheck(exec("[/bin/sh, -c, '" + script + "']"));
  close(leaked);
  EXPECT_EQ(r.status, Status::healthy) << r.message;
  EXPECT_EQ(r.message, "only stdio");
}

TEST(ExecCheck, RunsAsTheConfiguredUserWithACleanEnvironment) {
  if (geteuid() != 0) GTEST_SKIP() << "switching users needs root";
  TempDir dir;
  std::string script = dir.write("who.sh", "#!/bin/sh\necho \"$(id -un) $HOME $MODE ${SECRET:-unset} $(pwd)\"\n", 0755);
  setenv("SECRET", "leaked", 1);
  auto r = runCheck(exec("[" + script + "]", "  user: nobody\n  environment: {MODE: probe}\n  workdir: /tmp\n"));
  unsetenv("SECRET");
  EXPECT_EQ(r.status, Status::healthy);
  EXPECT_EQ(r.message, "nobody /nonexistent probe unset /tmp");
}

TEST(ExecCheck, ShellOnlyWhenAsked) {
  auto r = runCheck("- name: e\n  type: exec\n  shell: true\n  command: 'echo one two | tr a-z A-Z; exit 1'\n");
  EXPECT_EQ(r.status, Status::degraded);
  EXPECT_EQ(r.message, "ONE TWO");
}

TEST(ExecCheck, ATimeoutKillsTheWholeProcessGroupEvenIfItIgnoresSigterm) {
  TempDir dir;
  std::string pids = dir.file("pids");
  // The plugin and a grandchild both ignore SIGTERM and record their pids.
  std::string script = dir.write("stubborn.sh",
                                 "#!/bin/sh\ntrap '' TERM\n(trap '' TERM; echo $$ >/dev/null; sleep 300) &\n"
                                 "echo $$ $! > " + pids + "\nsleep 300\n",
                                 0755);
  auto r = runCheck(exec("[" + script + "]", "  user: root\n  timeout: 300ms\n  interval: 1s\n"));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_EQ(r.message.rfind("timed out after 300ms waiting for pid", 0), 0u) << r.message;
  pid_t parent = 0, grandchild = 0;
  std::ifstream(pids) >> parent >> grandchild;
  ASSERT_GT(parent, 0);
  ASSERT_GT(grandchild, 0);
  // The runner hands the group to the reaper: SIGTERM now, SIGKILL after the grace.
  // runCheck's host is gone, and its reaper killed the group on the way out.
  EXPECT_TRUE(eventually([&] { return kill(parent, 0) != 0 && kill(grandchild, 0) != 0; }, 5s))
      << "the plugin or its grandchild survived";
}

TEST(ExecCheck, GraceThenKillWhileTheAgentKeepsRunning) {
  TempDir dir;
  std::string pidfile = dir.file("pid");
  std::string script = dir.write("stubborn.sh", "#!/bin/sh\ntrap '' TERM\necho $$ > " + pidfile + "\nwhile :; do sleep 1; done\n", 0755);
  std::string file = dir.write("medic.yaml", "services:\n  s:\n    unit: s.service\n    checks:\n" +
                                                 std::string("      - {name: e, type: exec, user: root, timeout: 200ms, interval: 1s, command: [") +
                                                 script + "]}\n");
  auto loaded = config::loadConfig(file);
  ASSERT_TRUE(loaded.config) << loaded.errors.str();
  checks::ProbeHost host(300ms);
  checks::ProbeRunner runner(host.env);
  bool done = false;
  const auto& spec = loaded.config->services[0].checks[0];
  runner.run(spec.check, spec.timeout, [&](checks::CheckResult) { done = true; });
  while (!done) host.loop.runOnce(1s);
  pid_t pid = 0;
  std::ifstream(pidfile) >> pid;
  ASSERT_GT(pid, 0);
  // The timed-out probe is torn down on the next loop turn, handing its child to the reaper.
  auto until = std::chrono::steady_clock::now() + 10s;
  while (host.reaper.pending() == 0 && std::chrono::steady_clock::now() < until) host.loop.runOnce(10ms);
  ASSERT_EQ(host.reaper.pending(), 1u);
  EXPECT_EQ(kill(pid, 0), 0) << "SIGTERM is ignored: it lives until the grace ends";
  while (host.reaper.pending() > 0 && std::chrono::steady_clock::now() < until) host.loop.runOnce(100ms);
  EXPECT_EQ(host.reaper.pending(), 0u);
  EXPECT_NE(kill(pid, 0), 0) << "SIGKILL after the grace, and reaped";
}

// A plugin that starts two daemons in sessions of their own (as `setsid` and double-forking
// daemons do) and records their pids; the process-group kill cannot reach them.
struct Escapees {
  TempDir dir;
  std::string pids = dir.file("pids");
  std::string daemon = dir.write("daemon.sh", "#!/bin/sh\necho $$ >> " + pids + "\nexec sleep 300\n", 0755);
  std::string plugin(const std::string& then) {
    return dir.write("plugin.sh", "#!/bin/sh\nsetsid " + daemon + " &\nsetsid -f " + daemon + "\n"
                                  "while [ \"$(wc -l < " + pids + " 2>/dev/null)\" != 2 ]; do sleep 0.05; done\n" + then,
                     0755);
  }
  std::vector<pid_t> started() const {
    std::vector<pid_t> out;
    std::ifstream in(pids);
    for (pid_t p; in >> p;) out.push_back(p);
    return out;
  }
  bool allGone() const {
    for (pid_t p : started())
      if (kill(p, 0) == 0) return false;
    return true;
  }
};

TEST(ExecCheck, NothingItStartedOutlivesItEvenInASessionOfItsOwn) {
  Escapees e;
  auto r = runCheck(exec("[" + e.plugin("echo 'OK started two daemons'\nexit 0\n") + "]", "  user: root\n  timeout: 10s\n  interval: 30s\n"));
  EXPECT_EQ(r.status, Status::healthy) << r.message;
  ASSERT_EQ(e.started().size(), 2u);
  // The check's end already means everything it started has ended.
  EXPECT_TRUE(e.allGone()) << "a daemon the plugin started in its own session outlived the check";
}

TEST(ExecCheck, ATimeoutKillsWhatItStartedInASessionOfItsOwn) {
  Escapees e;
  auto r = runCheck(exec("[" + e.plugin("sleep 300\n") + "]", "  user: root\n  timeout: 3s\n  interval: 30s\n"));
  EXPECT_EQ(r.status, Status::unhealthy);
  ASSERT_EQ(e.started().size(), 2u);
  EXPECT_TRUE(eventually([&] { return e.allGone(); }, 10s)) << "a daemon in its own session survived the timeout";
}

TEST(ExecCheck, FloodedOutputIsCappedAndTheCheckStillFinishes) {
  TempDir dir;
  std::string script = dir.write("flood.sh", "#!/bin/sh\necho 'FLOOD OK'\nhead -c 10000000 /dev/zero | tr '\\0' x\nexit 0\n", 0755);
  auto r = runCheck(exec("[" + script + "]", "  user: root\n  timeout: 20s\n  interval: 30s\n"));
  EXPECT_EQ(r.status, Status::healthy);
  EXPECT_EQ(r.message, "FLOOD OK (output cut at 8 KiB)");
}

TEST(ExecCheck, EndlessOutputEndsAtTheTimeout) {
  auto r = runCheck(exec("[/usr/bin/yes]", "  user: root\n  timeout: 300ms\n  interval: 1s\n"));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_EQ(r.message.rfind("timed out after 300ms", 0), 0u) << r.message;
}

TEST(ExecCheck, NonUtf8OutputBecomesReadable) {
  TempDir dir;
  std::string script = dir.write("bytes.sh", "#!/bin/sh\nprintf 'WARN \\377\\376 disk\\n'\nexit 1\n", 0755);
  auto r = runCheck(exec("[" + script + "]"));
  EXPECT_EQ(r.status, Status::degraded);
  EXPECT_EQ(r.message, "WARN \xEF\xBF\xBD\xEF\xBF\xBD disk");
}

TEST(ExecCheck, AProgramKilledByASignalIsUnknown) {
  TempDir dir;
  std::string script = dir.write("die.sh", "#!/bin/sh\nkill -SEGV $$\n", 0755);
  auto r = runCheck(exec("[" + script + "]"));
  EXPECT_EQ(r.status, Status::unknown);
  EXPECT_EQ(r.message, "killed by signal 11 (Segmentation fault)");
}

TEST(ExecCheck, AProgramThatCannotRunIsUnknownWithTheReason) {
  TempDir dir;
  std::string script = dir.write("noexec.sh", "#!/usr/bin/pythn3 -u\n", 0755);
  auto r = runCheck(exec("[" + script + "]"));
  EXPECT_EQ(r.status, Status::unknown);
  EXPECT_EQ(r.message, "cannot execute " + script + ": bad interpreter /usr/bin/pythn3: No such file or directory");
  std::string plain = dir.write("plain", "not a program\n", 0755);
  r = runCheck(exec("[" + plain + "]"));
  EXPECT_EQ(r.message, "cannot execute " + plain + ": Exec format error");
  r = runCheck(exec("[" + plain + "]", "  workdir: /nonexistent/dir\n"));
  EXPECT_EQ(r.message, "cannot enter the working directory /nonexistent/dir: No such file or directory");
}

// systemd's side of the scopes, held in the test's hand: it answers when told to.
struct HeldScopes : checks::ScopeStarter {
  std::vector<checks::ExecScope> asked;
  std::vector<std::function<void(std::string)>> answers;
  std::vector<std::string> stopped;
  void startScope(const checks::ExecScope& scope, std::function<void(std::string)> done) override {
    asked.push_back(scope);
    answers.push_back(std::move(done));
  }
  void stopScope(const std::string& unit) override { stopped.push_back(unit); }
};

// One exec check of `extra` keys running `script`, on a host whose scopes are `scopes`.
struct ScopedRun {
  TempDir dir;
  std::string marker = dir.file("ran");
  std::string script = dir.write("plugin.sh", "#!/bin/sh\ntouch " + marker + "\necho 'OK ran'\n", 0755);
  config::LoadResult loaded;
  checks::ProbeHost host{300ms};
  checks::ProbeRunner runner{host.env};
  std::optional<checks::CheckResult> result;

  ScopedRun(HeldScopes& scopes, const std::string& extra) {
    std::string file = dir.write("medic.yaml", "services:\n  s:\n    unit: s.service\n    checks:\n      - {name: e, type: exec, user: root, interval: 30s, command: [" +
                                                   script + "]" + extra + "}\n");
    loaded = config::loadConfig(file);
    host.env.scopes = &scopes;
  }
  void start() {
    const auto& spec = loaded.config->services[0].checks[0];
    runner.run(spec.check, spec.timeout, [this](checks::CheckResult r) { result = std::move(r); });
  }
  // The script becomes `body` (after it touches the marker); the run starts and systemd's
  // side answers that its scope is ready. Returns the run's shepherd (0 if no scope was asked).
  pid_t startInScope(HeldScopes& scopes, const std::string& body) {
    std::ofstream(script) << "#!/bin/sh\ntouch " << marker << "\n" << body;
    start();
    if (scopes.answers.size() != 1) return 0;
    scopes.answers[0]("");
    return scopes.asked[0].pid;
  }
  bool ran() const { return access(marker.c_str(), F_OK) == 0; }
  void runUntil(const std::function<bool()>& done) { runLoopUntil(host.loop, done); }
  // Runs the loop until the check has its result (10 s at most); whether it has one.
  bool awaitResult() {
    runUntil([&] { return result.has_value(); });
    return result.has_value();
  }
};

TEST(ExecCheck, TheProgramStartsOnlyOnceItsScopeHoldsItAndTheScopeIsStoppedAfter) {
  HeldScopes scopes;
  ScopedRun run(scopes, ", tasks_max: 16, memory_max: 32MiB, timeout: 5s");
  ASSERT_TRUE(run.loaded.config) << run.loaded.errors.str();
  run.start();
  ASSERT_EQ(scopes.asked.size(), 1u);
  const checks::ExecScope& asked = scopes.asked[0];
  EXPECT_EQ(asked.unit, "medic-exec-" + std::to_string(asked.pid) + ".scope");
  EXPECT_EQ(asked.tasksMax, 16u);
  EXPECT_EQ(asked.memoryMax, 32u << 20);
  EXPECT_EQ(asked.description, "medic exec: " + run.script);
  // Until systemd has moved the shepherd into the scope, the program must not run: what it
  // started before would be outside the limits. (A bounded look: it would have run by now.)
  auto look = std::chrono::steady_clock::now() + 300ms;
  while (std::chrono::steady_clock::now() < look) run.host.loop.runOnce(10ms);
  EXPECT_FALSE(run.ran()) << "the program ran before its scope was ready";
  EXPECT_FALSE(run.result);
  scopes.answers[0]("");
  ASSERT_TRUE(run.awaitResult());
  EXPECT_EQ(run.result->status, Status::healthy) << run.result->message;
  EXPECT_TRUE(run.ran());
  EXPECT_EQ(scopes.stopped, std::vector<std::string>{asked.unit}) << "the run's scope is stopped when it ends";
}

TEST(ExecCheck, WhenSystemdCannotGiveAScopeTheRunGoesOnWithout) {
  HeldScopes scopes;
  ScopedRun run(scopes, "");
  ASSERT_TRUE(run.loaded.config) << run.loaded.errors.str();
  run.start();
  ASSERT_EQ(scopes.answers.size(), 1u);
  EXPECT_EQ(scopes.asked[0].tasksMax, 128u) << "the default";
  EXPECT_EQ(scopes.asked[0].memoryMax, 512u << 20) << "the default";
  scopes.answers[0]("not connected to systemd");
  ASSERT_TRUE(run.awaitResult());
  EXPECT_EQ(run.result->status, Status::healthy) << run.result->message;
  EXPECT_TRUE(scopes.stopped.empty()) << "there was no scope to stop";
}

TEST(ExecCheck, NoLimitsAskNoScope) {
  HeldScopes scopes;
  ScopedRun run(scopes, ", tasks_max: 0, memory_max: 0");
  ASSERT_TRUE(run.loaded.config) << run.loaded.errors.str();
  run.start();
  ASSERT_TRUE(run.awaitResult());
  EXPECT_EQ(run.result->status, Status::healthy) << run.result->message;
  EXPECT_TRUE(scopes.asked.empty());
}

TEST(ExecCheck, ARunGivenUpBeforeItsScopeWasReadyRunsNothingAndLeavesNothing) {
  HeldScopes scopes;
  ScopedRun run(scopes, ", timeout: 200ms");
  ASSERT_TRUE(run.loaded.config) << run.loaded.errors.str();
  run.start();
  ASSERT_EQ(scopes.asked.size(), 1u);
  pid_t shepherd = scopes.asked[0].pid;
  ASSERT_TRUE(run.awaitResult());
  EXPECT_EQ(run.result->message, "timed out after 200ms waiting for systemd to start the scope of pid " + std::to_string(shepherd));
  // The probe is gone: its shepherd leaves without running the program and is reaped.
  run.runUntil([&] { return run.host.reaper.pending() == 0 && kill(shepherd, 0) != 0; });
  EXPECT_NE(kill(shepherd, 0), 0) << "the shepherd is still there";
  // systemd may yet make the scope it was asked for, with the shepherd in it: it is stopped,
  // or (in a container on cgroup v1, where systemd never sees it empty) it would stay.
  EXPECT_EQ(scopes.stopped, std::vector<std::string>{scopes.asked[0].unit});
  scopes.answers[0]("");  // systemd's answer, late: nobody is there to hear it
  run.host.loop.runOnce(10ms);
  EXPECT_FALSE(run.ran()) << "the program ran though its run had been given up";
}

TEST(ExecCheck, ATimedOutRunsScopeIsStoppedOnceEverythingInItIsReaped) {
  HeldScopes scopes;
  ScopedRun run(scopes, ", timeout: 200ms");
  ASSERT_TRUE(run.loaded.config) << run.loaded.errors.str();
  pid_t shepherd = run.startInScope(scopes, "exec sleep 30\n");
  ASSERT_NE(shepherd, 0);
  ASSERT_TRUE(run.awaitResult());
  EXPECT_EQ(run.result->message.rfind("timed out after 200ms waiting for pid " + std::to_string(shepherd) + " to exit", 0), 0u)
      << run.result->message;
  run.runUntil([&] { return !scopes.stopped.empty(); });
  EXPECT_EQ(scopes.stopped, std::vector<std::string>{scopes.asked[0].unit});
  EXPECT_NE(kill(shepherd, 0), 0) << "the scope was stopped before its shepherd was reaped";
}

TEST(ExecCheck, ARunStillBeingKilledWhenMedicStopsHasItsScopeStoppedBeforeMedicIsGone) {
  HeldScopes scopes;
  ScopedRun run(scopes, ", timeout: 200ms");
  ASSERT_TRUE(run.loaded.config) << run.loaded.errors.str();
  // Deaf to SIGTERM: it outlives its timeout by the reaper's grace (2 s).
  pid_t shepherd = run.startInScope(scopes, "trap '' TERM\nsleep 30\n");
  ASSERT_NE(shepherd, 0);
  ASSERT_TRUE(run.awaitResult());
  run.runUntil([&] { return run.host.reaper.pending() == 1; });
  ASSERT_EQ(run.host.reaper.pending(), 1u) << "the timed-out run is in the reaper's hands";
  EXPECT_TRUE(scopes.stopped.empty()) << "its scope is stopped only once everything in it is gone";
  // medic stops within the grace: the run is killed now and its scope stopped while the
  // agent (its systemd client) is still there, not left for a systemd that may never see it empty.
  run.host.loop.exit();
  run.runUntil([&] { return !run.host.loop.runOnce(0ms); });
  EXPECT_EQ(scopes.stopped, std::vector<std::string>{scopes.asked[0].unit});
  EXPECT_NE(kill(shepherd, 0), 0) << "the shepherd is still there";
  EXPECT_EQ(run.host.reaper.pending(), 0u);
}

}  // namespace
