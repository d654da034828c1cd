#pragma once
/// An alert notification, and how each kind of sink puts it into words: the webhook's JSON,
/// Slack's, an e-mail (headers and body), Alertmanager's v2 alerts. Pure functions: the
/// delivery (alerts/alerter.h) sends what these return.
#include <cstdint>
#include <string>
#include <vector>

#include "config/spec.h"

namespace medic::alerts {

/// Why a service failed, as alerts say it: the failure's cause (strategies/cause.h) and the
/// unit's own journal around it.
struct Why {
  std::string cause;  ///< its kind: signal, exit-code, check, ...; empty: not about a failure
  checks::Severity severity = checks::Severity::warning;
  std::string text;   ///< "demo.service was killed by signal 9 (KILL)"
  std::vector<std::string> journal;  ///< the unit's last lines, oldest first (strategies/unit_journal.h)
  bool drill = false;  ///< a rehearsal (`medic drill`), not an outage
  /// cause `dependency`: the service (or host check) it is put down to, which has alerts of its own
  std::string causedBy;

  bool empty() const { return cause.empty(); }
};

struct Notification {
  enum class State { firing, resolved, event };
  uint64_t id = 0;       ///< unique and increasing on this host (receivers may de-duplicate by it)
  State state = State::event;
  std::string alert;     ///< firing/resolved: MedicServiceUnhealthy, ...; event: medic's event name
  checks::Severity severity = checks::Severity::info;
  std::string service;   ///< empty: about medic itself
  std::string unit, host;
  std::string sink;      ///< MedicAlertSinkFailing: the sink that fails (it is not told about itself)
  std::string summary;   ///< one readable line
  std::vector<std::string> details;  ///< the failing checks' messages, and such
  Why why;               ///< about a failure: its cause and the unit's journal
  int64_t atMs = 0;      ///< when this happened (wall clock)
  int64_t startsAtMs = 0;  ///< firing/resolved: when the alert started firing
  bool maintenance = false;  ///< the service is paused by an operator
  bool reminder = false;     ///< a still-firing alert, repeated
  bool test = false;         ///< `medic alert test`
  /// Firing, but the service has not failed its threshold yet (Prometheus' "pending"): only
  /// sinks with `every_failure` hear of it until it has.
  bool held = false;
  std::vector<Notification> heldBack;  ///< a digest: what a sink's rate limit held back

  /// What firing and resolved share: the alert and its service.
  std::string key() const { return alert + "/" + service + (sink.empty() ? "" : "/" + sink); }
  bool isDigest() const { return !heldBack.empty(); }
};

std::string_view toString(Notification::State s);
using medic::isoTime;  ///< 2026-11-22T10:01:02.345Z (runtime/duration.h)
std::string hostName();           ///< this machine's name, as alerts and `medic status` give it

/// "[CRITICAL] web on host1: gave up after 3 rounds (...): manual intervention needed"
std::string headline(const Notification& n);
/// medic's own JSON (docs/alerts.md).
std::string webhookJson(const Notification& n);
/// Slack's incoming-webhook JSON: {"text": ...} with mrkdwn.
std::string slackJson(const Notification& n);
/// A whole RFC 5322 message: Date, Message-ID, From, To, Subject (RFC 2047 when not ASCII),
/// MIME headers, then a plain-text body. CRLF line ends.
std::string emailMessage(const Notification& n, const config::SinkSpec& sink, int64_t nowMs);
/// Alertmanager's POST /api/v2/alerts body for these firing or resolved alerts. An
/// annotation is kept short: the journal's last lines that fit kAnnotationJournalBytes.
constexpr size_t kAnnotationJournalBytes = 1024;
std::string alertmanagerJson(const std::vector<Notification>& alerts);

/// The request body (or e-mail) a sink of this type and format sends for `n`.
std::string payloadFor(const config::SinkSpec& sink, const Notification& n);

}  // namespace medic::alerts
