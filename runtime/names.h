#pragma once
/// Names medic accepts for services, checks and systemd units.
#include <string>

namespace medic {

/// Service and check names: letters, digits, '.', '_', '-', '@'; 1-64 characters.
bool isValidName(const std::string& name);

/// A full systemd unit name with a known suffix ("nginx.service", "getty@tty1.service").
bool isValidUnitName(const std::string& name);

}  // namespace medic
