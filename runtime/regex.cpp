#include "runtime/regex.h"

#include <re2/re2.h>

#include <algorithm>
#include <vector>

namespace medic {

namespace {

// A pattern is weighed before it is compiled, so that the budget is said in the operator's
// terms (a repeat count, a nesting depth, how far the repeats expand) rather than as RE2's
// "pattern too large": each atom weighs 1, a group the sum of its parts, a repeat {m,n} n
// times what it repeats. This is a bound, not a parser: anything it misreads it
// over-counts. RE2's own memory budget stays the guard behind it.
struct Weight {
  uint64_t total = 0;
  size_t depth = 0;
  int largestBound = 0;
  uint64_t nestedProduct = 1;  ///< the largest product of repeat counts nested in each other
};

Weight weigh(const std::string& p) {
  constexpr uint64_t kCap = uint64_t(1) << 40;  // saturate: the answer is "too much" anyway
  struct Frame {
    uint64_t size = 0;         // the sum of its elements so far
    uint64_t last = 0;         // the last element's weight, for a repeat that follows it
    uint64_t product = 1;      // the largest product of nested repeat counts among its elements
    uint64_t lastProduct = 1;  // the same for its last element
  };
  std::vector<Frame> stack(1);
  Weight w;
  auto add = [&](uint64_t cost, uint64_t product = 1) {
    Frame& f = stack.back();
    f.size = std::min(kCap, f.size + cost);
    f.last = cost;
    f.lastProduct = product;
    f.product = std::max(f.product, product);
  };
  size_t i = 0;
  while (i < p.size()) {
    char c = p[i];
    if (c == '\\') {
      i += 2;
      add(1);
    } else if (c == '[') {  // a bracket expression is one atom: skip to its closing ']'
      size_t j = i + 1;
      if (j < p.size() && p[j] == '^') ++j;
      if (j < p.size() && p[j] == ']') ++j;
      while (j < p.size() && p[j] != ']') {
        if (p[j] == '[' && j + 1 < p.size() && (p[j + 1] == ':' || p[j + 1] == '.' || p[j + 1] == '=')) {
          size_t end = p.find(std::string(1, p[j + 1]) + "]", j + 2);
          j = end == std::string::npos ? p.size() : end + 2;
        } else {
          ++j;
        }
      }
      i = j + 1;
      add(1);
    } else if (c == '(') {
      stack.emplace_back();
      w.depth = std::max(w.depth, stack.size() - 1);
      ++i;
    } else if (c == ')' && stack.size() > 1) {
      uint64_t inner = std::max<uint64_t>(1, stack.back().size);
      uint64_t product = stack.back().product;
      stack.pop_back();
      add(inner, product);
      ++i;
    } else if (c == '{') {
      size_t j = i + 1;
      auto number = [&](int& out) {
        size_t start = j;
        out = 0;
        while (j < p.size() && p[j] >= '0' && p[j] <= '9' && j - start < 9) out = out * 10 + (p[j++] - '0');
        return j > start;
      };
      int low = 0, high = 0;
      bool valid = number(low);
      if (!valid && j < p.size() && p[j] == ',') valid = true;  // {,n}: RE2 reads it as {0,n}
      bool comma = valid && j < p.size() && p[j] == ',';
      if (comma) ++j;
      bool hasHigh = comma && number(high);
      valid = valid && j < p.size() && p[j] == '}';
      if (!valid) {
        add(1);  // a literal '{'
        ++i;
        continue;
      }
      int bound = hasHigh ? high : comma ? low + 1 : low;
      w.largestBound = std::max({w.largestBound, low, high});
      Frame& f = stack.back();
      uint64_t repeated = std::min(kCap, f.last * uint64_t(std::max(bound, 1)));
      f.size = std::min(kCap, f.size - f.last + repeated);
      f.last = repeated;
      // RE2 refuses repeats nested so that their counts (the upper one, or the lower of {m,})
      // multiply past 1000
      int count = hasHigh ? high : low;
      if (count > 0) f.lastProduct = std::min(kCap, f.lastProduct * uint64_t(count));
      f.product = std::max(f.product, f.lastProduct);
      i = j + 1;
    } else if (c == '*' || c == '+' || c == '?' || c == '|' || c == '^' || c == '$') {
      ++i;  // no copies
    } else {
      add(1);
      ++i;
    }
  }
  while (stack.size() > 1) {  // unclosed groups: RE2 will refuse them anyway
    uint64_t inner = stack.back().size;
    uint64_t product = stack.back().product;
    stack.pop_back();
    add(inner, product);
  }
  w.total = stack.back().size;
  w.nestedProduct = stack.back().product;
  return w;
}

}  // namespace

std::optional<Regex> Regex::compile(const std::string& pattern, std::string& error) {
  if (pattern.size() > kMaxPatternBytes) {
    error = "the pattern is " + std::to_string(pattern.size()) + " bytes; at most " + std::to_string(kMaxPatternBytes) +
            " are allowed";
    return std::nullopt;
  }
  Weight w = weigh(pattern);
  if (w.largestBound > kMaxRepeat) {
    error = "a repeat count of " + std::to_string(w.largestBound) + "; at most " + std::to_string(kMaxRepeat) +
            " is allowed";
    return std::nullopt;
  }
  if (w.depth > kMaxNesting) {
    error = "groups nested " + std::to_string(w.depth) + " deep; at most " + std::to_string(kMaxNesting) + " is allowed";
    return std::nullopt;
  }
  if (w.total > kMaxWeight) {
    error = "its repeats expand to about " + std::to_string(w.total) + " elements; at most " +
            std::to_string(kMaxWeight) + " are allowed (nested bounded repeats multiply)";
    return std::nullopt;
  }
  if (w.nestedProduct > uint64_t(kMaxRepeat)) {
    error = "repeats nested in each other multiply to " + std::to_string(w.nestedProduct) + "; at most " +
            std::to_string(kMaxRepeat) + " is allowed";
    return std::nullopt;
  }
  RE2::Options options;
  options.set_log_errors(false);  // the error is returned, and said where the pattern was written
  options.set_never_capture(true);
  options.set_max_mem(kMaxMemoryBytes);
  // (?m): ^ and $ match at each line of a body or banner, as they did under POSIX's REG_NEWLINE
  static constexpr std::string_view kMultiLine = "(?m)";
  auto compiled = std::make_shared<const RE2>(std::string(kMultiLine) + pattern, options);
  if (!compiled->ok()) {
    std::string arg = compiled->error_arg();
    if (arg.starts_with(kMultiLine)) arg.erase(0, kMultiLine.size());
    if (compiled->error_code() == RE2::ErrorPatternTooLarge) {
      error = "it compiles to more than " + std::to_string(kMaxMemoryBytes >> 10) + " KiB";
      return std::nullopt;
    }
    // RE2's words ("missing ): ", "invalid escape sequence: ") name the fragment at fault
    std::string words = compiled->error();
    size_t colon = words.find(": ");
    error = colon == std::string::npos ? words : words.substr(0, colon + 2) + arg;
    return std::nullopt;
  }
  Regex r;
  r.pattern_ = pattern;
  r.compiled_ = std::move(compiled);
  return r;
}

bool Regex::search(std::string_view text) const {
  return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *compiled_);
}

}  // namespace medic
