#include "runtime/regex.h"

#include <algorithm>
#include <vector>

namespace medic {

namespace {

// glibc's regcomp() expands a bounded repeat into copies of what it repeats, and its time
// grows faster than the copies: (a{1,1000}){1,1000} never finishes and a 1 MB pattern
// overflows its stack. A pattern is weighed before it is compiled: each atom weighs 1, a
// group the sum of its parts, a repeat {m,n} n times what it repeats. This is a bound on
// the work, not a parser: anything it misreads it over-counts.
struct Weight {
  uint64_t total = 0;
  size_t depth = 0;
  int largestBound = 0;
};

Weight weigh(const std::string& p) {
  constexpr uint64_t kCap = uint64_t(1) << 40;  // saturate: the answer is "too much" anyway
  struct Frame {
    uint64_t size = 0;  // the sum of its elements so far
    uint64_t last = 0;  // the last element's weight, for a repeat that follows it
  };
  std::vector<Frame> stack(1);
  Weight w;
  auto add = [&](uint64_t cost) {
    stack.back().size = std::min(kCap, stack.back().size + cost);
    stack.back().last = cost;
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
      stack.pop_back();
      add(inner);
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
      i = j + 1;
    } else if (c == '*' || c == '+' || c == '?' || c == '|' || c == '^' || c == '$') {
      ++i;  // no copies
    } else {
      add(1);
      ++i;
    }
  }
  while (stack.size() > 1) {  // unclosed groups: regcomp will refuse them anyway
    uint64_t inner = stack.back().size;
    stack.pop_back();
    add(inner);
  }
  w.total = stack.back().size;
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
  auto* raw = new regex_t;
  int rc = regcomp(raw, pattern.c_str(), REG_EXTENDED | REG_NOSUB | REG_NEWLINE);
  if (rc != 0) {
    char buf[256];
    regerror(rc, raw, buf, sizeof buf);
    error = buf;
    delete raw;  // a failed regcomp holds nothing to regfree
    return std::nullopt;
  }
  Regex r;
  r.pattern_ = pattern;
  r.compiled_ = std::shared_ptr<regex_t>(raw, [](regex_t* p) {
    regfree(p);
    delete p;
  });
  return r;
}

bool Regex::search(std::string_view text) const {
  regmatch_t range{};
  range.rm_so = 0;
  range.rm_eo = static_cast<regoff_t>(text.size());
  return regexec(compiled_.get(), text.data(), 1, &range, REG_STARTEND) == 0;
}

}  // namespace medic
