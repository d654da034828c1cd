#include "checks/nagios.h"

#include <cmath>
#include <cstdlib>

#include "runtime/text.h"

namespace medic::checks {

namespace {

/// The number `s` spells whole, finite or not; nullopt when it is not a number at all.
std::optional<double> spelled(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::string copy(s);
  char* end = nullptr;
  double v = std::strtod(copy.c_str(), &end);
  if (end == copy.c_str() || *end != '\0') return std::nullopt;  // ranges like "10:20" are not kept
  return v;
}

/// A value a rule or a scrape can use: "nan", "inf" and 1E999 (+Inf) are not.
std::optional<double> number(std::string_view s) {
  auto v = spelled(s);
  return v && std::isfinite(*v) ? v : std::nullopt;
}

}  // namespace

std::vector<PerfDatum> parsePerfdata(std::string_view text) {
  std::vector<PerfDatum> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n')) ++i;
    if (i >= text.size()) break;
    std::string label;
    if (text[i] == '\'') {  // quoted label; '' is a literal quote
      ++i;
      while (i < text.size()) {
        if (text[i] == '\'') {
          if (i + 1 < text.size() && text[i + 1] == '\'') {
            label += '\'';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        label += text[i++];
      }
    } else {
      while (i < text.size() && text[i] != '=' && text[i] != ' ') label += text[i++];
    }
    size_t end = text.find_first_of(" \t\n", i);
    if (end == std::string_view::npos) end = text.size();
    std::string_view rest = text.substr(i, end - i);
    i = end;
    if (rest.empty() || rest[0] != '=' || label.empty()) continue;
    rest.remove_prefix(1);
    std::vector<std::string_view> fields;
    size_t start = 0;
    for (size_t k = 0; k <= rest.size(); ++k)
      if (k == rest.size() || rest[k] == ';') {
        fields.push_back(rest.substr(start, k - start));
        start = k + 1;
      }
    std::string_view valueField = fields[0];
    size_t unitAt = valueField.find_first_not_of("0123456789.-+eE");
    // 'e' may start a unit ("5e") as easily as an exponent; take the longest numeric prefix that parses.
    PerfDatum d;
    d.label = sanitizeUtf8(label);
    std::string_view numeric = valueField.substr(0, unitAt);
    while (!numeric.empty() && !spelled(numeric)) numeric.remove_suffix(1);
    auto value = number(numeric);
    if (!value) continue;
    d.value = *value;
    d.unit = std::string(valueField.substr(numeric.size()));
    auto field = [&](size_t k) { return k < fields.size() ? number(fields[k]) : std::nullopt; };
    d.warn = field(1);
    d.crit = field(2);
    d.min = field(3);
    d.max = field(4);
    out.push_back(std::move(d));
  }
  return out;
}

PluginOutput parsePluginOutput(std::string_view output) {
  PluginOutput out;
  size_t eol = output.find('\n');
  std::string_view first = output.substr(0, eol);
  std::string_view rest = eol == std::string_view::npos ? std::string_view{} : output.substr(eol + 1);
  size_t bar = first.find('|');
  out.message = sanitizeUtf8(trim(first.substr(0, bar)));
  std::string perf;
  if (bar != std::string_view::npos) perf = std::string(first.substr(bar + 1));
  // Long output may carry more perfdata after its own '|'.
  size_t longBar = rest.find('|');
  if (longBar != std::string_view::npos) perf += " " + std::string(rest.substr(longBar + 1));
  out.perfdata = parsePerfdata(perf);
  return out;
}

}  // namespace medic::checks
