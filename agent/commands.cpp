#include "agent/commands.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "agent/check_runner.h"
#include "agent/logging.h"
#include "agent/probe_host.h"
#include "config/loader.h"

namespace medic::agent {

using checks::CheckResult;
using checks::Status;

namespace {

std::optional<config::Config> loadOrReport(const std::string& path) {
  auto result = config::loadConfig(path);
  if (!result.config) {
    std::cerr << result.errors.str();
    std::cerr << result.errors.size() << (result.errors.size() == 1 ? " error" : " errors") << " in " << path
              << "; nothing was changed\n";
  }
  return std::move(result.config);
}

double millis(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

int validateCommand(const std::string& configPath) {
  auto config = loadOrReport(configPath);
  if (!config) return 1;
  std::cout << configPath << ": OK, " << config->services.size() << " services, " << config->checkCount()
            << " checks in " << config->files.size() << (config->files.size() == 1 ? " file" : " files") << "\n";
  return 0;
}

int checkCommand(const std::string& configPath, const std::string& service, bool json) {
  auto config = loadOrReport(configPath);
  if (!config) return 3;
  if (!service.empty() && !config->findService(service)) {
    std::cerr << "no service named '" << service << "' in " << configPath << "\n";
    return 3;
  }
  struct Row {
    const config::ServiceSpec* service;
    const config::CheckSpec* check;
    CheckResult result;
  };
  std::vector<Row> rows;
  for (const auto& s : config->services)
    if (service.empty() || s.name == service)
      for (const auto& c : s.checks) rows.push_back({&s, &c, CheckResult::unknown("did not finish")});

  ProbeHost host;
  size_t pending = rows.size();
  {
    ProbeRunner runner(host.env);
    for (auto& row : rows)
      runner.run(row.check->check, row.check->timeout, [&row, &pending](CheckResult r) {
        row.result = std::move(r);
        --pending;
      });
    while (pending > 0 && host.loop.runOnce(std::chrono::seconds(1))) {
    }
  }

  Status overall = Status::healthy;
  for (const auto& row : rows) overall = checks::worst(overall, row.result.status);
  if (json) {
    nlohmann::json out = {{"status", checks::toString(overall)}, {"checks", nlohmann::json::array()}};
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
                               {"perfdata", perf}});
    }
    std::cout << out.dump(2) << "\n";
  } else {
    size_t ws = 7, wc = 5;
    for (const auto& row : rows) {
      ws = std::max(ws, row.service->name.size());
      wc = std::max(wc, row.check->name.size());
    }
    std::printf("%-*s  %-*s  %-9s  %9s  %s\n", int(ws), "SERVICE", int(wc), "CHECK", "STATUS", "TIME", "MESSAGE");
    for (const auto& row : rows)
      std::printf("%-*s  %-*s  %-9s  %7.1fms  %s\n", int(ws), row.service->name.c_str(), int(wc),
                  row.check->name.c_str(), std::string(checks::toString(row.result.status)).c_str(),
                  millis(row.result.duration), row.result.message.c_str());
    std::printf("%zu checks: %s\n", rows.size(), std::string(checks::toString(overall)).c_str());
  }
  return checks::exitCodeFor(overall);
}

int runCommand(const RunOptions& options) {
  auto config = loadOrReport(options.configPath);
  if (!config) return 1;
  setupLogging(config->agent.logLevel);

  ProbeHost host;
  std::map<std::pair<std::string, std::string>, Status> last;
  CheckRunner runner(host.loop, host.env, config->agent.timerSlack,
                     [&last](const ScheduledCheck& c, const CheckResult& r) {
                       auto key = std::make_pair(c.service, c.spec.name);
                       auto it = last.find(key);
                       if (it != last.end() && it->second == r.status) return;  // only changes are news
                       auto level = r.status == Status::healthy ? spdlog::level::info
                                    : r.status == Status::degraded ? spdlog::level::warn
                                                                   : spdlog::level::err;
                       std::string from = it == last.end() ? "first result" : std::string(checks::toString(it->second));
                       spdlog::log(level, "{}/{}: {} -> {}: {} ({:.1f}ms)", c.service, c.spec.name, from,
                                   checks::toString(r.status), r.message, millis(r.duration));
                       last[key] = r.status;
                     });
  for (const auto& s : config->services)
    for (const auto& c : s.checks) runner.add(s.name, c);

  auto stop = [&host](const char* why) {
    spdlog::info("{}: stopping", why);
    host.loop.exit(0);
  };
  EventSource term = host.loop.addSignal(SIGTERM, [&] { stop("SIGTERM"); });
  EventSource intr = host.loop.addSignal(SIGINT, [&] { stop("SIGINT"); });
  EventSource hup = host.loop.addSignal(SIGHUP, [] {
    spdlog::warn("SIGHUP: configuration reload is not implemented yet; still running the configuration loaded at start");
  });
  EventSource deadline;
  if (options.exitAfter)
    deadline = host.loop.addTimer(host.loop.now() + *options.exitAfter, std::chrono::milliseconds(1),
                                  [&] { stop("--exit-after elapsed"); });

  runner.start();
  host.loop.enableWatchdog();
  spdlog::info("medic running: {} services, {} checks from {}", config->services.size(), config->checkCount(),
               options.configPath);
  sd_notifyf(0, "READY=1\nSTATUS=running %zu checks for %zu services", config->checkCount(), config->services.size());
  int rc = host.loop.run();
  sd_notify(0, "STOPPING=1");

  if (!options.reportFile.empty()) {
    std::vector<uint32_t> late = runner.latenessMicros();
    std::sort(late.begin(), late.end());
    auto pct = [&](double p) { return late.empty() ? 0.0 : late[std::min(late.size() - 1, size_t(p * late.size()))] / 1000.0; };
    nlohmann::json report = {{"checks_started", runner.started()},
                             {"lateness_ms", {{"p50", pct(0.50)}, {"p99", pct(0.99)}, {"max", pct(1.0)}}}};
    std::ofstream(options.reportFile) << report.dump(2) << "\n";
  }
  return rc < 0 ? 1 : 0;
}

}  // namespace medic::agent
