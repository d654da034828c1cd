// process, disk and memory checks against the real /proc and real filesystems.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "checks/probe_host.h"
#include "runtime/process_table.h"
#include "checks/memory_check.h"
#include "harness.h"

using namespace medic;
using namespace medic::test;
using checks::Status;

namespace {

// A child that runs `argv` until the test ends.
struct Child {
  pid_t pid;
  explicit Child(std::vector<std::string> argv) {
    pid = fork();
    if (pid == 0) {
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    // Wait until it has exec'd (its command line is the new one).
    eventually([&] {
      ProcessInfo p;
      return readProcess(pid, p) && p.cmdline.find(argv.back()) != std::string::npos;
    });
  }
  ~Child() {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
};

TEST(ProcessCheck, CountsByCommandLineRegex) {
  std::string yaml = "- name: p\n  type: process\n  cmdline: '^/bin/sleep 31337$'\n  min: 1\n  max: 1\n";
  auto r = runCheck(yaml);
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_EQ(r.message, "0 processes matching /^/bin/sleep 31337$/ (expected at least 1)");
  {
    Child one({"/bin/sleep", "31337"});
    r = runCheck(yaml);
    EXPECT_EQ(r.status, Status::healthy) << r.message;
    EXPECT_EQ(r.message, "1 process matching /^/bin/sleep 31337$/");
    Child two({"/bin/sleep", "31337"});
    EXPECT_EQ(runCheck(yaml).message, "2 processes matching /^/bin/sleep 31337$/ (expected at most 1)");
  }
}

double valueOf(const checks::CheckResult& r, const std::string& label) {
  for (const auto& v : r.perfdata)
    if (v.label == label) return v.value;
  ADD_FAILURE() << "no value '" << label << "' in: " << r.message;
  return -1;
}

TEST(ProcessValues, CountRssAndCpuFollowTheMatchedProcesses) {
  // A process that takes 64 MiB more each time it gets SIGUSR1, and burns CPU on SIGUSR2.
  std::string grower =
      "import signal, time\nkept = []\n"
      "signal.signal(signal.SIGUSR1, lambda *a: kept.append(bytearray(b'x' * (64 << 20))))\n"
      "def burn(*a):\n  end = time.process_time() + 0.3\n  while time.process_time() < end: pass\n"
      "signal.signal(signal.SIGUSR2, burn)\nopen(sys.argv[1], 'w').close()\nwhile True: signal.pause()\n";
  TempDir dir;
  std::string script = dir.write("grower.py", "import sys\n" + grower);
  Child c({"/usr/bin/python3", script, dir.file("ready"), "medic-grower-31339"});
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(dir.file("ready")); })) << "its signal handlers are set";
  std::string yaml = "- name: p\n  type: process\n  cmdline: 'medic-grower-31339'\n";
  auto before = runCheck(yaml);
  EXPECT_EQ(valueOf(before, "count"), 1);
  double rss = valueOf(before, "rss"), cpu = valueOf(before, "cpu_seconds");
  EXPECT_GT(rss, 1 << 20);
  kill(c.pid, SIGUSR1);
  EXPECT_TRUE(eventually([&] { return valueOf(runCheck(yaml), "rss") > rss + (60 << 20); })) << "rss follows the growth";
  kill(c.pid, SIGUSR2);
  EXPECT_TRUE(eventually([&] { return valueOf(runCheck(yaml), "cpu_seconds") >= cpu + 0.29; })) << "cpu time only grows";
}

