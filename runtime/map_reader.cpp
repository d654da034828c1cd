#include "runtime/map_reader.h"

#include <cmath>
#include <cstdlib>

#include "runtime/text.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <map>
#include <climits>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace medic {

Position positionOf(const YAML::Node& node, const std::string& file) {
  YAML::Mark m = node.Mark();
  if (m.line < 0) return {file, 0, 0};
  return {file, m.line + 1, m.column + 1};
}

std::string quoteValue(const std::string& value) { return "'" + escapeText(value, 80) + "'"; }

MapReader::MapReader(const YAML::Node& node, std::string what, std::string file, ErrorList& errors)
    : what_(std::move(what)), file_(std::move(file)), errors_(errors), position_(medic::positionOf(node, file_)) {
  if (!node.IsDefined() || node.IsNull()) {
    valid_ = true;  // an empty mapping: every key takes its default
    return;
  }
  if (!node.IsMap()) {
    errors_.add(position_, prefix() + "expected a mapping of keys to values");
    return;
  }
  valid_ = true;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) {
      errors_.add(medic::positionOf(it->first, file_), prefix() + "keys must be plain words");
      continue;
    }
    std::string key = it->first.Scalar();
    auto [pos, inserted] = entries_.emplace(key, Entry{it->first, it->second});
    if (!inserted) {
      errors_.add(medic::positionOf(it->first, file_),
                  prefix() + "duplicate key '" + key + "' (first at line " +
                      std::to_string(pos->second.key.Mark().line + 1) + ")");
      continue;
    }
    order_.push_back(key);
  }
}

std::string MapReader::prefix() const { return what_.empty() ? "" : what_ + ": "; }

Position MapReader::positionOf(const std::string& key) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return position_;
  Position p = medic::positionOf(it->second.value, file_);
  // A null value (`key:` with nothing after it) has no mark of its own.
  return p.line > 0 ? p : medic::positionOf(it->second.key, file_);
}

void MapReader::error(const std::string& key, const std::string& message) {
  errors_.add(positionOf(key), prefix() + message);
}

void MapReader::error(const std::string& message) { errors_.add(position_, prefix() + message); }

YAML::Node MapReader::node(const std::string& key) {
  known_.insert(key);
  auto it = entries_.find(key);
  return it == entries_.end() ? YAML::Node(YAML::NodeType::Undefined) : it->second.value;
}

bool MapReader::require(const std::string& key) {
  known_.insert(key);
  auto it = entries_.find(key);
  if (it != entries_.end() && !it->second.value.IsNull()) return true;
  if (valid_) errors_.add(position_, prefix() + "missing required key '" + key + "'");
  return false;
}

bool MapReader::scalar(const std::string& key, const YAML::Node& value, const char* expected) {
  if (value.IsScalar()) return true;
  error(key, "'" + key + "' must be " + expected);
  return false;
}

bool MapReader::read(const std::string& key, std::string& out) {
  YAML::Node v = node(key);
  if (!v.IsDefined()) return false;
  if (!scalar(key, v, "a string")) return false;
  out = v.Scalar();
  return true;
}

bool MapReader::read(const std::string& key, bool& out) {
  YAML::Node v = node(key);
  if (!v.IsDefined()) return false;
  if (!scalar(key, v, "true or false")) return false;
  const std::string& s = v.Scalar();
  if (s == "true" || s == "yes" || s == "on") out = true;
  else if (s == "false" || s == "no" || s == "off") out = false;
  else {
    error(key, "'" + key + "' must be true or false, got " + quoteValue(s));
    return false;
  }
  return true;
}

bool MapReader::read(const std::string& key, int& out, int min, int max) {
  YAML::Node v = node(key);
  if (!v.IsDefined()) return false;
  if (!scalar(key, v, "a whole number")) return false;
  const std::string& s = v.Scalar();
  char* end = nullptr;
  errno = 0;
  long value = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno == ERANGE) {
    error(key, "'" + key + "' must be a whole number, got " + quoteValue(s));
    return false;
  }
  if (value < min || value > max) {
    error(key, "'" + key + "' must be between " + std::to_string(min) + " and " + std::to_string(max) +
                   ", got " + s);
    return false;
  }
  out = static_cast<int>(value);
  return true;
}

bool MapReader::readNumber(const std::string& key, double& out) {
  YAML::Node v = node(key);
  if (!v.IsDefined()) return false;
  if (!scalar(key, v, "a number")) return false;
  const std::string& text = v.Scalar();
  char* end = nullptr;
  double n = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(n)) {
    error(key, "'" + key + "' must be a number, got " + quoteValue(text));
    return false;
  }
  out = n;
  return true;
}

