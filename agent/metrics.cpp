#include "agent/metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "runtime/process_table.h"
#include "version.h"

namespace medic::agent {

namespace {

using checks::Status;

// A label value as the exposition format quotes it: backslash, quote and newline escaped.
void appendQuoted(std::string& out, std::string_view v) {
  out += '"';
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  out += '"';
}

void appendNumber(std::string& out, double v) {
  if (std::isnan(v)) out += "NaN";
  else if (std::isinf(v)) out += v > 0 ? "+Inf" : "-Inf";
  else {
    char buf[40];
    auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;  // the shortest text that reads back as v
    out.append(buf, end);
  }
}

std::string number(double v) {
  std::string out;
  appendNumber(out, v);
  return out;
}

// Appends to one string (a scrape of 1,000 checks is some 300 KB): no stream, no copies.
class Exposition {
 public:
  Exposition() { out_.reserve(64 * 1024); }
  /// Starts a metric family: its HELP and TYPE lines.
  void family(const char* name, const char* type, const char* help) {
    out_ += "# HELP ", out_ += name, out_ += ' ', out_ += help, out_ += "\n# TYPE ", out_ += name, out_ += ' ', out_ += type, out_ += '\n';
    name_ = name;
  }
  /// One sample of the current family: labels as name=value pairs.
  void sample(std::initializer_list<std::pair<const char*, std::string_view>> labels, double value, const char* suffix = "") {
    out_ += name_, out_ += suffix;
    if (labels.size()) {
      out_ += '{';
      bool first = true;
      for (const auto& [k, v] : labels) {
        if (!first) out_ += ',';
        out_ += k, out_ += '=';
        appendQuoted(out_, v);
        first = false;
      }
      out_ += '}';
    }
    out_ += ' ';
    appendNumber(out_, value);
    out_ += '\n';
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  const char* name_ = "";
};

constexpr Status kStatuses[] = {Status::healthy, Status::degraded, Status::unhealthy, Status::unknown};
constexpr recovery::Phase kPhases[] = {recovery::Phase::healthy,  recovery::Phase::blocked,  recovery::Phase::recovering,
                                       recovery::Phase::verifying, recovery::Phase::cooldown, recovery::Phase::gaveUp,
                                       recovery::Phase::flapping,  recovery::Phase::failedOver, recovery::Phase::failingBack};

int openFds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) ++n;
    closedir(d);
    n -= 3;  // ".", ".." and the one opendir holds
  }
  return n;
}

}  // namespace

