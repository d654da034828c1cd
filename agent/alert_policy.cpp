// What the agent tells the alerter: for each service, what should be firing now (from its
// checks, its unit and its recovery phase), and the recovery events worth a notification.
#include <spdlog/spdlog.h>

#include "agent/alert_policy.h"

#include "runtime/logging.h"
#include "alerts/alert_names.h"

#include <set>

namespace medic::agent {

using checks::Status;
using checks::Severity;

namespace {

// The recovery events that make a notification, and how much each matters. Phases that last
// (gave-up, blocked, flapping, failed over, paused) are alerts that fire and resolve instead.
std::optional<Severity> eventSeverity(recovery::Event event) {
  using recovery::Event;
  switch (event) {
    case Event::recoveryStarted: case Event::recovered: case Event::healed: case Event::failedBack: case Event::reset:
      return Severity::info;
    case Event::stepFailed: case Event::roundFailed: case Event::failbackFailed: case Event::rtoExceeded:
      return Severity::warning;
    default:
      return std::nullopt;
  }
}

}  // namespace

// A failure's alerts go out with the unit's journal lines: from the first alert about a new
// failure, the service's alerts wait (in order, as decided) for them to be read.
void AlertPolicy::readJournalIfNew(const std::string& name, const Supervisor::Service& s) {
  LogAbout about(name);
  uint64_t failure = s.machine->failures();
  Memory& m = services_[name];
  if (m.reading || !journal_ || s.spec->isHost() || failure == 0 || m.readFor == failure) return;
  m.readFor = failure;
  supervisor_.keepExcerpt(name, {});  // (the last failure's lines are not this one's)
  Reading& r = m.reading.emplace();
  r.failure = failure;
  r.deadline = clock_.at(clock_.now() + kJournalWait, [this, name, failure] {
    spdlog::warn("{}: the unit's journal was not read within {}; its alerts go without it", name, formatDuration(kJournalWait));
    journalRead(name, failure, {});
  });
  journal_(s.spec->unit, [this, name, failure](std::vector<std::string> lines) { journalRead(name, failure, std::move(lines)); });
}

void AlertPolicy::journalRead(const std::string& name, uint64_t failure, std::vector<std::string> lines) {
  auto it = services_.find(name);
  if (it == services_.end() || !supervisor_.find(name)) return;  // removed by a reload meanwhile: nothing to say of it
  Memory& m = it->second;
  if (!lines.empty() && failure == m.readFor) supervisor_.keepExcerpt(name, lines);
  if (!m.reading || m.reading->failure != failure) return;  // (late: its alerts went without it)
  Reading r = std::move(*m.reading);
  m.reading.reset();
  for (const auto& call : r.calls) call(lines);
}

void AlertPolicy::tell(const std::string& name, Call call) {
  LogAbout about(name);
  if (auto m = services_.find(name); m != services_.end() && m->second.reading)
    return m->second.reading->calls.push_back(std::move(call));
  call({});
}

alerts::Why AlertPolicy::why(const std::string& name, const strategies::Cause& cause) const {
  if (!cause.known()) return {};
  alerts::Why w{std::string(cause.id()), cause.severity(), cause.words, {}, false,
                cause.kind == strategies::CauseKind::dependency ? cause.name : ""};
  auto st = supervisor_.saved().services.find(name);
  if (st != supervisor_.saved().services.end()) {
    w.journal = st->second.excerpt;
    w.drill = st->second.drill;
  }
  return w;
}

// "check: its message" for the checks whose latest result is not healthy, by name: the
// first kFailingShown of them and how many more. (An alert is read by people; and every
// health news builds this list: all 10,000 checks of a service failing at once, listed in
// full, cost 10^8 copies and put medic 18 s behind.)
constexpr size_t kFailingShown = 20;
static std::vector<std::string> failingChecks(const Supervisor::Service& s) {
  std::vector<std::string> failing;
  for (const auto& check : s.notHealthy) {
    if (failing.size() == kFailingShown) break;
    if (const auto* r = s.last(check)) failing.push_back(check + ": " + r->result.message);
  }
  if (s.notHealthy.size() > failing.size())
    failing.push_back("and " + std::to_string(s.notHealthy.size() - failing.size()) + " more checks not healthy");
  return failing;
}

void AlertPolicy::event(const std::string& name, const recovery::Decision& d) {
  const Supervisor::Service* s = supervisor_.find(name);
  if (!s) return;
  services_[name].said[d.event] = d.message;
  auto severity = eventSeverity(d.event);
  if (!severity) return;
  if (d.event == recovery::Event::rtoExceeded) severity = s->spec->severity.value_or(*severity);  // (the service's objective)
  readJournalIfNew(name, *s);
  std::vector<std::string> details = failingChecks(*s);
  alerts::Why about = recovery::concernsFailure(d.event) ? why(name, s->machine->cause()) : alerts::Why{};
  tell(name, [this, name, unit = s->spec->unit, event = std::string(toString(d.event)), severity = *severity, message = d.message,
              details, paused = s->machine->paused(), about](const std::vector<std::string>& journal) mutable {
    if (!about.empty() && !journal.empty()) about.journal = journal;
    alerter_.event(name, unit, event, severity, message, details, paused, about);
  });
}

void AlertPolicy::servicesChanged() {
  std::erase_if(services_, [this](const auto& entry) { return supervisor_.find(entry.first) == nullptr; });
}

void AlertPolicy::reconcile(const std::string& name) {
  const Supervisor::Service* s = supervisor_.find(name);
  if (!s) return;
  readJournalIfNew(name, *s);
  // Until every check has answered once, health is not known: say nothing rather than
  // resolve (or fire) on a guess, e.g. right after medic restarted.
  bool known = Supervisor::healthKnown(*s);
  std::vector<alerts::Condition> wanted;
  std::vector<std::string> failing = failingChecks(*s);
  if (s->unit.known() && !s->unit.up())
    failing.push_back("systemd: " + s->spec->unit + " is " + std::string(strategies::toString(s->unit.activeState)));
  const auto& saidOf = services_[name].said;
  auto said = [&](recovery::Event event, const std::string& fallback) {
    auto m = saidOf.find(event);
    return m == saidOf.end() ? fallback : m->second;
  };
  // The service's own severity, if it set one, for everything about it; a failing check's
  // own severity decides the health alert (the highest of those failing).
  auto severity = [&](Severity fallback) { return s->spec->severity.value_or(fallback); };
  std::optional<Severity> checkSeverity = s->failingSeverity();
  // The host's checks alert as the machine's, under their own names.
  const char* unhealthyAlert = s->spec->isHost() ? alerts::names::kHostUnhealthy : alerts::names::kServiceUnhealthy;
  const char* degradedAlert = s->spec->isHost() ? alerts::names::kHostDegraded : alerts::names::kServiceDegraded;
  // What is failing, as far as known: a detected failure's cause; the unit's being down
  // (held while systemd's Result is still being read); nothing for a blip.
  const recovery::RecoveryMachine& m = *s->machine;
  bool unitDown = s->unit.down();
  alerts::Why current;
  if (m.phase() != recovery::Phase::healthy || m.pastThreshold()) current = why(name, m.cause());
  else if (unitDown) current = why(name, m.downCause());
  if (known) {
    Status h = supervisor_.health(*s);
    if (h == Status::unhealthy) {
      // A blip is not news: held until the service's own threshold says unhealthy (what
      // starts recovery), or systemd says the unit is down, or recovery is under way.
      // (A failed unit's alert waits for systemd's Result, read at once, to say why.)
      bool resultPending = s->unit.failed() && !m.downCauseKnown();
      bool held = !m.pastThreshold() && (!unitDown || resultPending) && m.phase() == recovery::Phase::healthy;
      wanted.push_back({unhealthyAlert, checkSeverity.value_or(severity(Severity::warning)), name + " is unhealthy",
                        failing, "", held, current});
    }
    else if (h == Status::degraded) wanted.push_back({degradedAlert, Severity::info, name + " is degraded", failing, ""});
  }
  // Until then, what fires for its health stays as it is.
  std::set<std::string> leaveAlone;
  if (!known) leaveAlone = {unhealthyAlert, degradedAlert};
  switch (m.phase()) {
    case recovery::Phase::gaveUp:
      wanted.push_back({alerts::names::kRecoveryGaveUp, severity(Severity::critical), said(recovery::Event::gaveUp, "gave up: manual intervention needed"), failing, "", false, current});
      break;
    case recovery::Phase::blocked:
      wanted.push_back({alerts::names::kRecoveryBlocked, severity(Severity::warning), said(recovery::Event::blocked, "recovery held by its conditions"), failing, "", false, current});
      break;
    case recovery::Phase::flapping:
      wanted.push_back({alerts::names::kServiceFlapping, severity(Severity::warning), said(recovery::Event::flapping, "flapping: recovery held"), failing, "", false, current});
      break;
    case recovery::Phase::failedOver:
    case recovery::Phase::failingBack:
      wanted.push_back({alerts::names::kServiceFailedOver, severity(Severity::warning), said(recovery::Event::failedOver, "runs on its backup unit"), {}, ""});
      break;
    default:
      break;
  }
  if (m.paused())
    wanted.push_back({alerts::names::kServicePaused, Severity::info, "recovery paused (maintenance): " + m.pauseReason(), {}, ""});
  tell(name, [this, name, unit = s->spec->unit, wanted, paused = m.paused(), leaveAlone](const std::vector<std::string>& journal) mutable {
    for (auto& c : wanted)
      if (!c.why.empty() && !journal.empty()) c.why.journal = journal;
    alerter_.reconcile(name, unit, wanted, paused, leaveAlone);
  });
}

}  // namespace medic::agent
