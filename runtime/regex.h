#pragma once
/// POSIX extended regular expressions (glibc's matcher). Chosen over std::regex because
/// libstdc++'s backtracking recurses per input character and can overflow the stack on
/// the 64 KiB bodies we search; glibc's does not, and handles embedded NUL bytes.
#include <regex.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace medic {

class Regex {
 public:
  /// The budget every pattern must fit (documented in docs/config.md): compiling one that
  /// fits takes milliseconds, never minutes, whatever it says.
  static constexpr size_t kMaxPatternBytes = 4096;
  static constexpr int kMaxRepeat = 1000;        ///< the largest count in {m,n}
  static constexpr size_t kMaxNesting = 32;      ///< groups inside groups
  static constexpr uint64_t kMaxWeight = 5000;   ///< atoms after expanding every repeat

  /// nullopt and `error` set when the pattern does not compile.
  static std::optional<Regex> compile(const std::string& pattern, std::string& error);
  bool search(std::string_view text) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  std::shared_ptr<regex_t> compiled_;
};

}  // namespace medic