TEST(ProcessValues, CpuIsTheShareOfACoreBetweenTwoRuns) {
  Child busy({"/usr/bin/python3", "-c", "while True: pass", "medic-busy-31340"});
  Child idle({"/bin/sleep", "31341"});
  RepeatedCheck busyCheck("- name: p\n  type: process\n  cmdline: 'medic-busy-31340'\n");
  RepeatedCheck idleCheck("- name: p\n  type: process\n  cmdline: '^/bin/sleep 31341$'\n");
  EXPECT_EQ(valuesOf(busyCheck.run()).count("cpu"), 0u) << "one run has no interval to measure over";
  idleCheck.run();
  // A spinning process holds a core; on a loaded machine it gets less, but never nothing.
  EXPECT_TRUE(eventually([&] {
    auto v = valuesOf(busyCheck.run());
    return v.count("cpu") && v["cpu"] > 20 && v["cpu"] <= 105;
  })) << "a busy process is near 100%";
  auto idleValues = valuesOf(idleCheck.run());
  ASSERT_EQ(idleValues.count("cpu"), 1u);
  EXPECT_LT(idleValues["cpu"], 5) << "a sleeping process uses none";
}

TEST(ProcessCheck, MatchesNamesLongerThanTheKernelKeeps) {
  TempDir dir;
  std::string program = dir.file("medic-very-long-name-worker");
  std::filesystem::copy_file("/bin/sleep", program);
  std::string yaml = "- name: p\n  type: process\n  process_name: medic-very-long-name-worker\n";
  EXPECT_EQ(runCheck(yaml).status, Status::unhealthy);
  Child c({program, "31338"});
  auto r = runCheck(yaml);
  EXPECT_EQ(r.status, Status::healthy) << r.message;
}

TEST(ProcessCheck, PidfileAliveDeadAndZombie) {
  TempDir dir;
  std::string pidfile = dir.file("app.pid");
  std::string yaml = "- name: p\n  type: process\n  pidfile: " + pidfile + "\n";
  EXPECT_EQ(runCheck(yaml).message, "cannot read pidfile " + pidfile);
  {
    Child c({"/bin/sleep", "31339"});
    dir.write("app.pid", std::to_string(c.pid) + "\n");
    EXPECT_EQ(runCheck(yaml).message, "pid " + std::to_string(c.pid) + " (sleep) is running");
  }
  auto r = runCheck(yaml);  // the child was killed and reaped
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_NE(r.message.find("is not running"), std::string::npos) << r.message;

  pid_t zombie = fork();
  if (zombie == 0) _exit(0);
  eventually([&] {
    ProcessInfo p;
    return readProcess(zombie, p) && p.state == 'Z';
  });
  dir.write("app.pid", std::to_string(zombie));
  r = runCheck(yaml);
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_NE(r.message.find("is a zombie"), std::string::npos) << r.message;
  waitpid(zombie, nullptr, 0);
}

TEST(ProcessCheck, ChecksDueInOneTickShareOneProcScan) {
  ProcessTable table;
  TimePoint tick = TimePoint(std::chrono::seconds(5));
  size_t n = table.snapshot(tick).size();
  EXPECT_GT(n, 0u);
  table.snapshot(tick);
  table.snapshot(tick);
  EXPECT_EQ(table.scans(), 1u);
  table.snapshot(tick + std::chrono::milliseconds(1));
  EXPECT_EQ(table.scans(), 2u);
}

// A small tmpfs so used space and inodes can be driven across the thresholds.
class DiskCheckOnTmpfs : public testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
    ASSERT_EQ(mount("tmpfs", dir_.path.c_str(), "tmpfs", 0, "size=1m,nr_inodes=100"), 0) << strerror(errno);
  }
  void TearDown() override {
    if (geteuid() == 0) umount2(dir_.path.c_str(), MNT_DETACH);
  }
  void fill(const std::string& name, size_t kib) {
    std::ofstream(dir_.file(name)) << std::string(kib * 1024, 'x');
  }
  std::string yaml() const {
    return "- name: d\n  type: disk\n  path: " + dir_.path.string() + "\n  used_warn: 50\n  used_crit: 80\n";
  }
  TempDir dir_;
};

TEST_F(DiskCheckOnTmpfs, SpaceCrossesWarnThenCrit) {
  EXPECT_EQ(runCheck(yaml()).status, Status::healthy);
  fill("a", 600);
  auto r = runCheck(yaml());
  EXPECT_EQ(r.status, Status::degraded) << r.message;
  EXPECT_NE(r.message.find("(warn 50.0%, crit 80.0%)"), std::string::npos) << r.message;
  fill("b", 300);
  EXPECT_EQ(runCheck(yaml()).status, Status::unhealthy);
}

