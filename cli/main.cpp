// medic: CLI wiring only. Each subcommand's work lives in cli/commands.cpp.
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "control/control_client.h"
#include "runtime/event_loop.h"
#include "checks/check.h"
#include "config/loader.h"
#include "strategies/registry.h"
#include "version.h"

int main(int argc, char** argv) {
  // Before any thread exists: the event loop watches children. SIGTERM and SIGHUP are
  // blocked by `run` alone (the agent takes them as events); every other command dies of them.
  medic::blockChildSignals();

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
  check->footer("Exit code: the worst service's health, each judged as the agent does (a non-critical check only\n"
                "degrades its service): 0 healthy, 1 degraded, 2 unhealthy, 3 unknown.");

  auto* plan = app.add_subcommand("plan", "show what each service's recovery would do, touching nothing (a dry run)");
  plan->add_option("-s,--service", service, "only this service");

  auto* report = app.add_subcommand("report", "faults by cause and severity, and how their recoveries went, from medic's history");
  std::string since = "7d";
  report->add_option("--since", since, "how far back: 24h, 7d, 90d (medic keeps 90 days)")->capture_default_str();
  report->add_flag("--json", json, "print JSON instead of text");

  auto* run = app.add_subcommand("run", "run the agent in the foreground (what medic.service starts)");
  medic::cli::RunOptions runOptions;
  std::string exitAfter;
  run->add_option("--exit-after", exitAfter, "stop by itself after this long (e.g. 30s), for demos and benchmarks");
  run->add_option("--report", runOptions.reportFile, "write run figures (scheduling lateness) as JSON here at exit");
  run->add_option("--bus-address", runOptions.busAddress, "reach systemd on this D-Bus address instead of the system bus (tests)");

  // Talking to the running daemon (its control interface on the system bus).
  const char* controlFooter =
      "Asks the running medic over D-Bus (org.medic.Agent1). Exit code: 0 done, 1 refused, 3 medic not running, "
      "4 permission denied (see docs/control.md).";
  auto* status = app.add_subcommand("status", "what the running medic sees: every service, or one in detail");
  std::string target;
  status->add_option("service", target, "one service: its checks and recovery history too");
  status->add_flag("--json", json, "print JSON (shape: docs/status.schema.json, described in docs/control.md)");
  status->footer("Exit code: 0 healthy, 1 degraded, 2 unhealthy, 3 unknown (medic not running), 4 permission denied.");

  auto* pause = app.add_subcommand("pause", "hold off a service's recovery (maintenance); its checks keep running");
  pause->add_option("service", target, "the service")->required();
  std::string pauseFor, reason;
  pause->add_option("--for", pauseFor, "end the pause by itself after this long (e.g. 30m); default: until resumed");
  pause->add_option("--reason", reason, "why, for the journal and `medic status`");
  pause->footer(controlFooter);

  auto* resume = app.add_subcommand("resume", "end a pause; a service still failing is recovered at once");
  resume->add_option("service", target, "the service")->required();
  resume->footer(controlFooter);

  auto* recover = app.add_subcommand("recover", "run a recovery step now and wait for its verification");
  recover->add_option("service", target, "the service")->required();
  std::string step, waitFor = "15m";
  std::vector<std::string> steps;  // every registered step, and failback (leaving a failover, not a ladder step)
  for (const auto& t : medic::strategies::stepTypes()) steps.emplace_back(t.name);
  steps.emplace_back("failback");
  recover->add_option("--step", step, "which step of the service's ladder (default: its first); failback: leave a failover now")
      ->check(CLI::IsMember(steps));
  recover->add_option("--timeout", waitFor, "stop waiting after this long")->capture_default_str();
  recover->footer("Exit code: 0 healed, 1 not healed or refused, 3 medic not running, 4 permission denied.");

  auto* drill = app.add_subcommand("drill", "rehearse a failure of a healthy service and report how its recovery went");
  std::string fault = "check", within;
  bool drillJson = false;
  drill->add_option("service", target, "the service")->required();
  drill->add_option("--fault", fault,
                    "kill (SIGKILL its main process), stop (stop its unit behind medic's back), or check=NAME (medic "
                    "treats that check as failing; no fault is injected, but the ladder's first step then really runs "
                    "against the service; 'check' alone: its first critical check)")
      ->capture_default_str();
  drill->add_option("--within", within, "how long it may take to heal (default: from the ladder's own timeouts)");
  drill->add_flag("--json", drillJson, "print JSON (for CI pipelines)");
  drill->footer("Exit code: 0 healed in time (and within its rto:), 1 not; refused (not healthy, paused, recovery off) is 1.");

  auto* reset = app.add_subcommand("reset", "leave gave-up (or flapping, cooldown, blocked) and clear the counters");
  reset->add_option("service", target, "the service")->required();
  reset->footer(controlFooter);

  auto* heartbeat = app.add_subcommand("heartbeat", "report a heartbeat check (type: heartbeat) alive, from the service it watches");
  heartbeat->add_option("check", target, "SERVICE/CHECK")->required();
  std::string beatStatus = "ok", beatMessage;
  bool quiet = false;
  heartbeat->add_option("--status", beatStatus, "what the service says of itself")
      ->check(CLI::IsMember({"ok", "warning", "critical"}))
      ->capture_default_str();
  heartbeat->add_option("--message", beatMessage, "a short line for `medic status` and alerts");
  heartbeat->add_flag("-q,--quiet", quiet, "print nothing when the heartbeat is recorded (for cron jobs)");
  heartbeat->footer("Who may push: root, the check's `users`, or else the processes of the service's own unit.\n"
                    "Exit code: 0 recorded, 1 refused (no such check), 3 medic not running, 4 permission denied, 64 usage.");

  auto* alert = app.add_subcommand("alert", "alert sinks");
  alert->require_subcommand(1);
  auto* alertTest = alert->add_subcommand("test", "send a test alert through every sink (or one) and report each result");
  std::string sinkName;
  alertTest->add_option("--sink", sinkName, "only this sink");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version end here with 0; every usage error says what is wrong and exits
    // 64 (EX_USAGE), as docs/control.md says, not CLI11's own code for the kind of error.
    int code = app.exit(e);
    return code == 0 ? 0 : medic::checks::exitcode::usage;
  }

  auto duration = [](const std::string& option, const std::string& text) {
    bool tooLong = false;
    auto d = medic::parseDuration(text, &tooLong);
    if (!d) {
      std::cerr << option << ": " << (tooLong ? "longer than " + std::string(medic::kMaxDurationText) : "not a duration")
                << ": " << text << " (e.g. 90s, 30m, 2h)\n";
      std::exit(medic::checks::exitcode::usage);
    }
    return *d;
  };
  if (*alertTest) return medic::cli::alertTestCommand(config, sinkName);
  if (*status) return medic::control::statusCommand(target, json);
  if (*pause) return medic::control::pauseCommand(target, pauseFor.empty() ? medic::Duration::zero() : duration("--for", pauseFor), reason);
  if (*resume) return medic::control::resumeCommand(target);
  if (*heartbeat) {
    auto slash = target.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == target.size()) {
      std::cerr << "heartbeat: name the check as SERVICE/CHECK, got '" << target << "'\n";
      return medic::checks::exitcode::usage;
    }
    return medic::control::heartbeatCommand(target.substr(0, slash), target.substr(slash + 1), beatStatus, beatMessage, quiet);
  }
  if (*recover) return medic::control::recoverCommand(target, step, duration("--timeout", waitFor));
  if (*reset) return medic::control::resetCommand(target);
  if (*drill) return medic::control::drillCommand(target, fault, within.empty() ? medic::Duration::zero() : duration("--within", within), drillJson);

  if (*validate) return medic::cli::validateCommand(config);
  if (*check) return medic::cli::checkCommand(config, service, json);
  if (*plan) return medic::cli::planCommand(config, service);
  if (*report) return medic::cli::reportCommand(config, duration("--since", since), json);
  if (*run) {
    runOptions.configPath = config;
    if (!exitAfter.empty()) runOptions.exitAfter = duration("--exit-after", exitAfter);
    return medic::cli::runCommand(runOptions);
  }
  return 0;
}
