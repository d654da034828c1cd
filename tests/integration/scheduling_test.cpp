// The scheduled runner on the real loop and clock: hung checks never delay healthy ones.
#include <gtest/gtest.h>

#include <map>

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
    // Accepted by the kernel, never answered: each of these runs into its 1.5 s timeout.
    checks += "      - {name: hung" + std::to_string(i) + ", type: tcp, host: 127.0.0.1, port: " +
              std::to_string(peers.port("silent")) + ", expect: never, interval: 2s, timeout: 1500ms}\n";
    checks += "      - {name: ok" + std::to_string(i) + ", type: http, url: '" + peers.url("/ok") +
              "', interval: 400ms, timeout: 350ms}\n";
  }
  std::string file = dir.write("medic.yaml", "agent: {timer_slack: 5ms}\nservices:\n  s:\n    unit: s.service\n    checks:\n" + checks);
  auto loaded = config::loadConfig(file);
  ASSERT_TRUE(loaded.config) << loaded.errors.str();

  checks::ProbeHost host;
  std::map<std::string, std::vector<TimePoint>> finishes;
  std::map<std::string, int> unhealthy;
  checks::CheckRunner runner(host.loop, host.env, loaded.config->agent.timerSlack,
                            [&](const checks::ScheduledCheck& c, const checks::CheckResult& r) {
                              finishes[c.spec.name].push_back(std::chrono::steady_clock::now());
                              if (r.status != Status::healthy) ++unhealthy[c.spec.name];
                            });
  for (const auto& c : loaded.config->services[0].checks) runner.add("s", c);
  runner.start();
  // Run until every hung check has timed out twice: the healthy ones lived through it all.
  auto until = std::chrono::steady_clock::now() + 30s;
  auto hungDoneTwice = [&] {
    for (int i = 0; i < 50; ++i)
      if (finishes["hung" + std::to_string(i)].size() < 2) return false;
    return true;
  };
  while (!hungDoneTwice() && std::chrono::steady_clock::now() < until) host.loop.runOnce(100ms);
  ASSERT_TRUE(hungDoneTwice());

  for (int i = 0; i < 50; ++i) {
    std::string name = "ok" + std::to_string(i);
    EXPECT_EQ(unhealthy[name], 0) << name << " failed while others hung";
    EXPECT_EQ(unhealthy["hung" + std::to_string(i)], static_cast<int>(finishes["hung" + std::to_string(i)].size()));
    const auto& f = finishes[name];
    ASSERT_GE(f.size(), 5u) << name;
    // A serial runner would leave gaps of the hung checks' 1.5 s timeouts; here each healthy
    // check keeps its 400 ms rhythm. (The bound and the healthy checks' 350 ms timeout are
    // generous: a loaded CI host, under ASan, has been seen to keep the loopback peer from
    // answering within 150 ms.)
    for (size_t k = 1; k < f.size(); ++k)
      EXPECT_LT(f[k] - f[k - 1], 1200ms) << name << " run " << k << " came late";
  }
  std::vector<uint32_t> late = runner.latenessMicros();
  std::sort(late.begin(), late.end());
  std::cout << "[ figures  ] " << runner.started() << " starts, lateness p50 " << late[late.size() / 2] / 1000.0
            << " ms, p99 " << late[late.size() * 99 / 100] / 1000.0 << " ms\n";
}

}  // namespace
