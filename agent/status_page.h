#pragma once
/// The status page at `/`: every service with its health, recovery phase and pause; every
/// check with its status, last message and a chart of its latest durations (inline SVG drawn
/// here: no script, no external asset, so it works offline on a locked-down host); the
/// recovery history as a timeline; the alerts firing. Status is said in words and symbols as
/// well as colours (a palette colour-blind people can tell apart); it refreshes itself.
#include <string>
#include <vector>

#include "agent/supervisor.h"
#include "alerts/alert.h"

namespace medic::agent {

std::string statusPage(const Supervisor& supervisor, const std::vector<alerts::Notification>& firing);

}  // namespace medic::agent
