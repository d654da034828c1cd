#include "alerts/alert_router.h"

#include "runtime/saved_file.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace medic::alerts {

using checks::Severity;
using json = nlohmann::json;

namespace {
int64_t ms(Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }
}  // namespace

void AlertRouter::reconcile(const std::string& service, const std::string& unit, const std::vector<Condition>& wanted,
                            bool maintenance, int64_t nowMs, const std::set<std::string>& leaveAlone) {
  std::map<std::string, Notification> want;
  for (const auto& c : wanted) {
    Notification n;
    n.state = Notification::State::firing;
    n.alert = c.alert;
    n.severity = c.severity;
    n.service = service;
    n.unit = unit;
    n.host = host_;
    n.sink = c.sink;
    n.summary = c.summary;
    n.details = c.details;
    n.why = c.why;
    n.atMs = n.startsAtMs = nowMs;
    n.maintenance = maintenance;
    n.held = c.held;
    want[n.key()] = std::move(n);
  }
  // Resolved first: when one alert gives way to another (unhealthy -> degraded), the
  // receiver reads them in that order.
  std::vector<std::string> gone;
  for (const auto& [key, n] : active_)
    if (n.service == service && !want.count(key) && !leaveAlone.count(n.alert)) gone.push_back(key);
  for (const auto& key : gone) {
    Notification n = active_.at(key);
    active_.erase(key);
    n.state = Notification::State::resolved;
    n.atMs = nowMs;
    n.maintenance = maintenance;
    n.reminder = false;
    n.details.clear();
    n.why.journal.clear();  // (what it was is said when it fired; the cause stays)
    publish(n, nowMs);
  }
  for (auto& [key, n] : want) {
    auto it = active_.find(key);
    if (it == active_.end()) {
      publish(n, nowMs);
      active_[key] = n;
    } else if (!n.held && ((it->second.held) || (!it->second.why.causedBy.empty() && n.why.causedBy.empty()))) {
      // Past the threshold now, or no longer put down to a dependency (it outlasted that
      // one's fault): the sinks that waited for it hear of it (as of when it began).
      it->second.held = false;
      it->second.why = n.why;  // (what is known of the failure by now)
      Notification now = it->second;
      publish(now, nowMs, /*untoldOnly=*/true);
      it->second.id = now.id;
    }
  }
}

void AlertRouter::event(const std::string& service, const std::string& unit, const std::string& name, Severity severity,
                        const std::string& summary, const std::vector<std::string>& details, bool maintenance,
                        int64_t nowMs, const Why& why) {
  Notification n;
  n.state = Notification::State::event;
  n.alert = name;
  n.severity = severity;
  n.service = service;
  n.unit = unit;
  n.host = host_;
  n.summary = summary;
  n.details = details;
  n.why = why;
  n.atMs = n.startsAtMs = nowMs;
  n.maintenance = maintenance;
  publish(n, nowMs);
}

// Ids start from the wall clock (in thousandths of a millisecond) and only go up: unique
// and increasing on this host across restarts (ids handed out after the last save of
// alerts.json are never handed out again) and across `medic alert test`, a process of its
// own with a router of its own.
uint64_t AlertRouter::takeId(int64_t nowMs) {
  nextId_ = std::max(nextId_, static_cast<uint64_t>(std::max<int64_t>(nowMs, 0)) * 1000);
  return nextId_++;
}

void AlertRouter::test(const std::string& sink, int64_t nowMs) {
  for (const auto& k : spec_->sinks) {
    if (!sink.empty() && k.name != sink) continue;
    Notification n;
    n.id = takeId(nowMs);
    n.state = Notification::State::firing;
    n.alert = "MedicTest";
    n.severity = k.minSeverity;
    n.host = host_;
    n.summary = "a test alert from `medic alert test`; nothing is wrong";
    n.atMs = n.startsAtMs = nowMs;
    n.test = true;
    out_.push_back({k.name, n, false});
  }
}

