#include "agent/regex.h"

namespace medic {

std::optional<Regex> Regex::compile(const std::string& pattern, std::string& error) {
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
