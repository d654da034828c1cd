#pragma once
/// Regular expressions in RE2's syntax (the one Prometheus and Alertmanager use), matched by
/// RE2. Chosen over glibc's POSIX matcher, whose regcomp() has no budget: the fuzzer found
/// 16-byte patterns such as `()+{,10}{6}` that compile for minutes and 2 KB ones that take
/// gigabytes, and a pattern is configuration an operator may paste from anywhere. RE2
/// compiles within a memory budget and matches in time linear in the text, with no
/// recursion per character (the 64 KiB bodies we search) and with embedded NUL bytes.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace re2 {
class RE2;
}

namespace medic {

class Regex {
 public:
  /// The budget every pattern must fit (documented in docs/config.md): compiling one that
  /// fits takes milliseconds, never minutes, whatever it says.
  static constexpr size_t kMaxPatternBytes = 4096;
  static constexpr int kMaxRepeat = 1000;        ///< the largest count in {m,n}
  static constexpr size_t kMaxNesting = 32;      ///< groups inside groups
  static constexpr uint64_t kMaxWeight = 5000;   ///< atoms after expanding every repeat
  static constexpr int64_t kMaxMemoryBytes = 1 << 20;  ///< RE2's budget for one compiled pattern

  /// nullopt and `error` set when the pattern does not compile.
  static std::optional<Regex> compile(const std::string& pattern, std::string& error);
  bool search(std::string_view text) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  std::shared_ptr<const re2::RE2> compiled_;
};

}  // namespace medic
