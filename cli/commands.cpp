#include "cli/commands.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "agent/agent.h"
#include "agent/status_report.h"
#include "checks/unit_check.h"
#include "alerts/alert_router.h"
#include "alerts/alert_transport.h"
#include "checks/check_runner.h"
#include "runtime/event_loop.h"
#include "runtime/logging.h"
#include "checks/probe_host.h"
#include "runtime/map_reader.h"
#include "runtime/text.h"
#include "agent/unit_needs.h"
#include "config/loader.h"
#include "recovery/report.h"
#include "strategies/restore_step.h"

namespace medic::cli {

using checks::CheckResult;
using checks::Status;

namespace {

// `readNeeds`: for `depends_on: systemd` (validate, plan and run ask systemd; the rest need no edges).
std::optional<config::Config> loadOrReport(const std::string& path, const config::UnitNeedsReader& readNeeds = {}) {
  auto result = config::loadConfig(path, readNeeds);
  if (!result.config) {
    std::cerr << result.errors.str();
    std::cerr << result.errors.size() << (result.errors.size() == 1 ? " error" : " errors") << " in " << path
              << "; nothing was changed\n";
  }
  return std::move(result.config);
}

// Where systemd reads unit files from (systemd.unit(5)), most specific first.
const char* const kUnitDirs[] = {"/etc/systemd/system",          "/run/systemd/transient",  "/run/systemd/generator.early",
                                 "/run/systemd/system",          "/run/systemd/generator",  "/usr/local/lib/systemd/system",
                                 "/lib/systemd/system",          "/usr/lib/systemd/system", "/run/systemd/generator.late"};

// A warning for each service whose unit systemd has no file for on this host (a typo such as
// ngnix.service would otherwise be found only when the first recovery fails). A warning, not
// an error: the unit may come with a package installed later. Nothing is said on a host
// without systemd's unit directories (a config checked elsewhere).
std::vector<std::string> unknownUnitWarnings(const config::Config& config) {
  std::vector<std::string> names;
  for (const char* dir : kUnitDirs) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) names.push_back(e.path().filename().string());
  }
  std::vector<std::string> warnings;
  if (names.empty()) return warnings;
  std::set<std::string> known(names.begin(), names.end());
  for (const auto& s : config.services) {
    if (s.isHost()) continue;
    std::string unit = s.unit.find('.') == std::string::npos ? s.unit + ".service" : s.unit;
    std::string templ = unit;  // web@blue.service is made from web@.service
    if (auto at = unit.find('@'), dot = unit.rfind('.'); at != std::string::npos && dot > at) templ = unit.substr(0, at + 1) + unit.substr(dot);
    if (known.count(unit) || known.count(templ)) continue;
    auto near = closest(unit, names);
    warnings.push_back(s.where.str() + ": service '" + s.name + "': systemd has no unit '" + unit + "' on this host" +
                       (near ? " (did you mean '" + *near + "'?)" : " (no unit file in /etc/systemd/system, /lib/systemd/system, ...)"));
  }
  return warnings;
}
}  // namespace

int validateCommand(const std::string& configPath) {
  auto config = loadOrReport(configPath, agent::systemdUnitNeeds());
  if (!config) return 1;
  for (const auto& w : config->warnings) std::cerr << "warning: " << w << "\n";
  for (const auto& w : unknownUnitWarnings(*config)) std::cerr << "warning: " << w << "\n";
  std::cout << configPath << ": OK, " << config->services.size() << " services, " << config->checkCount()
            << " checks in " << config->files.size() << (config->files.size() == 1 ? " file" : " files") << "\n";
  return 0;
}

