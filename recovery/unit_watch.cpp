#include "recovery/unit_watch.h"

namespace medic::recovery {

bool UnitWatch::report(const strategies::UnitState& state, bool onPurpose, bool stepRunning, TimePoint now) {
  bool cameUp = state.up() && !unit_.up() && unit_.known();
  if (state.up()) seenUp_ = true;
  unit_ = state;
  if (onPurpose) {
    downSince_.reset();  // down on purpose, or being brought back
  } else if (state.failed()) {
    if (!downSince_) downSince_ = now;
    cause_ = strategies::Cause::ofUnit(unitName_, {});  // until systemd's Result is read
    causeKnown_ = false;
  } else if (state.down() && seenUp_ && !stepRunning) {
    if (!downSince_) downSince_ = now;
    cause_ = strategies::Cause::stoppedBehindBack(unitName_);
    causeKnown_ = true;
  } else {
    downSince_.reset();
  }
  return cameUp;
}

bool UnitWatch::resultRead(const strategies::UnitState& state) {
  if (!downSince_ || !state.failed()) return false;
  cause_ = strategies::Cause::ofUnit(unitName_, state);
  causeKnown_ = true;
  return true;
}

bool UnitWatch::confirmedBy(TimePoint now) {
  if (!downSince_ || now < *downSince_ + kConfirm) return false;
  downSince_.reset();
  return true;
}

void UnitWatch::rewatch(TimePoint now) {
  if (unexpectedlyDown()) downSince_ = now;
}

std::optional<TimePoint> UnitWatch::confirmAt() const {
  if (!downSince_) return std::nullopt;
  return *downSince_ + kConfirm;
}

strategies::Cause UnitWatch::causeOrFailed() const {
  return cause_.known() ? cause_ : strategies::Cause::ofUnit(unitName_, {});
}

}  // namespace medic::recovery
