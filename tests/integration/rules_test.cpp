// Rules in the running agent against a real server on loopback: its latency raised and
// lowered by hand, a p95 rule degrades the check and clears, as the journal tells it.
#include <gtest/gtest.h>

#include "harness.h"

using namespace medic::test;
using namespace std::chrono_literals;

namespace {

TEST(RulesInTheAgent, AP95LatencyRuleDegradesASlowServerAndClears) {
  LoopbackPeers& peers = sharedPeers();
  auto setLatency = [&](int ms) {
    auto out = capture("curl -fsS " + peers.url("/latency/set/" + std::to_string(ms)));
    ASSERT_EQ(out.code, 0) << out.text;
  };
  setLatency(0);
  TempDir dir;
  // The timeout is longer than the slow answers: the check passes, and its rule judges the
  // latency it measured.
  std::string config = dir.write(
      "medic.yaml", "agent: {state_dir: " + dir.file("state") + "}\nservices:\n  web:\n    unit: web.service\n"
                    "    recovery: {enabled: false}\n    checks:\n"
                    "      - name: h\n        type: http\n        url: " + peers.url("/latency") + "\n"
                    "        interval: 500ms\n        timeout: 450ms\n        critical: false\n"
                    "        rules:\n          - {value: time, stat: p95, over: 4s, above: 150ms, min_samples: 2}\n");
  Subprocess agent({MEDIC_BINARY, "run", "-c", config}, true);
  agent.readUntil("web/h: first result -> healthy", 10s);
  setLatency(300);
  auto lines = agent.readUntil("web/h: healthy -> degraded: HTTP 200; p95 of time over 4s is", 15s);
  EXPECT_NE(lines.back().find(", above 150ms"), std::string::npos) << lines.back();
  setLatency(0);
  agent.readUntil("web/h: degraded -> healthy: HTTP 200", 15s);  // once the slow runs leave the 4s window
}

}  // namespace
