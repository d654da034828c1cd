// state.json as read back after a crash or by an older or newer medic: fromJson either
// throws (the agent then moves the file aside and starts afresh) or gives a state that
// writes back to the same JSON, that a recovery machine can resume from, and that
// `medic report` can sum up.
#include <spdlog/spdlog.h>

#include "config/loader.h"
#include "fuzz_support.h"
#include "recovery/recovery_machine.h"
#include "recovery/report.h"
#include "recovery/state_store.h"

using namespace medic;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const config::Config cfg = [] {
    spdlog::set_level(spdlog::level::off);
    auto r = config::loadConfig(MEDIC_TESTDATA "/config/valid/medic.yaml");
    if (!r.config) fuzz::broken("the fuzz target's own config does not load: " + r.errors.str());
    return *r.config;
  }();
  recovery::SavedState state;
  try {
    state = recovery::fromJson(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const std::exception&) {
    return 0;  // refused: moved aside by StateStore::load
  }
  std::string written = recovery::toJson(state);
  recovery::SavedState again;
  try {
    again = recovery::fromJson(written);
  } catch (const std::exception& e) {
    fuzz::broken(std::string("medic cannot read back what it wrote: ") + e.what());
  }
  if (recovery::toJson(again) != written) fuzz::broken("a second write differs from the first");
  TimePoint now{std::chrono::hours(1000)};
  for (const auto& [name, s] : state.services) {
    for (const auto& spec : cfg.services) {
      recovery::RecoveryMachine machine(spec, now);
      (void)machine.resume(s.machine, now);
      (void)machine.snapshot(now);
      (void)machine.onTimer(now + std::chrono::hours(1));
    }
  }
  auto report = recovery::buildReport(state, 0, std::numeric_limits<int64_t>::max() / 2);
  (void)recovery::reportText(report);
  (void)recovery::reportJson(report);
  return 0;
}