int checkCommand(const std::string& configPath, const std::string& service, bool json) {
  auto config = loadOrReport(configPath);
  if (!config) return checks::exitcode::unknown;
  if (!service.empty() && !config->findService(service)) {
    std::cerr << "no service named '" << service << "' in " << configPath << "\n";
    return checks::exitcode::unknown;
  }
  struct Row {
    const config::ServiceSpec* service;
    const checks::CheckSpec* check;
    CheckResult result;
    checks::RuleBook rules;  // one run: only `stat: last` rules can judge it
  };
  std::vector<Row> rows;
  for (const auto& s : config->services)
    if (service.empty() || s.name == service)
      for (const auto& c : s.checks) rows.push_back({&s, &c, CheckResult::unknown("did not finish"), {}});

  checks::ProbeHost host;
  strategies::DbusSystemdClient systemd(host.loop);  // for unit checks (their accounting)
  bool needsSystemd = false;
  for (const auto& row : rows) needsSystemd = needsSystemd || dynamic_cast<const checks::UnitCheck*>(row.check->check.get());
  if (needsSystemd && systemd.connect()) host.env.units = &systemd;
  size_t pending = rows.size();
  {
    checks::ProbeRunner runner(host.env);
    for (auto& row : rows)
      runner.run(row.check->check, row.check->timeout, [&row, &pending, &host](CheckResult r) {
        row.result = row.rules.judge(row.check->rules, std::move(r), host.loop.now());
        --pending;
      });
    while (pending > 0 && host.loop.runOnce(std::chrono::seconds(1))) {
    }
  }

  // Each service judged as the agent judges it (a non-critical check only degrades it);
  // the exit code is the worst service's.
  std::vector<std::pair<const config::ServiceSpec*, Status>> services;
  for (const auto& s : config->services) {
    if (!service.empty() && s.name != service) continue;
    std::vector<checks::CheckVerdict> verdicts;
    for (const auto& row : rows)
      if (row.service == &s) verdicts.push_back({row.check->critical, row.check->judged(row.result.status)});
    services.emplace_back(&s, checks::serviceHealth(verdicts));
  }
  Status overall = Status::healthy;
  for (const auto& [s, health] : services) overall = checks::worst(overall, health);
  if (json) {
    nlohmann::json out = {{"status", checks::toString(overall)}, {"services", nlohmann::json::array()}, {"checks", nlohmann::json::array()}};
    for (const auto& [s, health] : services) out["services"].push_back({{"service", s->name}, {"health", checks::toString(health)}});
    for (const auto& row : rows) {
      nlohmann::json perf = nlohmann::json::array();
      for (const auto& p : row.result.perfdata) {
        nlohmann::json d = {{"label", p.label}, {"value", p.value}, {"unit", p.unit}};
        if (p.warn) d["warn"] = *p.warn;
        if (p.crit) d["crit"] = *p.crit;
        if (p.min) d["min"] = *p.min;
        if (p.max) d["max"] = *p.max;
        perf.push_back(d);
      }
      out["checks"].push_back({{"service", row.service->name},
                               {"check", row.check->name},
                               {"type", row.check->type},
                               {"target", row.check->check->target()},
                               {"critical", row.check->critical},
                               {"status", checks::toString(row.result.status)},
                               {"message", row.result.message},
                               {"duration_ms", millis(row.result.duration)},
                               {"perfdata", perf},
                               {"rules", agent::rulesJson(row.check->rules, &row.rules)}});
    }
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::vector<std::vector<std::string>> table = {{"SERVICE", "CHECK", "STATUS", "TIME", "MESSAGE"}};
    char time[32];
    for (const auto& row : rows) {
      std::snprintf(time, sizeof time, "%.1fms", millis(row.result.duration));
      // A check whose failure only degrades its service says so where its status stands.
      table.push_back({row.service->name, row.check->name,
                       std::string(checks::toString(row.result.status)) + (row.check->critical ? "" : " (non-critical)"),
                       time, row.result.message});
    }
    std::cout << formatTable(table);
    for (const auto& row : rows) {
      if (!row.result.perfdata.empty()) std::cout << row.service->name << "/" << row.check->name << ": " << checks::valuesText(row.result.perfdata) << "\n";
      for (size_t i = 0; i < row.check->rules.size(); ++i)
        std::cout << "  rule " << row.check->rules[i].describe() << ": " << checks::RuleBook::says(row.check->rules[i], row.rules.states()[i]) << "\n";
    }
    for (const auto& [s, health] : services) std::cout << s->name << ": " << checks::toString(health) << "\n";
    std::printf("%zu checks: %s\n", rows.size(), std::string(checks::toString(overall)).c_str());
  }
  return checks::exitCodeFor(overall);
}

