// medic: CLI wiring only. Each subcommand's work lives in agent/commands.cpp.
#include <CLI/CLI.hpp>

#include "agent/commands.h"
#include "agent/event_loop.h"
#include "config/loader.h"
#include "version.h"

int main(int argc, char** argv) {
  // Before any thread exists: the event loop takes these signals as events.
  medic::agent::blockAgentSignals();

  CLI::App app{"medic - health checks and automatic recovery for systemd services", "medic"};
  app.set_version_flag("--version", std::string("medic ") + MEDIC_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // -c works before or after the subcommand
  app.footer("Configuration: " + std::string(medic::config::kDefaultConfigPath) +
             " and the files it includes (checks.d/*.yaml).\nDocumentation: /usr/share/doc/medic/");
  std::string config = medic::config::kDefaultConfigPath;
  app.add_option("-c,--config", config, "main configuration file")->capture_default_str();

  auto* validate = app.add_subcommand("validate", "check the configuration and report every error with file:line:col");

  auto* check = app.add_subcommand("check", "run every check once, now, and print the results");
  std::string service;
  bool json = false;
  check->add_option("-s,--service", service, "only this service's checks");
  check->add_flag("--json", json, "print JSON instead of a table");
  check->footer("Exit code: 0 all healthy, 1 degraded, 2 unhealthy, 3 unknown.");

  auto* plan = app.add_subcommand("plan", "show what each service's recovery would do, touching nothing (a dry run)");
  plan->add_option("-s,--service", service, "only this service");

  auto* run = app.add_subcommand("run", "run the agent in the foreground (what medic.service starts)");
  medic::agent::RunOptions runOptions;
  std::string exitAfter;
  run->add_option("--exit-after", exitAfter, "stop by itself after this long (e.g. 30s), for demos and benchmarks");
  run->add_option("--report", runOptions.reportFile, "write run figures (scheduling lateness) as JSON here at exit");
  run->add_option("--bus-address", runOptions.busAddress, "reach systemd on this D-Bus address instead of the system bus (tests)");

  CLI11_PARSE(app, argc, argv);

  if (*validate) return medic::agent::validateCommand(config);
  if (*check) return medic::agent::checkCommand(config, service, json);
  if (*plan) return medic::agent::planCommand(config, service);
  if (*run) {
    runOptions.configPath = config;
    if (!exitAfter.empty()) {
      runOptions.exitAfter = medic::parseDuration(exitAfter);
      if (!runOptions.exitAfter) {
        std::cerr << "--exit-after: not a duration: " << exitAfter << "\n";
        return 2;
      }
    }
    return medic::agent::runCommand(runOptions);
  }
  return 0;
}