bool MapReader::readBytes(const std::string& key, uint64_t& out) {
  YAML::Node v = node(key);
  if (!v.IsDefined()) return false;
  if (!scalar(key, v, "a size like 512, 10K, 5M or 1G")) return false;
  const std::string& text = v.Scalar();
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  static const std::map<std::string, int> kShift = {{"", 0},    {"B", 0},    {"K", 10},   {"KiB", 10}, {"M", 20},
                                                    {"MiB", 20}, {"G", 30},  {"GiB", 30}, {"T", 40},   {"TiB", 40}};
  std::string unit = text.substr(digits);
  auto shift = kShift.find(unit);
  uint64_t n = 0;
  bool ok = digits > 0 && digits <= 15 && shift != kShift.end();
  if (ok) {
    n = std::stoull(text.substr(0, digits));
    ok = n <= (UINT64_MAX >> 20) >> shift->second;  // room to spare
  }
  if (!ok) {
    error(key, "'" + key + "' must be a size like 512, 10K, 5M or 1G, got " + quoteValue(text));
    return false;
  }
  out = n << shift->second;
  return true;
}

bool MapReader::read(const std::string& key, Duration& out, Duration min) {
  YAML::Node v = node(key);
  if (!v.IsDefined()) return false;
  if (!scalar(key, v, "a duration like 500ms, 10s or 5m")) return false;
  bool tooLong = false;
  auto d = parseDuration(v.Scalar(), &tooLong);
  if (tooLong) {
    error(key, "'" + key + "' must be at most " + kMaxDurationText + ", got " + quoteValue(v.Scalar()));
    return false;
  }
  if (!d) {
    error(key, "'" + key + "' must be a duration like 500ms, 10s or 5m, got " + quoteValue(v.Scalar()));
    return false;
  }
  if (*d < min) {
    error(key, "'" + key + "' must be at least " + formatDuration(min) + ", got " + v.Scalar());
    return false;
  }
  out = *d;
  return true;
}

bool MapReader::read(const std::string& key, std::optional<Duration>& out) {
  Duration d{};
  if (!read(key, d)) return false;
  out = d;
  return true;
}

bool MapReader::read(const std::string& key, std::vector<std::string>& out) {
  YAML::Node v = node(key);
  if (!v.IsDefined() || v.IsNull()) return false;
  if (v.IsScalar()) {  // a single value is a list of one
    out = {v.Scalar()};
    return true;
  }
  if (!v.IsSequence()) {
    error(key, "'" + key + "' must be a list of strings");
    return false;
  }
  std::vector<std::string> values;
  bool ok = true;
  for (const auto& item : v) {
    if (!item.IsScalar()) {
      errors_.add(medic::positionOf(item, file_), prefix() + "'" + key + "' must be a list of strings");
      ok = false;
      continue;
    }
    values.push_back(item.Scalar());
  }
  if (ok) out = std::move(values);
  return ok;
}

bool MapReader::read(const std::string& key, std::map<std::string, std::string>& out) {
  YAML::Node v = node(key);
  if (!v.IsDefined() || v.IsNull()) return false;
  if (!v.IsMap()) {
    error(key, "'" + key + "' must be a mapping of names to strings");
    return false;
  }
  bool ok = true;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (!it->first.IsScalar() || !it->second.IsScalar()) {
      errors_.add(medic::positionOf(it->first, file_), prefix() + "'" + key + "' must map names to strings");
      ok = false;
      continue;
    }
    out[it->first.Scalar()] = it->second.Scalar();
  }
  return ok;
}

bool MapReader::readPercent(const std::string& key, double& out, double max) {
  YAML::Node v = node(key);
  if (!v.IsDefined()) return false;
  if (!scalar(key, v, "a percentage")) return false;
  std::string s = v.Scalar();
  if (!s.empty() && s.back() == '%') s.pop_back();
  char* end = nullptr;
  double value = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !(value >= 0 && value <= max)) {
    error(key, "'" + key + "' must be a percentage between 0 and " + std::to_string(int64_t(max)) + ", got " + quoteValue(v.Scalar()));
    return false;
  }
  out = value;
  return true;
}

void MapReader::finish(const std::vector<std::string>& alsoAllowed) {
  for (const auto& k : alsoAllowed) known_.insert(k);
  std::vector<std::string> candidates(known_.begin(), known_.end());
  for (const auto& key : order_) {
    if (known_.count(key)) continue;
    std::string message = prefix() + "unknown key '" + key + "'";
    if (auto guess = closest(key, candidates)) message += " (did you mean '" + *guess + "'?)";
    errors_.add(medic::positionOf(entries_.at(key).key, file_), message);
  }
}

std::optional<std::string> closest(const std::string& word, const std::vector<std::string>& candidates) {
  auto distance = [](const std::string& a, const std::string& b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      size_t diagonal = row[0];
      row[0] = i;
      for (size_t j = 1; j <= b.size(); ++j) {
        size_t above = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
        diagonal = above;
      }
    }
    return row[b.size()];
  };
  std::optional<std::string> best;
  size_t bestDistance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    size_t d = distance(word, c);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best;
}

}  // namespace medic