bool AlertRouter::takes(const config::SinkSpec& sink, const Notification& n) const {
  if (n.severity < sink.minSeverity) return false;
  if (n.held && !sink.everyFailure) return false;  // not past the service's threshold yet
  // A symptom of a dependency's fault: its root cause pages instead (said only if it outlasts it).
  if (!n.why.causedBy.empty() && sink.inhibitDependents && n.state != Notification::State::resolved) return false;
  if (n.sink == sink.name) return false;  // a failing sink is not told about itself
  if (n.service.empty() || sink.services.empty()) return true;
  return std::find(sink.services.begin(), sink.services.end(), n.service) != sink.services.end();
}

void AlertRouter::publish(Notification& n, int64_t nowMs, bool untoldOnly) {
  n.id = takeId(nowMs);
  for (const auto& sink : spec_->sinks) {
    SinkState& st = sinks_[sink.name];
    bool told = st.lastSent.count(n.key()) > 0;
    if (n.state == Notification::State::resolved) {
      // A resolved for every firing, and none for a firing a sink never heard of (held).
      if (!told) continue;
      st.lastSent.erase(n.key());
      offer(sink, st, n, nowMs);
      continue;
    }
    if (!takes(sink, n) || (untoldOnly && told)) continue;
    // Alertmanager knows only alerts: firing and resolved, not events.
    if (sink.type == "alertmanager" && n.state == Notification::State::event) continue;
    if (n.state != Notification::State::event) st.lastSent[n.key()] = nowMs;
    offer(sink, st, n, nowMs);
  }
}

void AlertRouter::offer(const config::SinkSpec& sink, SinkState& st, const Notification& n, int64_t nowMs) {
  if (sink.rateMax <= 0) return out_.push_back({sink.name, n, false});
  if (nowMs >= st.windowStart + ms(sink.ratePer) && st.held.empty()) {
    st.windowStart = nowMs;
    st.sentInWindow = 0;
  }
  if (st.sentInWindow < sink.rateMax) {
    ++st.sentInWindow;
    out_.push_back({sink.name, n, false});
  } else {
    st.held.push_back(n);
  }
}

void AlertRouter::onTimer(int64_t nowMs) {
  for (const auto& sink : spec_->sinks) {
    SinkState& st = sinks_[sink.name];
    // The window is over: what it held back goes out as one digest, opening the next window.
    if (!st.held.empty() && nowMs >= st.windowStart + ms(sink.ratePer)) {
      Notification d;
      d.id = takeId(nowMs);
      d.state = Notification::State::event;
      d.alert = "digest";
      d.host = host_;
      d.atMs = d.startsAtMs = nowMs;
      for (const auto& h : st.held) d.severity = std::max(d.severity, h.severity);
      d.heldBack = std::move(st.held);
      st.held.clear();
      d.summary = std::to_string(d.heldBack.size()) + " more notifications held back by the rate limit";
      st.windowStart = nowMs;
      st.sentInWindow = 1;
      out_.push_back({sink.name, std::move(d), false});
    }
    if (sink.repeatInterval)
      for (const auto& [key, a] : active_) {
        if (!takes(sink, a)) continue;
        auto& last = st.lastSent[key];
        if (last == 0) last = nowMs;
        if (nowMs - last < ms(*sink.repeatInterval)) continue;
        last = nowMs;
        Notification r = a;
        r.id = takeId(nowMs);
        r.reminder = true;
        r.atMs = nowMs;
        offer(sink, st, r, nowMs);
      }
    if (sink.type == "alertmanager" && nowMs - st.lastRefresh >= ms(sink.resendInterval)) {
      st.lastRefresh = nowMs;
      for (const auto& [key, a] : active_)
        if (takes(sink, a)) out_.push_back({sink.name, a, true});
    }
  }
}

void AlertRouter::clockStepped(int64_t ms) {
  auto move = [ms](int64_t& t) {
    if (t != 0) t += ms;  // (0: never yet, due at once either way)
  };
  for (auto& [name, st] : sinks_) {
    move(st.windowStart);
    move(st.lastRefresh);
    for (auto& [key, at] : st.lastSent) move(at);
  }
}

