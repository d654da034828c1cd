#include "strategies/systemd_client.h"

#include <array>
#include <utility>

namespace medic::strategies {

namespace {
constexpr std::array<std::pair<ActiveState, std::string_view>, 9> kActiveWords{{
    {ActiveState::unknown, ""},
    {ActiveState::active, "active"},
    {ActiveState::reloading, "reloading"},
    {ActiveState::inactive, "inactive"},
    {ActiveState::failed, "failed"},
    {ActiveState::activating, "activating"},
    {ActiveState::deactivating, "deactivating"},
    {ActiveState::maintenance, "maintenance"},
    {ActiveState::refreshing, "refreshing"},
}};
}  // namespace

std::string_view toString(ActiveState state) {
  for (const auto& [s, word] : kActiveWords)
    if (s == state) return word;
  return "";
}

ActiveState parseActiveState(std::string_view word) {
  for (const auto& [s, w] : kActiveWords)
    if (!word.empty() && w == word) return s;
  return ActiveState::unknown;
}

std::string UnitState::words() const {
  return std::string(known() ? toString(activeState) : "unknown") + " (" + subState + ")";
}

std::string_view toString(JobKind kind) {
  switch (kind) {
    case JobKind::start: return "start";
    case JobKind::stop: return "stop";
    case JobKind::restart: return "restart";
    case JobKind::reload: return "reload";
    case JobKind::reloadOrRestart: return "reload-or-restart";
  }
  return "?";
}

}  // namespace medic::strategies