int planCommand(const std::string& configPath, const std::string& service) {
  auto config = loadOrReport(configPath, agent::systemdUnitNeeds());
  if (!config) return 1;
  if (!service.empty() && !config->findService(service)) {
    std::cerr << "no service named '" << service << "' in " << configPath << "\n";
    return 1;
  }
  for (const auto& w : config->warnings) std::cerr << "warning: " << w << "\n";
  int refused = 0;
  for (const auto& s : config->services) {
    if (!service.empty() && s.name != service) continue;
    if (s.isHost()) {
      std::cout << s.name << ": no recovery of its own; its " << s.checks.size() << " checks alert once for the machine\n";
      continue;
    }
    std::cout << s.name << " (" << s.unit << ")" << (s.recovery.enabled ? "" : ": recovery disabled") << "\n";
    if (!s.dependsOn.empty()) {
      std::vector<std::string> edges;
      for (const auto& d : s.dependsOn)
        edges.push_back(d.name + (d.hostCheck            ? " (a host check)"
                                  : d.fromUnit.empty() ? " (named in depends_on)"
                                                       : " (from systemd: " + s.unit + " " + d.fromUnit + ")"));
      std::cout << "  depends on " << joinWords(edges) << ": while one is down, a failure is put down to it and waits\n";
    } else if (s.dependsOnSystemd) {
      std::cout << "  depends on no service of medic's (depends_on: systemd found none among what " << s.unit
                << " needs, or could not read it: see the warnings)\n";
    }
    if (!s.recovery.dependencyRestart.empty())
      std::cout << "  restarted once after medic restarts one of those and verifies it (on_dependency_restart: restart)\n";
    if (!s.recovery.enabled) continue;
    if (!s.recovery.conditions.checksHealthy.empty()) {
      std::string names;
      for (const auto& c : s.recovery.conditions.checksHealthy) names += (names.empty() ? "" : ", ") + c;
      std::cout << "  each step waits while one of these host checks is failing: " << names << "\n";
    }
    auto printLadder = [&](const std::vector<config::StepSpec>& ladder, const std::string& indent) {
      int n = 0;
      for (const auto& step : ladder) {
        std::cout << indent << ++n << ". " << step.kind << " (" << step.attempts
                  << (step.attempts == 1 ? " attempt" : " attempts") << ")\n";
        for (const auto& line : step.step->describe(s.unit, step.timeout)) std::cout << indent << "   - " << line << "\n";
        if (auto why = step.step->refusal()) {
          std::cout << indent << "   - REFUSED now: " << *why << "\n";
          ++refused;
        }
      }
    };
    if (s.recovery.ladders.empty()) {
      printLadder(s.recovery.ladder, "  ");
    } else {
      // Which ladder each cause climbs, then each ladder.
      std::map<int, std::vector<std::string>> takes;
      for (const auto& c : s.possibleCauses()) {
        std::string what = c.kind == strategies::CauseKind::check ? "check '" + c.name + "'"
                           : c.kind == strategies::CauseKind::rule
                               ? (c.name.empty() ? "a rule of check '" + c.check + "'" : "rule '" + c.name + "' of check '" + c.check + "'")
                               : std::string(c.id());
        takes[s.recovery.chosen(c)].push_back(what);
      }
      std::cout << "  a failure climbs the first ladder whose when: names its cause:\n";
      auto printOne = [&](int index) {
        const auto& causes = takes[index];
        std::cout << "  " << s.recovery.ladderName(index) << ", taken by "
                  << (causes.empty() ? "no cause (it is never chosen)" : joinWords(causes)) << ":\n";
        printLadder(s.recovery.steps(index), "    ");
      };
      for (size_t i = 0; i < s.recovery.ladders.size(); ++i) printOne(int(i));
      printOne(config::RecoverySpec::kDefaultLadder);
    }
    std::cout << "  then verify: the unit active within " << formatDuration(s.recovery.verifyGrace)
              << " and every critical check passing; " << s.recovery.maxRounds << " rounds, "
              << formatDuration(s.recovery.cooldown) << " apart\n";
  }
  return refused ? 1 : 0;
}

