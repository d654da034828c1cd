#include "agent/status_page.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "alerts/alert.h"
#include "version.h"

namespace medic::agent {

namespace {

using checks::Status;

// Everything from outside (messages carry HTTP bodies and plugin output) is escaped.
std::string esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// Okabe-Ito colours, told apart with every common colour-vision deficiency; the word and
// the symbol say the same.
const char* symbol(Status s) {
  switch (s) {
    case Status::healthy: return "&#10003;";    // check mark
    case Status::degraded: return "!";
    case Status::unhealthy: return "&#10007;";  // ballot x
    default: return "?";
  }
}

std::string badge(Status s) {
  std::string name(checks::toString(s));
  return "<span class=\"badge " + name + "\">" + symbol(s) + " " + name + "</span>";
}

std::string ms(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 10 ? "%.2f ms" : "%.0f ms", v);
  return buf;
}

// The latest durations as a line, oldest left; its title gives the range in words.
std::string chart(const Supervisor::Service::LastResult& r) {
  using LR = Supervisor::Service::LastResult;
  if (r.recentCount < 2) return "<span class=\"muted\">&ndash;</span>";
  std::vector<float> v;
  for (size_t i = 0; i < r.recentCount; ++i) v.push_back(r.recentMs[(r.recentNext + LR::kRecent - r.recentCount + i) % LR::kRecent]);
  auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  double top = std::max(double(*hi), 1e-3);
  std::ostringstream points;
  for (size_t i = 0; i < v.size(); ++i) {
    char p[48];
    std::snprintf(p, sizeof p, "%.1f,%.1f ", 120.0 * double(i) / double(v.size() - 1), 23.0 - 22.0 * double(v[i]) / top);
    points << p;
  }
  return "<svg class=\"chart\" viewBox=\"0 0 120 24\" width=\"120\" height=\"24\" role=\"img\"><title>last " + std::to_string(v.size()) +
         " runs: " + ms(*lo) + " to " + ms(*hi) + "</title><polyline fill=\"none\" stroke=\"currentColor\" stroke-width=\"1.5\" points=\"" +
         points.str() + "\"/></svg>";
}

constexpr const char* kStyle = R"(
body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;max-width:70em;padding:.5em 1em;color:#222;background:#fff}
h1{font-size:1.3em}h2{font-size:1.1em;margin:1.2em 0 .3em}table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:.25em .5em;border-bottom:1px solid #ddd;vertical-align:top}
.badge{font-weight:600;padding:0 .4em;border-radius:.3em;color:#fff;white-space:nowrap}
.healthy{background:#009E73}.degraded{background:#E69F00;color:#000}.unhealthy{background:#D55E00}.unknown{background:#777}
.muted{color:#666}.msg{word-break:break-word}.chart{color:#0072B2}
@media (max-width:40em){td,th{display:block;border:0}tr{display:block;border-bottom:1px solid #ddd;padding:.3em 0}}
)";

}  // namespace

std::string statusPage(const Supervisor& supervisor, const std::vector<alerts::Notification>& firing) {
  Status overall = Status::healthy;
  for (const auto& [name, s] : supervisor.services()) overall = checks::worst(overall, supervisor.health(s));
  std::ostringstream h;
  const std::string host = esc(alerts::hostName());
  h << "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
    << "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><meta http-equiv=\"refresh\" content=\"10\">"
    << "<title>medic on " << host << ": " << checks::toString(overall) << "</title><style>" << kStyle << "</style></head><body>"
    << "<h1>medic on " << host << " " << badge(overall) << "</h1>"
    << "<p class=\"muted\">medic " << MEDIC_VERSION << " &middot; " << esc(alerts::isoTime(wallClockMs()))
    << " &middot; refreshes every 10 s &middot; <a href=\"/metrics\">metrics</a> &middot; <a href=\"/api/v1/status\">JSON</a></p>";

  h << "<h2>Alerts firing</h2>";
  if (firing.empty()) h << "<p class=\"muted\">none</p>";
  else {
    h << "<table id=\"alerts\"><tr><th>alert</th><th>service</th><th>since</th><th>summary</th></tr>";
    for (const auto& n : firing)
      h << "<tr><td>" << esc(n.alert) << "</td><td>" << esc(n.service.empty() ? "medic" : n.service) << "</td><td>"
        << esc(alerts::isoTime(n.startsAtMs)) << "</td><td class=\"msg\">" << esc(n.summary) << "</td></tr>";
    h << "</table>";
  }

  h << "<h2>Services</h2><table id=\"services\"><tr><th>service</th><th>health</th><th>recovery</th><th>unit</th></tr>";
  for (const auto& [name, s] : supervisor.services()) {
    std::string phase(recovery::toString(s.machine->phase()));
    if (s.machine->paused()) phase += ", paused: " + s.machine->pauseReason();
    if (s.machine->phase() == recovery::Phase::held) phase += ": waiting, " + s.machine->cause().words;
    if (!s.spec->dependsOn.empty()) {
      std::string needs;
      for (const auto& d : s.spec->dependsOn) needs += (needs.empty() ? "" : ", ") + d.name;
      phase += " (needs " + needs + ")";
    }
    h << "<tr><td><a href=\"#s-" << esc(name) << "\">" << esc(name) << "</a></td><td>" << badge(supervisor.health(s)) << "</td><td>"
      << esc(phase) << "</td><td>" << esc(s.spec->isHost() ? "(the host)" : s.spec->unit + " " + std::string(strategies::toString(s.unit.activeState))) << "</td></tr>";
  }
  h << "</table>";

  for (const auto& [name, s] : supervisor.services()) {
    h << "<h2 id=\"s-" << esc(name) << "\">" << esc(name) << " " << badge(supervisor.health(s)) << "</h2>"
      << "<table class=\"checks\"><tr><th>check</th><th>status</th><th>latest</th><th>durations</th></tr>";
    for (const auto& c : s.spec->checks) {
      const Supervisor::Service::LastResult* r = s.last(c.name);
      bool seen = r != nullptr;
      h << "<tr><td>" << esc(c.name) << (c.critical ? "" : " <span class=\"muted\">(not critical)</span>") << "</td><td>"
        << badge(seen ? r->result.status : Status::unknown) << "</td><td class=\"msg\">"
        << esc(seen ? r->result.message : "no result yet") << "</td><td>" << (seen ? chart(*r) : "") << "</td></tr>";
    }
    h << "</table>";
    auto saved = supervisor.saved().services.find(name);
    if (saved != supervisor.saved().services.end() && !saved->second.history.empty()) {
      h << "<ol class=\"timeline\" reversed>";
      const auto& history = saved->second.history;
      for (auto a = history.rbegin(); a != history.rend(); ++a) {
        h << "<li>" << esc(alerts::isoTime(a->startedMs)) << ": " << esc(a->step) << " (attempt " << a->attempt << ", round " << a->round
          << ") &rarr; <b>" << esc(a->endedMs ? a->result : "running") << "</b>";
        if (a->endedMs) h << " in " << ms(double(a->endedMs - a->startedMs));
        h << " <span class=\"muted\">&mdash; " << esc(a->reason) << "</span></li>";
      }
      h << "</ol>";
    }
  }
  h << "</body></html>\n";
  return h.str();
}

}  // namespace medic::agent