TEST_F(DiskCheckOnTmpfs, ReportsUsedInodesAndFreeBytes) {
  fill("a", 256);
  auto r = runCheck(yaml());
  EXPECT_NEAR(valueOf(r, "used"), 25, 1.5) << r.message;
  EXPECT_NEAR(valueOf(r, "free"), 768 * 1024, 16 * 1024);
  EXPECT_GT(valueOf(r, "inodes_used"), 0);
}

TEST_F(DiskCheckOnTmpfs, InodesCountToo) {
  for (int i = 0; i < 95; ++i) fill("f" + std::to_string(i), 0);
  auto r = runCheck(yaml());
  EXPECT_EQ(r.status, Status::unhealthy) << r.message;
  EXPECT_NE(r.message.find("inodes used"), std::string::npos);
}

TEST_F(DiskCheckOnTmpfs, TheMessageNamesTheThresholdsThatDecided) {
  for (int i = 0; i < 86; ++i) fill("f" + std::to_string(i), 0);
  auto r = runCheck("- name: d\n  type: disk\n  path: " + dir_.path.string() + "\n  inodes_warn: 50\n  inodes_crit: 85\n");
  EXPECT_EQ(r.status, Status::unhealthy) << r.message;
  EXPECT_NE(r.message.find("% space used, "), std::string::npos) << "space is fine: no thresholds after it: " << r.message;
  EXPECT_NE(r.message.find("% inodes used (warn 50.0%, crit 85.0%)"), std::string::npos) << r.message;
  EXPECT_EQ(r.message.find("warn 80.0%"), std::string::npos) << "the space thresholds decided nothing: " << r.message;
}

TEST(MemoryCheck, ReportsUsedAvailableAndSwap) {
  auto r = runCheck("- name: m\n  type: memory\n");
  EXPECT_GT(valueOf(r, "used"), 0);
  EXPECT_LT(valueOf(r, "used"), 100);
  EXPECT_GT(valueOf(r, "available"), 1 << 20);
  EXPECT_GE(valueOf(r, "swap_used"), 0);
}

TEST(MemoryCheck, TheMessageNamesTheThresholdsThatDecided) {
  auto r = runCheck("- name: m\n  type: memory\n  warn: 0\n  crit: 100\n");
  EXPECT_EQ(r.status, Status::degraded);
  EXPECT_NE(r.message.find("% used (warn 0.0%, crit 100.0%) ("), std::string::npos) << r.message;
}

TEST(DiskCheck, MissingPathIsUnhealthy) {
  auto r = runCheck("- name: d\n  type: disk\n  path: /nonexistent/medic\n");
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_EQ(r.message, "cannot stat /nonexistent/medic: No such file or directory");
}

TEST(MemoryCheck, ThresholdsAgainstThisHost) {
  EXPECT_EQ(runCheck("- name: m\n  type: memory\n  warn: 100\n  crit: 100\n").status, Status::healthy);
  EXPECT_EQ(runCheck("- name: m\n  type: memory\n  warn: 0\n  crit: 100\n").status, Status::degraded);
  EXPECT_EQ(runCheck("- name: m\n  type: memory\n  warn: 0\n  crit: 0\n").status, Status::unhealthy);
}