int reportCommand(const std::string& configPath, Duration since, bool json) {
  auto config = loadOrReport(configPath);
  if (!config) return 1;
  recovery::StateStore store(config->agent.stateDir);
  std::string warning;
  recovery::SavedState state = store.load(warning);
  if (!warning.empty()) {
    std::cerr << warning << "\n";
    return 1;
  }
  int64_t now = wallClockMs();
  auto report = recovery::buildReport(state, now - std::chrono::duration_cast<std::chrono::milliseconds>(since).count(), now);
  std::cout << (json ? recovery::reportJson(report) : recovery::reportText(report));
  return 0;
}

int alertTestCommand(const std::string& configPath, const std::string& sinkName) {
  auto config = loadOrReport(configPath);
  if (!config) return 1;
  if (config->alerts.sinks.empty()) {
    std::cerr << "no alert sinks in " << configPath << " (alerts: sinks:); the journal always gets medic's events\n";
    return 1;
  }
  const config::SinkSpec* only = nullptr;
  for (const auto& s : config->alerts.sinks)
    if (s.name == sinkName) only = &s;
  if (!sinkName.empty() && !only) {
    std::cerr << "no alert sink named '" << sinkName << "' in " << configPath << "\n";
    return 1;
  }
  alerts::AlertRouter router(config->alerts, alerts::hostName());
  router.test(sinkName, wallClockMs());
  checks::ProbeHost probes;
  alerts::AlertTransport transport(probes.loop, probes.curl);
  size_t pending = 0;
  int failed = 0;
  for (const auto& o : router.take()) {
    const config::SinkSpec* sink = nullptr;
    for (const auto& s : config->alerts.sinks)
      if (s.name == o.sink) sink = &s;
    auto report = [&pending, &failed, name = o.sink](const std::string& where, alerts::Delivery d) {
      --pending;
      failed += !d.ok;
      std::printf("%-16s %-8s %6.0fms  %s%s\n", name.c_str(), d.ok ? "sent" : "FAILED", millis(d.took), d.message.c_str(),
                  where.empty() ? "" : (" (" + where + ")").c_str());
    };
    std::string body = payloadFor(*sink, o.n);
    if (sink->type == "alertmanager") {
      // Firing, then resolved at once: the receivers hear of it, and nothing stays firing
      // in Alertmanager (routed to people like a real alert) until its resolve timeout.
      alerts::Notification resolved = o.n;
      resolved.state = alerts::Notification::State::resolved;
      std::string end = payloadFor(*sink, resolved);
      for (const auto& url : sink->urls) {
        ++pending;
        std::string target = url + "/api/v2/alerts";
        transport.postJson(*sink, target, body, o.n.id, [&transport, sink, target, end, report, url, id = o.n.id](alerts::Delivery d) {
          if (!d.ok) return report(url, std::move(d));
          transport.postJson(*sink, target, end, id, [report, url](alerts::Delivery d) {
            if (d.ok) d.message += ", then resolved";
            report(url, std::move(d));
          });
        });
      }
    } else if (sink->type == "email") {
      ++pending;
      transport.sendMail(*sink, body, [report, to = sink->url](alerts::Delivery d) { report(to, std::move(d)); });
    } else {
      ++pending;
      transport.postJson(*sink, sink->url, body, o.n.id, [report, url = sink->url](alerts::Delivery d) { report(url, std::move(d)); });
    }
  }
  while (pending > 0 && probes.loop.runOnce(std::chrono::seconds(1))) {
  }
  return failed ? 1 : 0;
}

int runCommand(const RunOptions& options) {
  strategies::DbusEndpoint systemd;
  systemd.busAddress = options.busAddress;
  auto config = loadOrReport(options.configPath, agent::systemdUnitNeeds(systemd));
  if (!config) return 1;
  setupLogging(config->agent.logLevel);
  blockAgentSignals();  // before the agent starts its threads; they inherit the mask
  agent::AgentOptions agentOptions;
  agentOptions.exitAfter = options.exitAfter;
  agentOptions.reportFile = options.reportFile;
  agentOptions.systemd = systemd;
  agent::Agent agent(options.configPath, std::move(*config), agentOptions);
  return agent.run();
}

}  // namespace medic::cli
