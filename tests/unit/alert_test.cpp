// Alerts without I/O: which notifications the router makes (one per change, a resolved for
// every firing), where they go, the rate limit and its digest, reminders, Alertmanager's
// refresh, persistence; and each sink's words (webhook, Slack, e-mail, Alertmanager).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "alerts/alert_router.h"

using namespace medic;
using namespace medic::alerts;
using checks::Severity;
using json = nlohmann::json;
using State = alerts::Notification::State;

namespace {

const int64_t t0 = 1'795'000'000'000;  // 2026-11-18T11:06:40Z

config::SinkSpec sink(const std::string& name, const std::string& type = "webhook") {
  config::SinkSpec s;
  s.name = name;
  s.type = type;
  s.url = "http://127.0.0.1:1/hook";
  s.urls = {"http://127.0.0.1:9093"};
  s.rateMax = type == "alertmanager" ? 0 : 10;
  return s;
}

alerts::Condition unhealthy(const std::string& why = "health: HTTP 500") {
  return {"MedicServiceUnhealthy", Severity::warning, "web is unhealthy", {why}, ""};
}

std::vector<std::string> described(const std::vector<alerts::AlertRouter::Outgoing>& out) {
  std::vector<std::string> d;
  for (const auto& o : out)
    d.push_back(o.sink + " " + std::string(toString(o.n.state)) + " " + o.n.alert + (o.refresh ? " (refresh)" : ""));
  return d;
}

struct Router {
  config::AlertsSpec spec;
  alerts::AlertRouter r{spec, "host1"};
  explicit Router(std::vector<config::SinkSpec> sinks) {
    spec.sinks = std::move(sinks);
  }
};

TEST(AlertRouter, OneFiringPerChangeAndAResolvedForIt) {
  Router f({sink("hook")});
  f.r.reconcile("web", "web.service", {unhealthy()}, false, t0);
  f.r.reconcile("web", "web.service", {unhealthy("health: still 500")}, false, t0 + 1000);
  auto out = f.r.take();
  ASSERT_EQ(described(out), std::vector<std::string>{"hook firing MedicServiceUnhealthy"}) << "not one per failing run";
  EXPECT_EQ(out[0].n.details, std::vector<std::string>{"health: HTTP 500"});
  f.r.reconcile("web", "web.service", {}, false, t0 + 2000);
  out = f.r.take();
  ASSERT_EQ(described(out), std::vector<std::string>{"hook resolved MedicServiceUnhealthy"});
  EXPECT_EQ(out[0].n.startsAtMs, t0) << "the resolved one says when it started";
  EXPECT_EQ(out[0].n.atMs, t0 + 2000);
  EXPECT_EQ(headline(out[0].n), "[RESOLVED] web on host1: web is unhealthy");
}

TEST(AlertRouter, LeavesAloneWhatItIsToldToWhileHealthIsNotKnown) {
  Router f({sink("hook")});
  f.r.reconcile("web", "web.service", {unhealthy()}, false, t0);
  f.r.take();
  f.r.reconcile("web", "web.service", {}, false, t0 + 1, {"MedicServiceUnhealthy"});
  EXPECT_TRUE(f.r.take().empty()) << "not resolved on a guess";
  f.r.reconcile("web", "web.service", {}, false, t0 + 2);
  EXPECT_EQ(described(f.r.take()), std::vector<std::string>{"hook resolved MedicServiceUnhealthy"});
}

TEST(AlertRouter, ResolvesTheOldAlertBeforeFiringTheOneReplacingIt) {
  Router f({sink("hook")});
  f.r.reconcile("web", "web.service", {unhealthy()}, false, t0);
  f.r.take();
  f.r.reconcile("web", "web.service", {{"MedicServiceDegraded", Severity::info, "web is degraded", {}, ""}}, false, t0 + 1);
  EXPECT_EQ(described(f.r.take()),
            (std::vector<std::string>{"hook resolved MedicServiceUnhealthy", "hook firing MedicServiceDegraded"}));
}

TEST(AlertRouter, IdsIncreaseAcrossAllNotifications) {
  Router f({sink("hook")});
  f.r.reconcile("web", "web.service", {unhealthy()}, false, t0);
  f.r.event("web", "web.service", "recovery-started", Severity::info, "recovery started", {}, false, t0);
  f.r.reconcile("web", "web.service", {}, false, t0 + 1);
  auto out = f.r.take();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_LT(out[0].n.id, out[1].n.id);
  EXPECT_LT(out[1].n.id, out[2].n.id);
}

TEST(AlertRouter, RoutesBySeverityAndService) {
  auto critical = sink("pager");
  critical.minSeverity = Severity::critical;
  auto db = sink("db-team");
  db.services = {"db"};
  Router f({critical, db, sink("all")});
  f.r.reconcile("web", "web.service", {unhealthy()}, false, t0);
  f.r.reconcile("db", "db.service", {{"MedicRecoveryGaveUp", Severity::critical, "gave up", {}, ""}}, false, t0);
  f.r.reconcile("", "", {{"MedicConfigReloadRefused", Severity::warning, "reload refused", {}, ""}}, false, t0);
  EXPECT_EQ(described(f.r.take()), (std::vector<std::string>{
                                       "all firing MedicServiceUnhealthy",
                                       "pager firing MedicRecoveryGaveUp", "db-team firing MedicRecoveryGaveUp",
                                       "all firing MedicRecoveryGaveUp",
                                       "db-team firing MedicConfigReloadRefused", "all firing MedicConfigReloadRefused"}))
      << "medic's own alerts go to every sink that takes their severity";
}

TEST(AlertRouter, AFailingSinkIsNotToldAboutItself) {
  Router f({sink("a"), sink("b")});
  f.r.reconcile("", "", {{"MedicAlertSinkFailing", Severity::warning, "sink 'a' cannot deliver", {}, "a"}}, false, t0);
  EXPECT_EQ(described(f.r.take()), std::vector<std::string>{"b firing MedicAlertSinkFailing"});
}

TEST(AlertRouter, AlertmanagerGetsAlertsNotEvents) {
  Router f({sink("am", "alertmanager")});
  f.r.event("web", "web.service", "recovery-started", Severity::info, "recovery started", {}, false, t0);
  f.r.reconcile("web", "web.service", {unhealthy()}, false, t0);
  EXPECT_EQ(described(f.r.take()), std::vector<std::string>{"am firing MedicServiceUnhealthy"});
}

TEST(AlertRouter, TheRateLimitHoldsTheRestForOneDigestAtTheEndOfTheWindow) {
  auto hook = sink("hook");
  hook.rateMax = 3;
  hook.ratePer = std::chrono::seconds(10);
  Router f({hook});
  for (int i = 0; i < 20; ++i)
    f.r.reconcile("svc" + std::to_string(i), "svc.service", {unhealthy()}, false, t0 + i);
  EXPECT_EQ(f.r.take().size(), 3u);
  EXPECT_EQ(f.r.wakeAt(), t0 + 10'000);
  f.r.onTimer(t0 + 9'999);
  EXPECT_TRUE(f.r.take().empty());
  f.r.onTimer(t0 + 10'000);
  auto out = f.r.take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].n.alert, "digest");
  EXPECT_EQ(out[0].n.heldBack.size(), 17u) << "nothing lost: 3 sent + 17 in the digest";
  EXPECT_EQ(out[0].n.summary, "17 more notifications held back by the rate limit");
  EXPECT_EQ(out[0].n.severity, Severity::warning);
  // The digest opened a new window: two more fit in it.
  f.r.event("a", "a.service", "recovered", Severity::info, "recovered", {}, false, t0 + 10'001);
  f.r.event("b", "b.service", "recovered", Severity::info, "recovered", {}, false, t0 + 10'002);
  f.r.event("c", "c.service", "recovered", Severity::info, "recovered", {}, false, t0 + 10'003);
  EXPECT_EQ(f.r.take().size(), 2u);
}

TEST(AlertRouter, RemindsOfStillFiringAlertsAtTheRepeatInterval) {
  auto hook = sink("hook");
  hook.repeatInterval = std::chrono::hours(1);
  Router f({hook});
  f.r.reconcile("web", "web.service", {unhealthy()}, false, t0);
  f.r.take();
  EXPECT_EQ(f.r.wakeAt(), t0 + 3'600'000);
  f.r.onTimer(t0 + 3'600'000);
  auto out = f.r.take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].n.reminder);
  EXPECT_EQ(headline(out[0].n), "[WARNING] [STILL FIRING] web on host1: web is unhealthy");
  f.r.reconcile("web", "web.service", {}, false, t0 + 3'700'000);
  f.r.take();
  EXPECT_FALSE(f.r.wakeAt()) << "nothing fires: nothing to remind of";
}

TEST(AlertRouter, KeepsAlertmanagersAlertsFresh) {
  auto am = sink("am", "alertmanager");
  am.resendInterval = std::chrono::minutes(1);
  Router f({am});
  f.r.reconcile("web", "web.service", {unhealthy()}, false, t0);
  f.r.take();
  f.r.onTimer(t0);
  f.r.take();
  f.r.onTimer(t0 + 60'000);
  EXPECT_EQ(described(f.r.take()), std::vector<std::string>{"am firing MedicServiceUnhealthy (refresh)"});
}

// The wall clock set an hour back (or forward) while alerts fire and a window holds some
// back: each interval still ends when it would have, counted in the clock's new frame.
TEST(AlertRouter, AStepOfTheWallClockMovesEveryIntervalWithIt) {
  const int64_t hour = 3'600'000;
  auto hook = sink("hook");
  hook.rateMax = 1;
  hook.ratePer = std::chrono::minutes(1);
  hook.repeatInterval = std::chrono::minutes(5);
  auto am = sink("am", "alertmanager");
  am.resendInterval = std::chrono::seconds(10);
  for (int64_t step : {-hour, +hour}) {
    Router f({hook, am});
    f.r.reconcile("web", "web.service", {unhealthy()}, false, t0);
    f.r.reconcile("db", "db.service", {unhealthy()}, false, t0);  // held back by the hook's rate limit
    f.r.onTimer(t0);
    f.r.take();
    f.r.clockStepped(step);
    EXPECT_EQ(f.r.wakeAt(), t0 + step + 10'000) << "Alertmanager's refresh, 10 s on";
    f.r.onTimer(t0 + step + 9'999);
    EXPECT_TRUE(f.r.take().empty()) << "nothing is due early (step " << step << ")";
    f.r.onTimer(t0 + step + 10'000);
    EXPECT_EQ(f.r.take().size(), 2u) << "both alerts refreshed on time";
    f.r.onTimer(t0 + step + 60'000);
    auto digest = described(f.r.take());
    EXPECT_NE(std::find(digest.begin(), digest.end(), "hook event digest"), digest.end()) << "the window ends on time";
    auto reminders = [&](int64_t at) {
      f.r.onTimer(at);
      size_t n = 0;
      for (const auto& o : f.r.take()) n += o.n.reminder;
      return n;
    };
    EXPECT_EQ(reminders(t0 + step + 299'999), 0u);
    EXPECT_GE(reminders(t0 + step + 300'000), 1u) << "the reminder comes on time";
  }
}

TEST(AlertRouter, ARestartedMedicResolvesWhatItFiredBefore) {
  Router before({sink("hook")});
  before.r.reconcile("web", "web.service", {unhealthy()}, false, t0);
  before.r.take();
  Router after({sink("hook")});
  after.r.fromJson(before.r.toJson(), t0 + 5000);
  after.r.reconcile("web", "web.service", {unhealthy()}, false, t0 + 6000);
  EXPECT_TRUE(after.r.take().empty()) << "still firing: not fired twice";
  after.r.reconcile("web", "web.service", {}, false, t0 + 7000);
  auto out = after.r.take();
  ASSERT_EQ(described(out), std::vector<std::string>{"hook resolved MedicServiceUnhealthy"});
  EXPECT_EQ(out[0].n.startsAtMs, t0);
  EXPECT_GT(out[0].n.id, before.r.active().begin()->second.id) << "ids go on where they were";
}

TEST(AlertRouter, ABlipIsHeldFromSinksThatWaitForTheThreshold) {
  config::SinkSpec blips = sink("blips");
  blips.everyFailure = true;
  Router f({sink("hook"), blips});
  alerts::Condition pending = unhealthy();
  pending.held = true;
  // One failing run: only the sink that asked for every failure hears of it, and of its end.
  f.r.reconcile("web", "web.service", {pending}, false, t0);
  EXPECT_EQ(described(f.r.take()), std::vector<std::string>{"blips firing MedicServiceUnhealthy"});
  f.r.reconcile("web", "web.service", {}, false, t0 + 1000);
  EXPECT_EQ(described(f.r.take()), std::vector<std::string>{"blips resolved MedicServiceUnhealthy"})
      << "no resolved for a firing a sink never heard";
  // A real failure: held first, then past the threshold; every sink hears it once.
  f.r.reconcile("web", "web.service", {pending}, false, t0 + 2000);
  EXPECT_EQ(described(f.r.take()), std::vector<std::string>{"blips firing MedicServiceUnhealthy"});
  f.r.reconcile("web", "web.service", {unhealthy()}, false, t0 + 3000);
  auto out = f.r.take();
  ASSERT_EQ(described(out), std::vector<std::string>{"hook firing MedicServiceUnhealthy"}) << "not twice to blips";
  EXPECT_EQ(out[0].n.startsAtMs, t0 + 2000) << "it began with the first failing run";
  f.r.reconcile("web", "web.service", {pending}, false, t0 + 4000);
  EXPECT_TRUE(f.r.take().empty()) << "once past the threshold it stays fired until resolved";
  f.r.reconcile("web", "web.service", {}, false, t0 + 5000);
  EXPECT_EQ(described(f.r.take()), (std::vector<std::string>{"hook resolved MedicServiceUnhealthy", "blips resolved MedicServiceUnhealthy"}));
}

// A symptom of a dependency's fault (depends_on): sinks that inhibit dependents (the
// default) hear only the root cause, and of the symptom only if it outlasts it; the others
// hear it marked with its cause.
TEST(AlertRouter, ASymptomOfADependencysFaultPagesOnlyIfItOutlastsIt) {
  config::SinkSpec all = sink("all");
  all.inhibitDependents = false;
  Router f({sink("hook"), all});
  alerts::Condition symptom = unhealthy();
  symptom.why = {"dependency", Severity::warning, "db is recovering (restart 1 of 2, round 1 of 3)", {}, false, "db"};
  f.r.reconcile("web", "web.service", {symptom}, false, t0);
  auto out = f.r.take();
  ASSERT_EQ(described(out), std::vector<std::string>{"all firing MedicServiceUnhealthy"});
  EXPECT_EQ(json::parse(webhookJson(out[0].n))["caused_by"], "db");
  alerts::Condition settling = unhealthy();  // healed: its checks' stale results, below any threshold now
  settling.held = true;
  f.r.reconcile("web", "web.service", {settling}, false, t0 + 400);
  EXPECT_TRUE(f.r.take().empty()) << "no longer put down to db, but not past a threshold of its own either";
  f.r.event("web", "web.service", "healed", Severity::info, "healthy again now that db is up", {}, false, t0 + 500, symptom.why);
  EXPECT_EQ(described(f.r.take()), std::vector<std::string>{"all event healed"}) << "its end too, only where its start went";
  f.r.reconcile("web", "web.service", {}, false, t0 + 1000);
  EXPECT_EQ(described(f.r.take()), std::vector<std::string>{"all resolved MedicServiceUnhealthy"}) << "healed with db: never paged";

  // Failing on once db is up: a failure of its own, sent then, as of when it began.
  f.r.reconcile("web", "web.service", {symptom}, false, t0 + 2000);
  f.r.take();
  f.r.reconcile("web", "web.service", {unhealthy()}, false, t0 + 3000);
  out = f.r.take();
  ASSERT_EQ(described(out), std::vector<std::string>{"hook firing MedicServiceUnhealthy"}) << "not twice to the other";
  EXPECT_EQ(out[0].n.startsAtMs, t0 + 2000);
  EXPECT_TRUE(json::parse(webhookJson(out[0].n))["caused_by"].is_null());
}

TEST(AlertRouter, MarksMaintenance) {
  Router f({sink("hook")});
  f.r.reconcile("web", "web.service", {unhealthy()}, true, t0);
  auto out = f.r.take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(headline(out[0].n), "[WARNING] [MAINTENANCE] web on host1: web is unhealthy");
}

// ---- each sink's words ----------------------------------------------------------------

alerts::Notification firing() {
  alerts::Notification n;
  n.id = 42;
  n.state = State::firing;
  n.alert = "MedicServiceUnhealthy";
  n.severity = Severity::warning;
  n.service = "web";
  n.unit = "web.service";
  n.host = "host1";
  n.summary = "web is unhealthy";
  n.details = {"health: HTTP 500"};
  n.atMs = n.startsAtMs = t0;
  return n;
}

TEST(AlertFormat, WebhookJsonCarriesEverythingAReceiverNeeds) {
  json j = json::parse(webhookJson(firing()));
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["id"], 42);
  EXPECT_EQ(j["state"], "firing");
  EXPECT_EQ(j["alert"], "MedicServiceUnhealthy");
  EXPECT_EQ(j["severity"], "warning");
  EXPECT_EQ(j["service"], "web");
  EXPECT_EQ(j["unit"], "web.service");
  EXPECT_EQ(j["host"], "host1");
  EXPECT_EQ(j["details"], json::array({"health: HTTP 500"}));
  EXPECT_EQ(j["time"], "2026-11-18T11:06:40.000Z");
  EXPECT_EQ(j["started"], "2026-11-18T11:06:40.000Z");
}

TEST(AlertFormat, SlackGetsOneReadableText) {
  json j = json::parse(slackJson(firing()));
  EXPECT_EQ(j["text"], "*[WARNING] web on host1: web is unhealthy*\n• health: HTTP 500");
}

TEST(AlertFormat, EmailHasProperHeadersAndAnEncodedSubjectWhenNotAscii) {
  config::SinkSpec mail = sink("mail", "email");
  mail.from = "medic@host1";
  mail.to = {"ops@example.org", "oncall@example.org"};
  std::string m = emailMessage(firing(), mail, t0);
  EXPECT_EQ(m.rfind("Date: Wed, 18 Nov 2026 11:06:40 +0000\r\n", 0), 0u) << m;
  EXPECT_NE(m.find("\r\nMessage-ID: <medic.42.1795000000000@host1>\r\n"), std::string::npos);
  EXPECT_NE(m.find("\r\nFrom: medic@host1\r\nTo: ops@example.org, oncall@example.org\r\n"), std::string::npos);
  EXPECT_NE(m.find("\r\nSubject: [medic] [WARNING] web on host1: web is unhealthy\r\n"), std::string::npos);
  EXPECT_NE(m.find("\r\nContent-Type: text/plain; charset=utf-8\r\n"), std::string::npos);
  EXPECT_NE(m.find("\r\n\r\n[WARNING] web on host1: web is unhealthy\r\n"), std::string::npos) << "the body";
  EXPECT_NE(m.find("  - health: HTTP 500\r\n"), std::string::npos);
  alerts::Notification n = firing();
  n.summary = "Füße kalt";
  n.details = {};
  std::string u = emailMessage(n, mail, t0);
  EXPECT_NE(u.find("\r\nSubject: =?UTF-8?B?"), std::string::npos) << u;
  n.summary = "injected\r\nBcc: everyone@example.org";
  std::string injected = emailMessage(n, mail, t0);
  std::string headers = injected.substr(0, injected.find("\r\n\r\n"));
  EXPECT_EQ(headers.find("\r\nBcc:"), std::string::npos) << "no header injection: " << headers;
}

TEST(AlertFormat, AlertmanagerGetsLabelsAnnotationsAndEndsAtOnResolve) {
  alerts::Notification resolved = firing();
  resolved.state = State::resolved;
  resolved.atMs = t0 + 60'000;
  json j = json::parse(alertmanagerJson({firing(), resolved}));
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["labels"], json({{"alertname", "MedicServiceUnhealthy"}, {"instance", "host1"}, {"job", "medic"},
                                  {"service", "web"}, {"severity", "warning"}, {"unit", "web.service"}}));
  EXPECT_EQ(j[0]["annotations"]["summary"], "web is unhealthy");
  EXPECT_EQ(j[0]["annotations"]["description"], "health: HTTP 500");
  EXPECT_EQ(j[0]["startsAt"], "2026-11-18T11:06:40.000Z");
  EXPECT_FALSE(j[0].contains("endsAt"));
  EXPECT_EQ(j[1]["endsAt"], "2026-11-18T11:07:40.000Z");
}

}  // namespace

// Why it failed, in each sink's words: the cause, and the unit's lines as fitExcerpt left
// them (escaped, cut); Alertmanager's annotation keeps the last lines within its cap; a
// drill is said as one.
TEST(AlertFormat, EverySinkSaysWhyAndShowsTheUnitsLines) {
  alerts::Notification n = firing();
  std::vector<std::string> lines;
  for (int i = 0; i < 20; ++i) lines.push_back("line " + std::to_string(i) + " " + std::string(100, 'x'));
  lines.push_back("bad \\xff bytes");
  n.why = {"signal", Severity::critical, "web.service was killed by signal 9 (KILL)", lines, false, ""};

  json hook = json::parse(webhookJson(n));
  EXPECT_EQ(hook["cause"], json({{"kind", "signal"}, {"severity", "critical"}, {"text", "web.service was killed by signal 9 (KILL)"}}));
  EXPECT_EQ(hook["journal"].size(), 21u);
  EXPECT_EQ(hook["drill"], false);

  config::SinkSpec mail = sink("mail", "email");
  std::string m = emailMessage(n, mail, t0);
  EXPECT_NE(m.find("cause:    web.service was killed by signal 9 (KILL) (signal, critical)\r\n"), std::string::npos) << m;
  EXPECT_NE(m.find("the unit's journal, last 21 lines:\r\n  line 0 "), std::string::npos) << m;
  EXPECT_NE(m.find("  bad \\xff bytes\r\n"), std::string::npos);

  json am = json::parse(alertmanagerJson({n}));
  std::string journal = am[0]["annotations"]["journal"];
  EXPECT_EQ(am[0]["annotations"]["cause"], "web.service was killed by signal 9 (KILL)");
  EXPECT_LE(journal.size(), alerts::kAnnotationJournalBytes);
  EXPECT_EQ(journal.substr(journal.rfind('\n') + 1), "bad \\xff bytes") << "the newest line last";
  EXPECT_EQ(journal.find("line 0 "), std::string::npos) << "the oldest left out to fit";
  EXPECT_FALSE(am[0]["labels"].contains("drill"));

  n.why.drill = true;
  EXPECT_EQ(json::parse(alertmanagerJson({n}))[0]["labels"]["drill"], "true");
  EXPECT_EQ(json::parse(webhookJson(n))["drill"], true);
  EXPECT_NE(emailMessage(n, mail, t0).find("note:     a DRILL (medic drill)"), std::string::npos);

  n.why = {};
  EXPECT_TRUE(json::parse(webhookJson(n))["cause"].is_null()) << "not about a failure";
  EXPECT_FALSE(json::parse(alertmanagerJson({n}))[0]["annotations"].contains("cause"));
}

TEST(AlertFormat, EverySinkSaysWhichDependencyCausedIt) {
  alerts::Notification n = firing();
  n.why = {"dependency", Severity::warning, "db is recovering (restart 1 of 2, round 1 of 3)", {}, false, "db"};
  EXPECT_EQ(json::parse(alertmanagerJson({n}))[0]["labels"]["caused_by"], "db");
  EXPECT_NE(emailMessage(n, sink("mail", "email"), t0).find("note:     caused by db, which it depends on"), std::string::npos);
  EXPECT_NE(json::parse(slackJson(n))["text"].get<std::string>().find("*Caused by:* db"), std::string::npos);
  n.why.causedBy.clear();
  EXPECT_FALSE(json::parse(alertmanagerJson({n}))[0]["labels"].contains("caused_by"));
}