std::optional<int64_t> AlertRouter::wakeAt() const {
  std::optional<int64_t> at;
  auto consider = [&](int64_t t) {
    if (!at || t < *at) at = t;
  };
  for (const auto& sink : spec_->sinks) {
    auto it = sinks_.find(sink.name);
    if (it == sinks_.end()) {
      if (sink.type == "alertmanager" && !active_.empty()) consider(0);
      continue;
    }
    const SinkState& st = it->second;
    if (!st.held.empty()) consider(st.windowStart + ms(sink.ratePer));
    if (sink.repeatInterval)
      for (const auto& [key, a] : active_)
        if (takes(sink, a)) {
          auto last = st.lastSent.find(key);
          consider(last == st.lastSent.end() ? 0 : last->second + ms(*sink.repeatInterval));
        }
    if (sink.type == "alertmanager" && !active_.empty()) consider(st.lastRefresh + ms(sink.resendInterval));
  }
  return at;
}

std::vector<AlertRouter::Outgoing> AlertRouter::take() {
  std::vector<Outgoing> out;
  out.swap(out_);
  return out;
}

std::string AlertRouter::toJson() const {
  json active = json::array();
  for (const auto& [key, n] : active_)
    active.push_back({{"key", key},
                      {"id", n.id},
                      {"alert", n.alert},
                      {"severity", int(n.severity)},
                      {"service", n.service},
                      {"unit", n.unit},
                      {"sink", n.sink},
                      {"summary", n.summary},
                      {"details", n.details},
                      {"why", n.why.empty() ? json(nullptr)
                                            : json{{"cause", n.why.cause}, {"severity", int(n.why.severity)},
                                                   {"text", n.why.text}, {"journal", n.why.journal}, {"drill", n.why.drill},
                                                   {"caused_by", n.why.causedBy}}},
                      {"starts_at_ms", n.startsAtMs},
                      {"maintenance", n.maintenance},
                      {"held", n.held}});
  return json{{"version", 1}, {"next_id", nextId_}, {"active", active}}.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void AlertRouter::fromJson(const std::string& text, int64_t nowMs) {
  json j = json::parse(text);
  if (savedInteger<int>(j, "version") != 1) throw std::runtime_error("unknown alerts version");
  // Ids stay below 2^53 so that every JSON reader (and receiver) sees them exactly.
  constexpr uint64_t kMaxId = uint64_t(1) << 53;
  std::map<std::string, Notification> active;
  for (const auto& a : j.at("active")) {
    Notification n;
    n.state = Notification::State::firing;
    n.id = savedInteger<uint64_t>(a, "id", 0, kMaxId);
    n.alert = a.at("alert").get<std::string>();
    n.severity = Severity(savedInteger<int>(a, "severity", 0, 2));
    n.service = a.at("service").get<std::string>();
    n.unit = a.at("unit").get<std::string>();
    n.sink = a.value("sink", std::string());
    n.host = host_;
    n.summary = a.at("summary").get<std::string>();
    n.details = a.at("details").get<std::vector<std::string>>();
    if (a.contains("why") && !a.at("why").is_null()) {  // (files before 0.3 lack it)
      const json& w = a.at("why");
      n.why = {w.at("cause").get<std::string>(), Severity(savedInteger<int>(w, "severity", 0, 2)),
               w.at("text").get<std::string>(), w.at("journal").get<std::vector<std::string>>(), w.value("drill", false),
               w.value("caused_by", std::string())};
    }
    n.startsAtMs = n.atMs = savedInteger<int64_t>(a, "starts_at_ms", 0, kMaxSavedTimeMs);
    n.maintenance = a.at("maintenance").get<bool>();
    n.held = a.value("held", false);
    active[a.at("key").get<std::string>()] = n;
  }
  // All or nothing: a file that fails half-way leaves no half-loaded alerts behind.
  nextId_ = std::max(nextId_, savedInteger<uint64_t>(j, "next_id", 0, kMaxId));
  active_ = std::move(active);
  for (const auto& sink : spec_->sinks)
    for (const auto& [key, a] : active_)
      if (takes(sink, a)) sinks_[sink.name].lastSent[key] = nowMs;  // told before the restart
}

}  // namespace medic::alerts
