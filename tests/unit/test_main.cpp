#include <gtest/gtest.h>

#include "runtime/event_loop.h"

int main(int argc, char** argv) {
  medic::blockAgentSignals();  // as medic's main does, before any thread starts
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