TEST(MemoryCheck, UsesMemAvailableNotMemFree) {
  TempDir dir;
  checks::MemorySpec spec;
  spec.memory = {80, 90};
  spec.meminfo = dir.write("meminfo",
                           "MemTotal:        1000000 kB\nMemFree:           50000 kB\nMemAvailable:     600000 kB\n"
                           "SwapTotal:       100000 kB\nSwapFree:         10000 kB\n");
  spec.swap = checks::UsageThresholds{50, 80};
  checks::MemoryCheck check(spec);
  checks::ProbeHost host;
  checks::CheckResult result;
  check.start(host.env, {}, [&](checks::CheckResult r) { result = std::move(r); });  // answers at once
  EXPECT_EQ(result.status, Status::unhealthy) << "page cache is not used memory, but 90% of swap is";
  EXPECT_EQ(result.message, "memory 40.0% used (0.6 GiB available of 1.0 GiB), swap 90.0% used (warn 50.0%, crit 80.0%)")
      << "the thresholds that decided are named";
}

}  // namespace

namespace {

std::string fileCheck(const std::string& path, const std::string& extra = "") {
  return "- name: f\n  type: file\n  path: " + path + "\n" + extra;
}

}  // namespace

TEST(FileCheck, AHeartbeatFileOlderThanMaxAgeFails) {
  TempDir dir;
  std::string beat = dir.write("beat", "ok\n");
  auto r = runCheck(fileCheck(beat, "  max_age: 15m\n"));
  EXPECT_EQ(r.status, Status::healthy) << r.message;
  EXPECT_EQ(r.message.rfind(beat + ": regular file, 3 bytes, modified ", 0), 0u) << r.message;
  ASSERT_EQ(std::system(("touch -d '3 hours ago' " + beat).c_str()), 0);
  r = runCheck(fileCheck(beat, "  max_age: 15m\n"));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_EQ(r.message.rfind(beat + " was modified 3h", 0), 0u) << r.message;
  EXPECT_NE(r.message.find(" ago (max_age 15m)"), std::string::npos) << r.message;
}

TEST(FileCheck, MissingOrMustNotExist) {
  TempDir dir;
  std::string path = (dir.path / "backup.lock").string();
  auto r = runCheck(fileCheck(path));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_EQ(r.message, path + " does not exist");
  r = runCheck(fileCheck(path, "  present: false\n"));
  EXPECT_EQ(r.status, Status::healthy);
  EXPECT_EQ(r.message, path + " does not exist, as expected");
  dir.write("backup.lock", "");
  r = runCheck(fileCheck(path, "  present: false\n"));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_EQ(r.message, path + " exists (a regular file); it must not");
}

TEST(FileCheck, ASymlinkIsReportedAndNeverFollowed) {
  TempDir dir;
  std::string real = dir.write("real", "data\n");
  std::filesystem::create_symlink(real, dir.path / "link");
  auto r = runCheck(fileCheck((dir.path / "link").string(), "  owner: root\n"));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_EQ(r.message, (dir.path / "link").string() + " is a symbolic link to " + real + "; medic does not follow it");
}

TEST(FileCheck, KindOwnerModeAndSize) {
  TempDir dir;
  std::string f = dir.write("app.conf", "abc", 0644);
  EXPECT_EQ(runCheck(fileCheck(f, "  kind: directory\n")).message, f + " is a regular file, not a directory");
  EXPECT_EQ(runCheck(fileCheck(dir.path.string(), "  kind: directory\n")).status, Status::healthy);
  ASSERT_EQ(chown(f.c_str(), 65534, 65534), 0);
  EXPECT_EQ(runCheck(fileCheck(f, "  owner: root\n")).message, f + " is owned by nobody, not root");
  EXPECT_EQ(runCheck(fileCheck(f, "  owner: nobody\n  mode: '0640'\n")).message, f + " has mode 0644, not 0640");
  EXPECT_EQ(runCheck(fileCheck(f, "  mode: '0644'\n")).status, Status::healthy);
  EXPECT_EQ(runCheck(fileCheck(f, "  min_size: 1K\n")).message, f + " is 3 bytes, less than min_size 1 KiB");
  EXPECT_EQ(runCheck(fileCheck(f, "  max_size: 2\n")).message, f + " is 3 bytes, more than max_size 2 bytes");
  EXPECT_EQ(runCheck(fileCheck(f, "  min_size: 3\n  max_size: 1M\n")).status, Status::healthy);
}
