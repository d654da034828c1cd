#pragma once
/// Config errors that carry the position of the offending text, so an operator can
/// jump straight to it: "checks.d/web.yaml:12:5: unknown key 'intervall' (did you mean 'interval'?)".
#include <string>
#include <vector>

namespace medic {

/// Where something was written. line/column are 1-based; 0 means "the file as a whole".
struct Position {
  std::string file;
  int line = 0;
  int column = 0;

  std::string str() const;
};

struct ConfigError {
  Position where;
  std::string message;

  /// "file:line:col: message", the form compilers use and editors understand.
  std::string str() const;
};

/// Collects every error of one load, so a single `medic validate` shows them all.
class ErrorList {
 public:
  void add(Position where, std::string message);
  bool empty() const { return errors_.empty(); }
  size_t size() const { return errors_.size(); }
  const std::vector<ConfigError>& all() const { return errors_; }
  /// All errors, one per line, sorted by file and position.
  std::string str() const;

 private:
  std::vector<ConfigError> errors_;
};

}  // namespace medic
