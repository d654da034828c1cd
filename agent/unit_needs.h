#pragma once
/// What systemd says each unit needs, for `depends_on: systemd` (config/loader.h UnitNeeds):
/// its Requires=, BindsTo= and Requisite=, read over D-Bus. A load is rare and asks once per
/// such service, so the reader calls synchronously on a connection of its own, opened at its
/// first question and kept as long as the reader (the agent's own connection lives on the loop).
#include "config/loader.h"
#include "strategies/dbus_systemd_client.h"

namespace medic::agent {

/// Each question waits at most `timeout`; once systemd could not be reached, the rest are
/// answered with that error at once (a load never waits on a dead bus once per service).
config::UnitNeedsReader systemdUnitNeeds(const strategies::DbusEndpoint& endpoint = {}, Duration timeout = std::chrono::seconds(2));

}  // namespace medic::agent
