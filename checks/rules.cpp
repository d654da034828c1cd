#include "checks/rules.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "checks/cpu_meter.h"
#include "runtime/text.h"

namespace medic::checks {

namespace {

struct StatName {
  Stat stat;
  std::string_view name;
};
constexpr StatName kStats[] = {{Stat::last, "last"}, {Stat::avg, "avg"}, {Stat::min, "min"}, {Stat::max, "max"},
                               {Stat::p50, "p50"},   {Stat::p90, "p90"}, {Stat::p95, "p95"}, {Stat::p99, "p99"},
                               {Stat::rate, "rate"}};

double percentileOf(Stat s) {
  switch (s) {
    case Stat::p50: return 0.50;
    case Stat::p90: return 0.90;
    case Stat::p95: return 0.95;
    default: return 0.99;
  }
}

}  // namespace

std::string_view toString(Stat s) {
  for (const auto& n : kStats)
    if (n.stat == s) return n.name;
  return "?";
}

std::string formatValue(double value, std::string_view unit) {
  char buf[64];
  if (unit == "s") {
    if (std::fabs(value) >= 60) return formatDuration(std::chrono::milliseconds(static_cast<int64_t>(value * 1000)));
    if (std::fabs(value) < 1) std::snprintf(buf, sizeof buf, "%.3gms", value * 1000);
    else std::snprintf(buf, sizeof buf, "%.3gs", value);
    return buf;
  }
  if (unit == "B") {
    static const char* kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    double v = std::fabs(value);
    int i = 0;
    while (v >= 1024 && i < 4) v /= 1024, ++i;
    std::snprintf(buf, sizeof buf, i == 0 ? "%s%.0f %s" : "%s%.1f %s", value < 0 ? "-" : "", v, kUnits[i]);
    return buf;
  }
  if (unit == "%") {
    std::snprintf(buf, sizeof buf, "%.1f%%", value);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%.4g", value);
  return std::string(buf) + (unit == "c" ? "" : std::string(unit));  // a plugin's own units (ms, KB) as it gave them
}

std::string valuesText(const std::vector<PerfDatum>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ", ") + v.label + " " + formatValue(v.value, v.unit == "c" ? "" : v.unit);
  return out;
}

std::string RuleSpec::describe() const {
  std::string per = stat == Stat::rate ? "/s" : "";
  std::string text = std::string(toString(stat)) + " of " + value;
  if (stat != Stat::last) text += " over " + formatDuration(over);
  text += std::string(above ? " above " : " below ") + formatValue(threshold, unit == "c" ? "" : unit) + per;
  if (holdFor > Duration::zero()) text += " for " + formatDuration(holdFor);
  return text;
}

std::vector<RuleSpec> parseRules(MapReader& check, const Check& type, Duration interval) {
  std::vector<RuleSpec> rules;
  YAML::Node list = check.node("rules");
  if (!list.IsDefined() || list.IsNull()) return rules;
  if (!list.IsSequence()) {
    check.error("rules", "'rules' must be a list of {value, stat, over, above or below, then}");
    return rules;
  }
  std::vector<ValueInfo> values = type.values();
  for (const auto& node : list) {
    MapReader r(node, check.what() + ": rule", check.file(), check.errors());
    if (!r.valid()) continue;
    RuleSpec rule;
    bool ok = true;
    r.read("name", rule.name);
    if (r.require("value") && r.read("value", rule.value)) {
      auto known = std::find_if(values.begin(), values.end(), [&](const ValueInfo& v) { return v.name == rule.value; });
      if (known != values.end()) {
        rule.unit = known->unit;
      } else if (!type.valuesFromOutput()) {
        std::string names;
        for (const auto& v : values) names += (names.empty() ? "" : ", ") + std::string(v.name);
        r.error("value", "this check has no value " + quoteValue(rule.value) + (names.empty() ? " (it reports none)" : "; it has: " + names));
        ok = false;
      }
    } else {
      ok = false;
    }
    std::string stat = "last";
    bool statOk = true;
    if (r.read("stat", stat)) {
      auto it = std::find_if(std::begin(kStats), std::end(kStats), [&](const StatName& n) { return n.name == stat; });
      statOk = it != std::end(kStats);
      if (statOk) rule.stat = it->stat;
      else r.error("stat", "'stat' must be one of last, avg, min, max, p50, p90, p95, p99, rate; got " + quoteValue(stat));
    }
    bool windowed = rule.stat != Stat::last || !statOk;
    if (!windowed && r.has("over")) {
      r.node("over");
      r.error("over", "'stat: last' has no window: 'over' does not apply");
    } else if (windowed && r.require("over") && r.read("over", rule.over, std::chrono::seconds(1)) && statOk) {
      if (rule.over < interval)
        r.error("over", "'over' (" + formatDuration(rule.over) + ") is shorter than the check's interval (" +
                            formatDuration(interval) + "): the window would hold one run at most");
      else if (double(rule.over.count()) / double(interval.count()) > double(kMaxSamples))
        r.error("over", "'over' (" + formatDuration(rule.over) + ") would hold more than " + std::to_string(kMaxSamples) +
                            " runs at the check's interval (" + formatDuration(interval) + ")");
    }
    if (ok && rule.stat == Stat::rate && (rule.unit == "%" || rule.unit == "s"))
      r.error("stat", "'rate' is the change per second of a count or a size; " + quoteValue(rule.value) + " is " +
                          (rule.unit == "%" ? "a percentage" : "a time") + ": use avg, max or a percentile");
    bool above = r.has("above"), below = r.has("below");
    if (above == below) {
      r.node("above"), r.node("below");  // (known keys: one error is enough)
      r.error("a rule needs exactly one of 'above' or 'below'");
    } else if (!ok) {
      r.node(above ? "above" : "below");  // a threshold for a value that does not exist: said above
    } else {
      rule.above = above;
      const std::string key = above ? "above" : "below";
      if (rule.stat == Stat::rate || rule.unit.empty() || rule.unit == "c") {
        r.readNumber(key, rule.threshold);
      } else if (rule.unit == "s") {
        Duration d{};
        if (r.read(key, d)) rule.threshold = std::chrono::duration<double>(d).count();
      } else if (rule.unit == "B") {
        uint64_t bytes = 0;
        if (r.readBytes(key, bytes)) rule.threshold = double(bytes);
      } else if (rule.unit == "%") {
        r.readPercent(key, rule.threshold, rule.value == kCpuValue ? kMaxCpuPercent : 100);
      }
    }
    r.read("for", rule.holdFor);
    rule.minSamples = rule.stat == Stat::last ? 1 : rule.stat == Stat::rate ? 2 : 3;
    r.read("min_samples", rule.minSamples, 1, int(kMaxSamples));
    std::string then = "degraded";
    if (r.read("then", then)) {
      if (then == "unhealthy") rule.then = Status::unhealthy;
      else if (then != "degraded") r.error("then", "'then' must be degraded or unhealthy, got " + quoteValue(then));
    }
    r.finish();
    rules.push_back(std::move(rule));
  }
  return rules;
}

void RuleBook::plan(const std::vector<RuleSpec>& rules) {
  std::vector<Window> windows;
  windowOf_.clear();
  for (const auto& rule : rules) {
    auto same = [&](const Window& w) { return w.value == rule.value; };
    auto it = std::find_if(windows.begin(), windows.end(), same);
    if (it == windows.end()) {
      Window w;
      if (auto kept = std::find_if(windows_.begin(), windows_.end(), same); kept != windows_.end()) w = std::move(*kept);
      w.value = rule.value;
      w.span = Duration{-1};
      windows.push_back(std::move(w));
      it = windows.end() - 1;
    }
    it->span = std::max(it->span, rule.over);
    windowOf_.push_back(size_t(it - windows.begin()));
  }
  windows_ = std::move(windows);
  plannedFor_ = &rules;
  states_.resize(rules.size());
}

CheckResult RuleBook::judge(const std::vector<RuleSpec>& rules, CheckResult r, TimePoint now) {
  if (plannedFor_ != &rules || windowOf_.size() != rules.size()) plan(rules);
  // Each judged value joins its window; the samples beyond the longest rule's reach leave it.
  for (auto& w : windows_) {
    const auto& values = r.perfdata;
    if (w.hint >= values.size() || values[w.hint].label != w.value) {
      auto it = std::find_if(values.begin(), values.end(), [&](const PerfDatum& v) { return v.label == w.value; });
      if (it == values.end()) continue;  // not measured this run (a failed probe has fewer values)
      w.hint = size_t(it - values.begin());
    }
    const double value = values[w.hint].value;
    if (!std::isfinite(value)) continue;
    w.samples.push_back({now, value});
    if (w.samples.size() > kMaxSamples) w.samples.pop_front();
    while (w.samples.size() > 1 && w.samples.front().at < now - w.span) w.samples.pop_front();
  }
  summaryOf_ = nullptr;  // the windows moved on: summarise afresh
  Status verdict = Status::healthy;
  std::string said;
  for (size_t i = 0; i < rules.size(); ++i) {
    const RuleSpec& rule = rules[i];
    State& st = states_[i];
    st.stat.reset();
    st.samples = 0;
    const auto& w = windows_[windowOf_[i]].samples;
    if (!w.empty()) {
      // The samples inside this rule's window: the newest back to `over` ago (the last alone for `last`).
      size_t first = w.size() - 1;
      if (rule.stat != Stat::last) {
        const TimePoint from = now - rule.over;
        auto oldest = std::partition_point(w.begin(), w.end(), [&](const Sample& s) { return s.at < from; });
        first = std::min(size_t(oldest - w.begin()), first);
      }
      st.samples = w.size() - first;
      if (st.samples >= size_t(rule.minSamples)) st.stat = compute(rule.stat, w, first);
    }
    st.breached = st.stat && (rule.above ? *st.stat > rule.threshold : *st.stat < rule.threshold);
    if (!st.breached) st.breachedSince.reset();
    else if (!st.breachedSince) st.breachedSince = now;
    st.heldFor = st.breachedSince ? std::chrono::duration_cast<Duration>(now - *st.breachedSince) : Duration::zero();
    st.firing = st.breached && st.heldFor >= rule.holdFor;
    if (!st.firing) continue;
    verdict = worst(verdict, rule.then);
    said += "; " + says(rule, st);
  }
  if (verdict != Status::healthy) {
    r.status = worst(r.status, verdict);
    r.message += said;
  }
  return r;
}

std::optional<double> RuleBook::compute(Stat stat, const std::deque<Sample>& w, size_t first) {
  size_t n = w.size() - first;
  if (stat == Stat::last) return w.back().value;
  if (stat == Stat::rate) {
    if (n < 2) return std::nullopt;
    double seconds = std::chrono::duration<double>(w.back().at - w[first].at).count();
    if (seconds <= 0) return std::nullopt;
    return (w.back().value - w[first].value) / seconds;
  }
  // The window summarised once per run, whatever number of rules read it.
  if (summaryOf_ != &w || summaryFirst_ != first || summarySize_ != w.size()) {
    min_ = max_ = w[first].value;
    sum_ = 0;
    for (size_t i = first; i < w.size(); ++i) {
      min_ = std::min(min_, w[i].value);
      max_ = std::max(max_, w[i].value);
      sum_ += w[i].value;
    }
    sorted_ = false;
    summaryOf_ = &w, summaryFirst_ = first, summarySize_ = w.size();
  }
  switch (stat) {
    case Stat::min: return min_;
    case Stat::max: return max_;
    case Stat::avg: return sum_ / double(n);
    default: {  // nearest rank, on the values sorted once for every percentile rule
      if (!sorted_) {
        scratch_.clear();
        for (size_t i = first; i < w.size(); ++i) scratch_.push_back(w[i].value);
        std::sort(scratch_.begin(), scratch_.end());
        sorted_ = true;
      }
      size_t rank = static_cast<size_t>(std::ceil(percentileOf(stat) * double(n)));
      return scratch_[std::clamp<size_t>(rank, 1, n) - 1];
    }
  }
}

std::string RuleBook::says(const RuleSpec& rule, const State& st) {
  std::string per = rule.stat == Stat::rate ? "/s" : "";
  std::string unit = rule.unit == "c" ? "" : rule.unit;
  std::string head = std::string(toString(rule.stat)) + " of " + rule.value +
                     (rule.stat == Stat::last ? "" : " over " + formatDuration(rule.over));
  if (!st.stat) return head + ": " + std::to_string(st.samples) + " of " + std::to_string(rule.minSamples) + " samples";
  std::string text = head + " is " + formatValue(*st.stat, unit) + per + ", " + (st.breached ? "" : "not ") +
                     (rule.above ? "above " : "below ") + formatValue(rule.threshold, unit) + per;
  if (st.firing && rule.holdFor > Duration::zero()) text += " for " + formatDuration(st.heldFor);
  return text;
}

void RuleBook::keep(const std::vector<RuleSpec>& before, const std::vector<RuleSpec>& after) {
  // The windows of values `after` still judges stay (plan() takes them by name); states of
  // rules that stayed the same stay too.
  std::vector<State> states(after.size());
  for (size_t i = 0; i < after.size(); ++i)
    for (size_t j = 0; j < before.size() && j < states_.size(); ++j)
      if (after[i].describe() == before[j].describe() && after[i].then == before[j].then) states[i] = states_[j];
  plan(after);
  states_ = std::move(states);
}

size_t RuleBook::samples(const std::string& value) const {
  for (const auto& w : windows_)
    if (w.value == value) return w.samples.size();
  return 0;
}

}  // namespace medic::checks
