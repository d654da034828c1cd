// The event loop's posts: one made for an object that is gone by its turn never runs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "runtime/event_loop.h"

using namespace medic;

// A post is served on a later turn, and a reload or reconnect may replace the object that
// made it meanwhile. (Posts are always ready: each turn serves one, so a few turns serve all.)
TEST(OwnedPosts, APostWaitingWhenItsOwnerIsGoneNeverRunsAndTheOthersDo) {
  EventLoop loop;
  std::vector<std::string> ran;
  auto kept = std::make_unique<OwnedPosts>(loop);
  auto gone = std::make_unique<OwnedPosts>(loop);
  kept->post([&] { ran.push_back("kept"); });
  gone->post([&] { ran.push_back("gone"); });
  loop.post([&] { ran.push_back("plain"); });
  EXPECT_TRUE(ran.empty()) << "run inside post()";
  gone.reset();
  for (int turn = 0; turn < 10; ++turn) loop.runOnce(std::chrono::milliseconds(0));
  EXPECT_THAT(ran, testing::UnorderedElementsAre("kept", "plain"));
}
