#include "runtime/names.h"

#include <array>
#include <string_view>

namespace medic {

static bool allowedIn(char c, std::string_view extra) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         extra.find(c) != std::string_view::npos;
}

bool isValidName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!allowedIn(c, "._-@")) return false;
  return true;
}

bool isValidUnitName(const std::string& name) {
  static constexpr std::array<std::string_view, 11> kSuffixes = {
      ".service", ".socket", ".target", ".mount", ".automount", ".swap",
      ".timer",   ".path",   ".slice",  ".scope", ".device"};
  if (name.empty() || name.size() > 255) return false;
  size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return false;
  bool known = false;
  for (auto s : kSuffixes) known = known || name.compare(dot, std::string::npos, s) == 0;
  if (!known) return false;
  for (size_t i = 0; i < dot; ++i)
    if (!allowedIn(name[i], ":-_.\\@")) return false;
  return true;
}

}  // namespace medic
