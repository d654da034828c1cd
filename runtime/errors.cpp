#include "runtime/errors.h"

#include "runtime/text.h"

#include <algorithm>
#include <tuple>

namespace medic {

std::string Position::str() const {
  if (line <= 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string ConfigError::str() const { return where.str() + ": " + message; }

// Messages quote what was written (keys, values, the YAML parser's own words about them):
// escaped here once, so that no error spills over several lines or carries raw bytes.
void ErrorList::add(Position where, std::string message) {
  where.file = escapeText(where.file);
  errors_.push_back({std::move(where), escapeText(message)});
}

std::string ErrorList::str() const {
  std::vector<ConfigError> sorted = errors_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const ConfigError& a, const ConfigError& b) {
    return std::tie(a.where.file, a.where.line, a.where.column) <
           std::tie(b.where.file, b.where.line, b.where.column);
  });
  std::string out;
  for (const auto& e : sorted) out += e.str() + "\n";
  return out;
}

}  // namespace medic