std::string metricsText(const Supervisor& supervisor, const AgentFigures& agent) {
  Exposition m;
  m.family("medic_build_info", "gauge", "medic's version; always 1.");
  m.sample({{"version", MEDIC_VERSION}}, 1);

  m.family("medic_service_health", "gauge", "A service's health (1 for the one it has).");
  for (const auto& [name, s] : supervisor.services()) {
    Status h = supervisor.health(s);
    for (Status st : kStatuses) m.sample({{"service", name}, {"health", checks::toString(st)}}, h == st);
  }
  // Recovery is of services only: the host's own checks have none, and no series says otherwise.
  auto recovers = [](const Supervisor::Service& s) { return !s.spec->isHost(); };
  m.family("medic_service_recovery_phase", "gauge", "Where a service's recovery is (1 for the phase it is in).");
  for (const auto& [name, s] : supervisor.services())
    if (recovers(s))
      for (auto p : kPhases) m.sample({{"service", name}, {"phase", recovery::toString(p)}}, s.machine->phase() == p);
  m.family("medic_service_held_by", "gauge",
           "1 while a service's failure is put down to this dependency (depends_on) and its recovery waits for it.");
  for (const auto& [name, s] : supervisor.services()) {
    bool held = s.machine->phase() == recovery::Phase::held;
    for (const auto& d : s.spec->dependsOn)
      m.sample({{"service", name}, {"dependency", d.name}}, held && s.machine->cause().name == d.name);
  }
  m.family("medic_service_paused", "gauge", "1 while an operator's pause holds a service's recovery.");
  for (const auto& [name, s] : supervisor.services())
    if (recovers(s)) m.sample({{"service", name}}, s.machine->paused());

  const auto& saved = supervisor.saved().services;
  // (by reference: a scrape reads every service's figures three times, and they hold vectors)
  static const recovery::Figures kNone;
  auto figuresOf = [&](const std::string& name) -> const recovery::Figures& {
    auto it = saved.find(name);
    return it == saved.end() ? kNone : it->second.figures;
  };
  m.family("medic_service_recoveries_started_total", "counter", "Recoveries started (kept across restarts in the state file).");
  for (const auto& [name, s] : supervisor.services())
    if (recovers(s)) m.sample({{"service", name}}, double(figuresOf(name).recoveries));
  m.family("medic_service_recoveries_total", "counter",
           "Recoveries that ended, by how: recovered, gave-up (started minus these: under way).");
  for (const auto& [name, s] : supervisor.services())
    if (recovers(s)) {
      const recovery::Figures& f = figuresOf(name);
      m.sample({{"service", name}, {"result", "recovered"}}, double(f.successes));
      m.sample({{"service", name}, {"result", recovery::toString(recovery::Phase::gaveUp)}}, double(f.gaveUp));
    }
  m.family("medic_recovery_steps_total", "counter", "Recovery steps run, by step and how they ended: healed, did_not_heal, failed (could not run), skipped.");
  for (const auto& [name, s] : supervisor.services())
    if (auto it = saved.find(name); recovers(s) && it != saved.end())
      for (const auto& [step, results] : it->second.figures.steps)
        for (const auto& [result, n] : results) m.sample({{"service", name}, {"step", step}, {"result", result}}, double(n));
  m.family("medic_service_time_to_recover_seconds", "histogram",
           "Time from the start of a recovery to its verified end, for every recovery that ended healed.");
  for (const auto& [name, s] : supervisor.services()) {
    if (!recovers(s)) continue;
    const recovery::Figures& f = figuresOf(name);
    for (size_t i = 0; i < std::size(recovery::Figures::kTtrBounds); ++i)
      m.sample({{"service", name}, {"le", number(recovery::Figures::kTtrBounds[i])}}, double(f.ttrBuckets[i]), "_bucket");
    m.sample({{"service", name}, {"le", "+Inf"}}, double(f.ttrBuckets.back()), "_bucket");
    m.sample({{"service", name}}, f.ttrSeconds, "_sum");
    m.sample({{"service", name}}, double(f.ttrBuckets.back()), "_count");
  }

  m.family("medic_check_status", "gauge", "A check's latest status (1 for the one it has; unknown before its first result).");
  for (const auto& [name, s] : supervisor.services())
    for (const auto& c : s.spec->checks) {
      const auto* r = s.last(c.name);
      Status now = r ? r->result.status : Status::unknown;
      for (Status st : kStatuses) m.sample({{"service", name}, {"check", c.name}, {"status", checks::toString(st)}}, now == st);
    }
  m.family("medic_check_runs_total", "counter", "A check's runs since medic started, by result.");
  for (const auto& [name, s] : supervisor.services())
    for (const auto& [check, c] : s.checks)
      if (c.last)
        for (Status st : kStatuses) m.sample({{"service", name}, {"check", check}, {"status", checks::toString(st)}}, double(c.last->runs[size_t(st)]));
  m.family("medic_check_duration_seconds", "gauge", "How long a check's latest run took.");
  for (const auto& [name, s] : supervisor.services())
    for (const auto& [check, c] : s.checks)
      if (c.last) m.sample({{"service", name}, {"check", check}}, std::chrono::duration<double>(c.last->result.duration).count());
  m.family("medic_check_critical", "gauge", "1 for a check whose failure starts recovery, 0 for one that only degrades.");
  for (const auto& [name, s] : supervisor.services())
    for (const auto& c : s.spec->checks) m.sample({{"service", name}, {"check", c.name}}, c.critical);

  // Measured values, in base units: seconds, bytes, ratios (a percentage / 100), plain numbers.
  // A counter ("c", as Nagios marks one: CPU seconds, restarts) only grows but for a reset of
  // what it counts, and is a counter family of its own: rate() applies to it, not to a gauge.
  struct Kind {
    const char* unit;
    const char* family;
    const char* type;
    const char* help;
    double scale;
  };
  const Kind kinds[] = {{"s", "medic_check_value_seconds", "gauge", "A time a check measured in its latest run.", 1},
                        {"B", "medic_check_value_bytes", "gauge", "A size a check measured in its latest run.", 1},
                        {"%", "medic_check_value_ratio", "gauge", "A share a check measured in its latest run (1 = 100%).", 0.01},
                        {"c", "medic_check_value_total", "counter", "A count that only grows (CPU seconds, restarts), as the latest run read it.", 1},
                        {"", "medic_check_value", "gauge", "A number a check measured in its latest run (a count, a status code, days).", 1}};
  for (const auto& k : kinds) {
    m.family(k.family, k.type, k.help);
    for (const auto& [name, s] : supervisor.services())
      for (const auto& [check, c] : s.checks) {
        if (!c.last) continue;
        for (const auto& v : c.last->result.perfdata) {
          std::string_view unit = v.unit;
          bool mine = unit == k.unit || (k.unit[0] == '\0' && unit != "s" && unit != "B" && unit != "%" && unit != "c");
          if (mine) m.sample({{"service", name}, {"check", check}, {"value", v.label}}, v.value * k.scale);
        }
      }
  }

  m.family("medic_alerts_delivered_total", "counter", "Notifications a sink took.");
  for (const auto& [sink, f] : agent.sinks) m.sample({{"sink", sink}}, double(f.delivered));
  m.family("medic_alerts_refused_total", "counter", "Notifications a sink refused for good (not retried).");
  for (const auto& [sink, f] : agent.sinks) m.sample({{"sink", sink}}, double(f.refused));
  m.family("medic_alert_delivery_failures_total", "counter", "Delivery attempts that failed and will be retried.");
  for (const auto& [sink, f] : agent.sinks) m.sample({{"sink", sink}}, double(f.failedAttempts));
  m.family("medic_alert_outbox_notifications", "gauge", "Notifications waiting in a sink's outbox.");
  for (const auto& [sink, f] : agent.sinks) m.sample({{"sink", sink}}, double(f.waiting));
  m.family("medic_alert_outbox_oldest_timestamp_seconds", "gauge", "When the oldest notification waiting for a sink was made (absent when none waits).");
  for (const auto& [sink, f] : agent.sinks)
    if (f.oldestWaitingMs) m.sample({{"sink", sink}}, double(f.oldestWaitingMs) / 1000.0);

  m.family("medic_check_start_lateness_seconds", "histogram", "How late checks started against their slots.");
  {
    using H = checks::CheckRunner::LatenessHistogram;
    for (size_t i = 0; i < std::size(H::kBounds); ++i) m.sample({{"le", number(H::kBounds[i])}}, double(agent.lateness.counts[i]), "_bucket");
    m.sample({{"le", "+Inf"}}, double(agent.lateness.count), "_bucket");
    m.sample({}, agent.lateness.sum, "_sum");
    m.sample({}, double(agent.lateness.count), "_count");
  }

  m.family("medic_config_reloads_total", "counter", "Configuration reloads tried (SIGHUP, systemctl reload).");
  m.sample({}, double(agent.reloads));
  m.family("medic_config_last_reload_successful", "gauge", "1 if the latest reload was taken, 0 if it was refused (the previous config runs on).");
  m.sample({}, agent.lastReloadOk);
  m.family("medic_config_last_reload_success_timestamp_seconds", "gauge", "When the running configuration was loaded.");
  m.sample({}, double(agent.lastReloadMs) / 1000.0);

  // The process itself, by the names every Prometheus client library uses.
  ProcessInfo self;
  if (readProcess(getpid(), self)) {
    m.family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
    m.sample({}, self.cpuSeconds);
    m.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    m.sample({}, double(self.rssBytes));
  }
  m.family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
  m.sample({}, double(agent.startedMs) / 1000.0);
  m.family("process_open_fds", "gauge", "Number of open file descriptors.");
  m.sample({}, openFds());
  return m.take();
}

}  // namespace medic::agent
