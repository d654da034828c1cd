#include <gtest/gtest.h>

#include <cstdlib>

#include "recovery/recovery_machine.h"
#include "runtime/event_loop.h"

namespace {

// With MEDIC_TRANSITION_COVERAGE set (the ctest unit.every_transition_is_taken), the run
// fails when a row of the recovery machine's transition table was taken by no test.
class TransitionCoverage : public testing::Environment {
 public:
  void TearDown() override {
    auto taken = medic::recovery::RecoveryMachine::transitionsTaken();
    for (size_t row = 0; row < taken.size(); ++row)
      if (taken[row] == 0) ADD_FAILURE() << "no test takes " << medic::recovery::RecoveryMachine::describeTransition(row);
  }
};

}  // namespace

int main(int argc, char** argv) {
  medic::blockAgentSignals();  // as medic's main does, before any thread starts
  testing::InitGoogleTest(&argc, argv);
  if (std::getenv("MEDIC_TRANSITION_COVERAGE")) testing::AddGlobalTestEnvironment(new TransitionCoverage);
  return RUN_ALL_TESTS();
}
