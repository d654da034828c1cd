#pragma once
/// Strict, position-aware reading of one YAML mapping. Every typed read marks its key as
/// known; finish() then rejects what is left (with a "did you mean"). Errors go to a shared
/// ErrorList so one load reports everything it finds, each with file:line:col.
#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "runtime/duration.h"
#include "runtime/errors.h"

namespace medic {

Position positionOf(const YAML::Node& node, const std::string& file);

class MapReader {
 public:
  /// `what` names the mapping in messages ("check 'health'"); an empty `what` is the file itself.
  MapReader(const YAML::Node& node, std::string what, std::string file, ErrorList& errors);

  bool valid() const { return valid_; }
  const std::string& file() const { return file_; }
  const std::string& what() const { return what_; }
  ErrorList& errors() { return errors_; }
  Position position() const { return position_; }
  /// Position of key's value, or of the mapping when the key is absent.
  Position positionOf(const std::string& key) const;
  bool has(const std::string& key) const { return entries_.count(key) > 0; }

  /// The raw value (marks the key known); an undefined node when absent.
  YAML::Node node(const std::string& key);
  /// Reports "missing required key" unless key is present; returns whether it is.
  bool require(const std::string& key);

  // Typed reads. Absent keys leave `out` untouched and return false; present but
  // ill-typed values are reported and also return false.
  bool read(const std::string& key, std::string& out);
  bool read(const std::string& key, bool& out);
  bool read(const std::string& key, int& out, int min, int max);
  bool read(const std::string& key, Duration& out, Duration min = Duration::zero());
  bool read(const std::string& key, std::optional<Duration>& out);
  bool read(const std::string& key, std::vector<std::string>& out);
  bool read(const std::string& key, std::map<std::string, std::string>& out);
  /// A size: 512, "512B", "10K", "10KiB", "5M", "1G", "2T" (K, M, G, T are 1024-based, as
  /// systemd counts them).
  bool readBytes(const std::string& key, uint64_t& out);
  /// "80", 80 or "80%": a percentage in [0, max] (100 unless a share may exceed the whole).
  bool readPercent(const std::string& key, double& out, double max = 100);
  /// A finite number: 3, 0.5, -2, 1e6.
  bool readNumber(const std::string& key, double& out);

  /// Reports an error about key's value (or about the mapping when absent).
  void error(const std::string& key, const std::string& message);
  /// Reports an error about the mapping as a whole.
  void error(const std::string& message);

  /// Rejects every key no read() asked for.
  void finish(const std::vector<std::string>& alsoAllowed = {});

 private:
  std::string prefix() const;
  bool scalar(const std::string& key, const YAML::Node& value, const char* expected);

  struct Entry {
    YAML::Node key;
    YAML::Node value;
  };
  std::map<std::string, Entry> entries_;
  std::vector<std::string> order_;
  std::set<std::string> known_;
  std::string what_;
  std::string file_;
  ErrorList& errors_;
  Position position_;
  bool valid_ = false;
};

/// Levenshtein-closest candidate within a small distance, for "did you mean".
std::optional<std::string> closest(const std::string& word, const std::vector<std::string>& candidates);

/// Quotes a user value for a message, escaping control bytes and cutting it short.
std::string quoteValue(const std::string& value);

}  // namespace medic
