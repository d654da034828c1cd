#include "strategies/unit_jobs.h"

#include "runtime/logging.h"

#include <spdlog/spdlog.h>

namespace medic::strategies {

namespace {

StepOutcome jobOutcome(const std::string& service, const std::string& what, const JobOutcome& o) {
  LogAbout about(service);  // (the job's end comes on its own; so do the lines below)
  double ms = std::chrono::duration<double, std::milli>(o.took).count();
  if (o.ok()) {
    spdlog::info("{}: {} done in {:.0f}ms", service, what, ms);
    return {StepOutcome::Result::done, "done"};
  }
  spdlog::error("{}: {} ended '{}'{}{} after {:.0f}ms", service, what, o.result, o.error.empty() ? "" : ": ", o.error, ms);
  return {StepOutcome::Result::failed, "systemd's job ended '" + o.result + "'" + (o.error.empty() ? "" : ": " + o.error)};
}

}  // namespace

void startUnit(SystemdClient& systemd, const std::string& service, JobKind kind, const std::string& unit,
               Duration timeout, SystemdClient::JobDone done) {
  // systemd's start limit (StartLimitBurst starts within StartLimitIntervalSec) refuses a
  // start without trying it, and would turn a crash loop into an outage until the interval
  // ends. Its Result= says start-limit-hit only when the unit had not failed already, so the
  // sign read here is the unit's own: the job failed, and the unit never began to start.
  systemd.unitState(unit, [&systemd, service, kind, unit, timeout, done](std::optional<UnitState> before, std::string) {
    uint64_t lastStart = before ? before->inactiveExitUs : 0;
    systemd.runJob(kind, unit, timeout, [&systemd, service, kind, unit, timeout, done, lastStart](JobOutcome o) {
      if (o.ok() || o.result != "failed") return done(std::move(o));
      systemd.unitState(unit, [&systemd, service, kind, unit, timeout, done, o, lastStart](std::optional<UnitState> st, std::string) {
        bool refused = st && (st->result == "start-limit-hit" || (st->failed() && st->inactiveExitUs == lastStart));
        if (!refused) return done(o);
        LogAbout about(service);
        // medic's own flapping limit still bounds how often it recovers: resetting is not
        // overriding a crash loop, and it is said.
        spdlog::warn("{}: {} hit systemd's start limit (\"Start request repeated too quickly\"); resetting it "
                     "(systemctl reset-failed {}) and trying once more: medic's own flapping limit still applies",
                     service, unit, unit);
        systemd.resetFailed(unit, [&systemd, service, kind, unit, timeout, done, o](std::string error) {
          if (!error.empty()) {
            LogAbout about(service);
            spdlog::error("{}: cannot reset {}'s start limit: {}", service, unit, error);
            return done(o);
          }
          systemd.runJob(kind, unit, timeout, done);
        });
      });
    });
  });
}

void unitJob(SystemdClient& systemd, const std::string& service, JobKind kind, const std::string& unit,
             Duration timeout, StepDone done) {
  auto report = [service, kind, unit, done](JobOutcome o) { done(jobOutcome(service, std::string(toString(kind)) + " of " + unit, o)); };
  if (kind == JobKind::start || kind == JobKind::restart) return startUnit(systemd, service, kind, unit, timeout, report);
  systemd.runJob(kind, unit, timeout, report);
}

void stopThenStart(SystemdClient& systemd, const std::string& service, const std::string& stop,
                   const std::string& start, Duration timeout, StepDone done) {
  unitJob(systemd, service, JobKind::stop, stop, timeout, [&systemd, service, start, timeout, done](StepOutcome stopped) {
    if (stopped.result != StepOutcome::Result::done) return done(stopped);
    unitJob(systemd, service, JobKind::start, start, timeout, done);
  });
}

}  // namespace medic::strategies
