// The scheduled runner on the real loop and clock: hung checks never delay healthy ones.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>

#include <malloc.h>
#include <sys/socket.h>
#include <unistd.h>

#include "checks/check_runner.h"
#include "checks/probe_host.h"
#include "config/loader.h"
#include "harness.h"

using namespace medic;
using namespace medic::test;
using checks::Status;
using namespace std::chrono_literals;

namespace {

TEST(Scheduling, FiftyHungChecksDoNotDelayFiftyHealthyOnes) {
  LoopbackPeers peers;
  TempDir dir;
  std::string checks;
  for (int i = 0; i < 50; ++i) {
    // Accepted by the kernel, never answered: each of these runs into its 3 s timeout.
    checks += "      - {name: hung" + std::to_string(i) + ", type: tcp, host: 127.0.0.1, port: " +
              std::to_string(peers.port("silent")) + ", expect: never, interval: 4s, timeout: 3s}\n";
    checks += "      - {name: ok" + std::to_string(i) + ", type: http, url: '" + peers.url("/ok") +
              "', interval: 1s, timeout: 900ms}\n";
  }
  std::string file = dir.write("medic.yaml", "agent: {timer_slack: 5ms}\nservices:\n  s:\n    unit: s.service\n    checks:\n" + checks);
  auto loaded = config::loadConfig(file);
  ASSERT_TRUE(loaded.config) << loaded.errors.str();

  checks::ProbeHost host;
  struct Run {
    TimePoint started, finished;
  };
  std::map<std::string, std::vector<Run>> runs;
  std::map<std::string, int> unhealthy;
  checks::CheckRunner runner(host.loop, host.env, loaded.config->agent.timerSlack,
                            [&](const checks::ScheduledCheck& c, const checks::CheckResult& r) {
                              auto now = std::chrono::steady_clock::now();
                              runs[c.spec.name].push_back({now - r.duration, now});
                              if (r.status != Status::healthy) ++unhealthy[c.spec.name];
                            });
  for (const auto& c : loaded.config->services[0].checks) runner.add("s", c);
  std::vector<uint32_t> late;
  runner.keepLatenessIn(&late);
  runner.start();
  // Run until every hung check has timed out twice: the healthy ones lived through it all.
  auto until = std::chrono::steady_clock::now() + 60s;
  auto hungDoneTwice = [&] {
    for (int i = 0; i < 50; ++i)
      if (runs["hung" + std::to_string(i)].size() < 2) return false;
    return true;
  };
  while (!hungDoneTwice() && std::chrono::steady_clock::now() < until) host.loop.runOnce(100ms);
  ASSERT_TRUE(hungDoneTwice());

  // While each hung run waited out its timeout, healthy runs went on finishing: a runner that
  // waited for it would have finished none. (Counted, not timed: a loaded machine runs fewer
  // of them, never none.)
  std::vector<TimePoint> okFinished;
  for (int i = 0; i < 50; ++i)
    for (const auto& r : runs["ok" + std::to_string(i)]) okFinished.push_back(r.finished);
  for (int i = 0; i < 50; ++i) {
    std::string name = "ok" + std::to_string(i);
    EXPECT_EQ(unhealthy[name], 0) << name << " failed while others hung";
    EXPECT_GE(runs[name].size(), 2u) << name;
    std::string hung = "hung" + std::to_string(i);
    EXPECT_EQ(unhealthy[hung], static_cast<int>(runs[hung].size()));
    for (const auto& h : runs[hung]) {
      auto during = std::count_if(okFinished.begin(), okFinished.end(),
                                  [&](TimePoint t) { return t > h.started && t < h.finished; });
      EXPECT_GE(during, 1) << hung << ": no healthy check finished while it hung";
    }
  }
  std::sort(late.begin(), late.end());
  std::cout << "[ figures  ] " << runner.started() << " starts, lateness p50 " << late[late.size() / 2] / 1000.0
            << " ms, p99 " << late[late.size() * 99 / 100] / 1000.0 << " ms\n";
}

// A listening socket on loopback that the test opens and closes.
class Listener {
 public:
  Listener() { open(); }
  ~Listener() { close(); }
  void reopen() { open(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int port() const { return port_; }

 private:
  void open() {  // first on a port the kernel chooses, then again on that one
    fd_ = bindLoopback(port_);
    if (fd_ < 0 || listen(fd_, 64) != 0) ADD_FAILURE() << "listen on 127.0.0.1:" << port_ << ": " << std::strerror(errno);
  }
  int fd_ = -1;
  int port_ = 0;
};

// A failing check is run again at its failing_interval, not its interval, until one run passes:
// with a 10 s interval, five failures and the pass after the port opens all come within the
// first interval (without failing_interval the second run would be 10 s after the first).
TEST(Scheduling, AFailingCheckIsRerunAtItsFailingIntervalUntilItPasses) {
  Listener port;
  port.close();  // refused: the check fails
  TempDir dir;
  std::string file = dir.write("medic.yaml",
                               "services:\n  s:\n    unit: s.service\n    checks:\n"
                               "      - {name: port, type: tcp, host: 127.0.0.1, port: " + std::to_string(port.port()) +
                                   ", interval: 10s, initial_delay: 0s, failing_interval: 100ms, timeout: 2s}\n");
  auto loaded = config::loadConfig(file);
  ASSERT_TRUE(loaded.config) << loaded.errors.str();
  checks::ProbeHost host;
  std::vector<Status> results;
  checks::CheckRunner runner(host.loop, host.env, 1ms, [&](const checks::ScheduledCheck&, const checks::CheckResult& r) {
    results.push_back(r.status);
  });
  runner.add("s", loaded.config->services[0].checks[0]);
  auto firstInterval = std::chrono::steady_clock::now() + 10s;
  runner.start();
  auto runUntil = [&](size_t n) {
    while (results.size() < n && std::chrono::steady_clock::now() < firstInterval) host.loop.runOnce(100ms);
    return results.size() >= n;
  };
  ASSERT_TRUE(runUntil(5)) << results.size() << " runs within the first interval";
  for (Status st : results) EXPECT_EQ(st, Status::unhealthy);
  port.reopen();
  while (results.back() != Status::healthy && std::chrono::steady_clock::now() < firstInterval) host.loop.runOnce(100ms);
  EXPECT_EQ(results.back(), Status::healthy) << "no pass within the first interval once the port opened";
}

// Heap bytes in use (malloc's arenas and its own mmaps).
size_t heapInUse() {
  struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

// A long run's memory does not grow with its runs: medic runs for months, and anything kept
// per start (once, each start's lateness, 4 bytes, up to 4 MB and without bound across
// reloads) shows as a slow climb. 1,000 checks every 100 ms: the heap in use after 30,000
// more starts is what it was after the first 5,000.
TEST(Scheduling, MemoryDoesNotGrowWithRuns) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's allocator does not report through mallinfo2";
#endif
  TempDir dir;
  std::string there = dir.write("there", "x");
  std::string yaml = "services:\n  s:\n    unit: s.service\n    checks:\n";
  for (int i = 0; i < 1000; ++i)
    yaml += "      - {name: f" + std::to_string(i) + ", type: file, path: '" + there + "', interval: 100ms}\n";
  auto loaded = config::loadConfig(dir.write("medic.yaml", yaml));
  ASSERT_TRUE(loaded.config) << loaded.errors.str();
  checks::ProbeHost host;
  uint64_t results = 0;
  checks::CheckRunner runner(host.loop, host.env, 1ms, [&](const checks::ScheduledCheck&, const checks::CheckResult&) { ++results; });
  for (const auto& c : loaded.config->services[0].checks) runner.add("s", c);
  runner.start();
  ASSERT_TRUE(runLoopUntil(host.loop, [&] { return results >= 5000; }, 120s));
  size_t settled = heapInUse();
  ASSERT_TRUE(runLoopUntil(host.loop, [&] { return results >= 35000; }, 120s));
  size_t after = heapInUse();
  EXPECT_LT(after, settled + 32 * 1024) << "the heap grew by " << (after - settled) << " bytes over 30,000 starts";
}

}  // namespace
