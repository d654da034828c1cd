// Alerts delivered by the real `medic run` to real receivers on loopback: a webhook receiver
// (tests/integration/alert_receivers.py), Slack's format, an SMTP server (python3-aiosmtpd)
// with STARTTLS, login and implicit TLS; a receiver that is down while medic restarts; a
// storm of 20 services. (Alertmanager: tests/system/cases/alerts_reach_alertmanager.sh.)
#include <gtest/gtest.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "alerts/alert.h"
#include "harness.h"

using namespace medic::test;
using namespace std::chrono_literals;
using json = nlohmann::json;
using medic::alerts::hostName;

namespace {

const std::string kReceivers = std::string(MEDIC_SOURCE_DIR) + "/tests/integration/alert_receivers.py";

class Alerts : public ::testing::Test {
 protected:
  TempDir dir;
  std::string state = dir.write("plugin-state", "0");
  std::string plugin = dir.write("plugin.sh", "#!/bin/sh\ns=$(cat " + dir.file("plugin-state") + ")\necho \"plugin says $s\"\nexit $s\n", 0755);
  std::unique_ptr<Subprocess> agent;
  std::map<std::string, std::unique_ptr<Subprocess>> receivers;

  // A receiver; returns its port. `port` 0: any free one.
  int receive(const std::string& kind, const std::string& log, std::vector<std::string> extra = {}, int port = 0) {
    std::vector<std::string> argv = {"/usr/bin/python3", kReceivers, kind, "--log", dir.file(log), "--port", std::to_string(port)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = std::make_unique<Subprocess>(argv);
    int got = std::stoi(r->readLine(10s));
    receivers[log] = std::move(r);
    return got;
  }
  std::vector<json> received(const std::string& log) {
    std::vector<json> out;
    std::ifstream in(dir.file(log));
    std::string line;
    // A line without its newline is still being written by the receiver (a reader can see a
    // write() in part): it is read when it is whole.
    while (std::getline(in, line) && !in.eof())
      if (!line.empty()) out.push_back(json::parse(line));
    return out;
  }
  // The webhook bodies about one service, in arrival order.
  std::vector<json> bodies(const std::string& log, const std::string& service = "web") {
    std::vector<json> out;
    for (const auto& r : received(log)) {
      json b = json::parse(r["body"].get<std::string>());
      if (service.empty() || b.value("service", "") == service) out.push_back(b);
    }
    return out;
  }
  static std::vector<std::string> sequence(const std::vector<json>& bodies) {
    std::vector<std::string> out;
    for (const auto& b : bodies) out.push_back(b["state"].get<std::string>() + " " + b["alert"].get<std::string>());
    return out;
  }

  // web: an exec check (exit code from plugin-state), threshold 1; its restart can only fail
  // (no systemd here), so one failure runs: unhealthy, recovery started, gave up. Its timeout
  // is 450 ms: 150 ms timed out on a loaded machine, and the alert then said that instead.
  std::string config(const std::string& sinks, int services = 1) {
    std::string yaml = "agent: {state_dir: " + dir.file("state") + "}\nalerts:\n  sinks:\n" + sinks + "services:\n";
    for (int i = 0; i < services; ++i) {
      std::string name = services == 1 ? "web" : "svc" + std::to_string(i);
      yaml += "  " + name + ":\n    unit: " + name + ".service\n    failure_threshold: 1\n    checks:\n"
              "      - {name: plugin, type: exec, user: root, interval: 500ms, timeout: 450ms, initial_delay: 0s, command: [" +
              plugin + "]}\n    recovery:\n      max_rounds: 1\n      ladder:\n        - {step: restart, attempts: 1}\n";
    }
    return dir.write("medic.yaml", yaml);
  }
  std::vector<std::string> startMedic(const std::string& configFile) {
    agent = std::make_unique<Subprocess>(std::vector<std::string>{MEDIC_BINARY, "run", "-c", configFile}, true);
    return agent->readUntil("medic running", 10s);
  }
  void set(int code) { dir.write("plugin-state", std::to_string(code)); }
  void TearDown() override {
    agent.reset();
    receivers.clear();
  }
};

// Whether any file medic keeps in its state directory (state, firing alerts, the outbox,
// files moved aside) holds `secret`.
bool stateDirHolds(const std::string& stateDir, const std::string& secret) {
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(stateDir, ec)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    if (std::string((std::istreambuf_iterator<char>(in)), {}).find(secret) != std::string::npos) return true;
  }
  return false;
}

const std::vector<std::string> kOneIncident = {
    "firing MedicServiceUnhealthy", "event recovery-started", "firing MedicRecoveryGaveUp",
    "resolved MedicServiceUnhealthy", "event healed", "resolved MedicRecoveryGaveUp"};

TEST_F(Alerts, AWebhookGetsOneNotificationPerChangeInOrderWithItsHeaders) {
  int port = receive("webhook", "hook.jsonl");
  std::string token = dir.write("token", "Bearer s3cret-token\n", 0600);
  startMedic(config("    hook:\n      type: webhook\n      url: http://127.0.0.1:" + std::to_string(port) + "/alerts\n"
                    "      headers: {X-Team: ops}\n      header_files: {Authorization: " + token + "}\n"));
  set(2);
  std::string logged;
  for (const auto& line : agent->readUntil("web: gave up after 1 round", 10s)) logged += line + "\n";
  set(0);
  ASSERT_TRUE(eventually([&] { return bodies("hook.jsonl").size() >= kOneIncident.size(); }))
      << received("hook.jsonl").size();
  auto got = bodies("hook.jsonl");
  EXPECT_EQ(sequence(got), kOneIncident) << "every failing run in between (~5 per second) made no notification";
  for (size_t i = 1; i < got.size(); ++i) EXPECT_GT(got[i]["id"], got[i - 1]["id"]);
  const json& firing = got[0];
  EXPECT_EQ(firing["severity"], "warning");
  EXPECT_EQ(firing["unit"], "web.service");
  EXPECT_EQ(firing["host"], hostName());
  EXPECT_EQ(firing["summary"], "web is unhealthy");
  EXPECT_EQ(firing["details"], json::array({"plugin: plugin says 2"}));
  EXPECT_EQ(got[2]["severity"], "critical") << "gave up: a human is needed";
  EXPECT_EQ(got[5]["started"], got[2]["started"]) << "the resolved one names when it started";
  auto raw = received("hook.jsonl")[0];
  EXPECT_EQ(raw["path"], "/alerts");
  EXPECT_EQ(raw["headers"]["X-Team"], "ops");
  EXPECT_EQ(raw["headers"]["Authorization"], "Bearer s3cret-token") << "read from its file";
  EXPECT_EQ(raw["headers"]["Content-Type"], "application/json");
  EXPECT_EQ(agent->stop(SIGTERM, 10s), 0);
  logged += agent->rest();
  EXPECT_EQ(logged.find("s3cret"), std::string::npos) << "a secret reached the log";
  EXPECT_FALSE(stateDirHolds(dir.file("state"), "s3cret")) << "a header file's secret was saved with the alerts";
}

TEST_F(Alerts, OneFailingRunPagesNobodyUnlessASinkAsksForEveryFailure) {
  int hook = receive("webhook", "hook.jsonl");
  int blips = receive("webhook", "blips.jsonl");
  std::string file = config("    hook:\n      type: webhook\n      url: http://127.0.0.1:" + std::to_string(hook) + "/\n"
                            "    blips:\n      type: webhook\n      every_failure: true\n      url: http://127.0.0.1:" +
                            std::to_string(blips) + "/\n");
  std::ifstream in(file);
  std::string yaml((std::istreambuf_iterator<char>(in)), {});
  yaml.replace(yaml.find("failure_threshold: 1"), 20, "failure_threshold: 3");
  yaml.replace(yaml.find("interval: 500ms"), 15, "interval: 1s");
  startMedic(dir.write("medic.yaml", yaml));
  agent->readUntil("web/plugin: first result -> healthy", 10s);
  set(2);  // one failing run, well under the threshold of 3 (a run a second)
  agent->readUntil("web/plugin: healthy -> unhealthy", 10s);
  set(0);
  agent->readUntil("web/plugin: unhealthy -> healthy", 10s);
  ASSERT_TRUE(eventually([&] { return bodies("blips.jsonl").size() >= 2; }));
  EXPECT_EQ(sequence(bodies("blips.jsonl")), (std::vector<std::string>{"firing MedicServiceUnhealthy", "resolved MedicServiceUnhealthy"}))
      << "the sink that asked for every failure heard of the blip";
  set(2);  // a real outage: past the threshold, recovery starts (and can only fail here)
  agent->readUntil("web: gave up after 1 round", 20s);
  ASSERT_TRUE(eventually([&] { return bodies("hook.jsonl").size() >= 3; }));
  auto got = sequence(bodies("hook.jsonl"));
  EXPECT_EQ(got[0], "firing MedicServiceUnhealthy") << "the first thing the default sink hears is the outage";
  EXPECT_EQ(got[1], "event recovery-started");
  EXPECT_EQ(std::count(got.begin(), got.end(), "firing MedicServiceUnhealthy"), 1);
  EXPECT_EQ(agent->stop(SIGTERM, 10s), 0);
}

TEST_F(Alerts, AServiceAndACheckSetTheSeverityOfTheirAlerts) {
  int port = receive("webhook", "hook.jsonl");
  std::string file = config("    hook:\n      type: webhook\n      url: http://127.0.0.1:" + std::to_string(port) + "/\n");
  std::ifstream in(file);
  std::string yaml((std::istreambuf_iterator<char>(in)), {});
  // A batch job that can wait for the morning, whose one check pages all the same.
  yaml.replace(yaml.find("    failure_threshold: 1\n"), 25, "    failure_threshold: 1\n    severity: info\n");
  yaml.replace(yaml.find("{name: plugin,"), 14, "{name: plugin, severity: critical,");
  startMedic(dir.write("medic.yaml", yaml));
  set(2);
  agent->readUntil("web: gave up after 1 round", 10s);
  ASSERT_TRUE(eventually([&] { return bodies("hook.jsonl").size() >= 3; }));
  std::map<std::string, std::string> severities;
  for (const auto& b : bodies("hook.jsonl")) severities[b["alert"].get<std::string>()] = b["severity"].get<std::string>();
  EXPECT_EQ(severities["MedicServiceUnhealthy"], "critical") << "the failing check's own severity";
  EXPECT_EQ(severities["MedicRecoveryGaveUp"], "info") << "the service's severity, not medic's default critical";
  EXPECT_EQ(agent->stop(SIGTERM, 10s), 0);
}

// A service with many checks failing at once: its alert lists the first 20 by name and
// counts the rest (every health news builds that list: in full, 10,000 failing checks put
// medic 18 s behind), and a check's own severity counts though it is not among those listed.
TEST_F(Alerts, AnAlertListsTwentyFailingChecksCountsTheRestAndTakesTheWorstSeverityOfAll) {
  int port = receive("webhook", "hook.jsonl");
  std::string file = config("    hook:\n      type: webhook\n      url: http://127.0.0.1:" + std::to_string(port) + "/\n");
  std::ifstream in(file);
  std::string yaml((std::istreambuf_iterator<char>(in)), {});
  size_t line = yaml.find("      - {name: plugin,");
  size_t end = yaml.find('\n', line) + 1;
  std::string one = yaml.substr(line, end - line), many;
  for (int i = 0; i < 30; ++i) {
    char name[8];
    std::snprintf(name, sizeof name, "c%02d", i);
    std::string check = one;
    check.replace(check.find("name: plugin,"), 13, std::string("name: ") + name + "," + (i == 25 ? " severity: critical," : ""));
    check.replace(check.find("interval: 500ms, timeout: 450ms"), 31, "interval: 10s, timeout: 5s");  // 30 runs at once
    many += check;
  }
  yaml.replace(line, end - line, many);
  set(2);  // every check fails from its first run
  startMedic(dir.write("medic.yaml", yaml));
  // (It fires once every check has answered: health is not known before.)
  auto unhealthy = [&]() -> std::optional<json> {
    for (const auto& b : bodies("hook.jsonl"))
      if (b["alert"] == "MedicServiceUnhealthy" && b["state"] == "firing") return b;
    return std::nullopt;
  };
  ASSERT_TRUE(eventually([&] { return unhealthy().has_value(); }, 20s));
  const json firing = *unhealthy();
  std::vector<std::string> details = firing["details"];
  ASSERT_EQ(details.size(), 21u) << firing.dump();
  EXPECT_EQ(details[0], "c00: plugin says 2");
  EXPECT_EQ(details[19], "c19: plugin says 2");
  EXPECT_EQ(details[20], "and 10 more checks not healthy");
  EXPECT_EQ(firing["severity"], "critical") << "c25's own severity, though c25 is not listed";
  EXPECT_EQ(agent->stop(SIGTERM, 10s), 0);
}

TEST_F(Alerts, SlackFormatIsOneReadableText) {
  int port = receive("webhook", "slack.jsonl");
  startMedic(config("    slack:\n      type: webhook\n      format: slack\n      url: http://127.0.0.1:" + std::to_string(port) +
                    "/services/T0/B0/x\n      min_severity: warning\n"));
  set(2);
  ASSERT_TRUE(eventually([&] { return received("slack.jsonl").size() >= 2; }));
  auto first = json::parse(received("slack.jsonl")[0]["body"].get<std::string>());
  EXPECT_EQ(first, json({{"text", "*[WARNING] web on " + hostName() + ": web is unhealthy*\n*Cause:* check 'plugin' failed: plugin "
                                   "says 2\n• plugin: plugin says 2"}}));
  auto second = json::parse(received("slack.jsonl")[1]["body"].get<std::string>());
  EXPECT_EQ(second["text"].get<std::string>().rfind("*[CRITICAL] web on " + hostName() + ": gave up after 1 round", 0), 0u)
      << second << " (recovery-started is info: below this sink's min_severity)";
}

TEST_F(Alerts, EmailOverStartTlsWithALoginCarriesProperHeaders) {
  auto& peers = sharedPeers();  // its CA and 127.0.0.1 certificate serve the SMTP server too
  std::string certDir = std::filesystem::path(peers.caFile()).parent_path();
  int port = receive("smtp", "mail.jsonl", {"--cert", certDir + "/server.pem", "--key", certDir + "/server.key",
                                            "--user", "medic", "--password", "hunter2"});
  std::string password = dir.write("smtp-password", "hunter2\n", 0600);
  startMedic(config("    mail:\n      type: email\n      url: smtp://127.0.0.1:" + std::to_string(port) + "\n"
                    "      ca_file: " + peers.caFile() + "\n      from: medic@example.org\n"
                    "      to: [ops@example.org, oncall@example.org]\n      username: medic\n"
                    "      password_file: " + password + "\n      min_severity: warning\n"));
  set(2);
  ASSERT_TRUE(eventually([&] { return received("mail.jsonl").size() >= 2; }, 15s));
  json mail = received("mail.jsonl")[0];
  EXPECT_TRUE(mail["tls"].get<bool>()) << "STARTTLS was used";
  EXPECT_EQ(mail["user"], "medic");
  EXPECT_EQ(mail["from"], "medic@example.org");
  EXPECT_EQ(mail["to"], json::array({"ops@example.org", "oncall@example.org"}));
  std::string data = mail["data"];
  for (const std::string& header : std::vector<std::string>{"\nFrom: medic@example.org", "\nTo: ops@example.org, oncall@example.org",
                                   "\nSubject: [medic] [WARNING] web on " + hostName() + ": web is unhealthy",
                                   "\nMIME-Version: 1.0", "\nContent-Type: text/plain; charset=utf-8"})
    EXPECT_NE(data.find(header), std::string::npos) << header << " in:\n" << data;
  EXPECT_EQ(data.rfind("Date: ", 0), 0u) << data;
  EXPECT_NE(data.find("\nMessage-ID: <medic."), std::string::npos);
  EXPECT_NE(data.find("  - plugin: plugin says 2"), std::string::npos) << "the failing check in the body";
  EXPECT_NE(data.find("\ncause:    check 'plugin' failed: plugin says 2 (check, warning)\r\n"), std::string::npos)
      << "why, in the body: " << data;
  EXPECT_NE(std::string(received("mail.jsonl")[1]["data"]).find("Subject: [medic] [CRITICAL] web on"), std::string::npos);
  EXPECT_EQ(agent->stop(SIGTERM, 10s), 0);
  EXPECT_EQ(agent->rest().find("hunter2"), std::string::npos) << "the SMTP password reached the log";
  EXPECT_FALSE(stateDirHolds(dir.file("state"), "hunter2")) << "the SMTP password was saved with the alerts";
}

TEST_F(Alerts, AlertTestReportsEachSinkIncludingImplicitTlsAndARefusal) {
  auto& peers = sharedPeers();
  std::string certDir = std::filesystem::path(peers.caFile()).parent_path();
  int hook = receive("webhook", "hook.jsonl");
  int smtps = receive("smtp", "smtps.jsonl", {"--cert", certDir + "/server.pem", "--key", certDir + "/server.key", "--implicit-tls"});
  int plain = receive("smtp", "plain.jsonl");  // no STARTTLS: medic must not send in clear
  std::string file = config("    hook:\n      type: webhook\n      url: http://127.0.0.1:" + std::to_string(hook) + "/\n"
                            "    secure-mail:\n      type: email\n      url: smtps://127.0.0.1:" + std::to_string(smtps) + "\n"
                            "      ca_file: " + peers.caFile() + "\n      from: medic@example.org\n      to: [ops@example.org]\n"
                            "    clear-mail:\n      type: email\n      url: smtp://127.0.0.1:" + std::to_string(plain) + "\n"
                            "      from: medic@example.org\n      to: [ops@example.org]\n"
                            "    relay:\n      type: email\n      url: smtp://127.0.0.1:" + std::to_string(plain) + "\n"
                            "      starttls: \"off\"\n      from: medic@example.org\n      to: [ops@example.org]\n"
                            "    untrusted:\n      type: webhook\n      url: " + peers.url("/post", true) + "\n"
                            "    trusted:\n      type: webhook\n      url: " + peers.url("/status/200", true) + "\n"
                            "      ca_file: " + peers.caFile() + "\n");
  auto out = capture(std::string(MEDIC_BINARY) + " alert test -c " + file);
  EXPECT_EQ(out.code, 1) << out.text;
  EXPECT_NE(out.text.find("hook             sent"), std::string::npos) << out.text;
  EXPECT_NE(out.text.find("secure-mail      sent"), std::string::npos) << out.text;
  EXPECT_NE(out.text.find("clear-mail       FAILED"), std::string::npos) << out.text;
  EXPECT_NE(out.text.find("untrusted        FAILED"), std::string::npos) << "TLS is verified: " << out.text;
  EXPECT_NE(out.text.find("trusted          sent"), std::string::npos) << out.text;
  EXPECT_NE(out.text.find("relay            sent"), std::string::npos) << out.text;
  ASSERT_EQ(received("plain.jsonl").size(), 1u) << "only the relay that says starttls: off sends in clear";
  EXPECT_FALSE(received("plain.jsonl")[0]["tls"].get<bool>());
  ASSERT_EQ(received("smtps.jsonl").size(), 1u);
  EXPECT_TRUE(received("smtps.jsonl")[0]["tls"].get<bool>());
  EXPECT_EQ(json::parse(received("hook.jsonl")[0]["body"].get<std::string>())["test"], true);
  auto one = capture(std::string(MEDIC_BINARY) + " alert test --sink hook -c " + file);
  EXPECT_EQ(one.code, 0) << one.text;
  EXPECT_EQ(received("hook.jsonl").size(), 2u);
}

TEST_F(Alerts, AReceiverDownWhileMedicRestartsGetsEveryAlertOnceInOrder) {
  int port = receive("webhook", "probe.jsonl");
  receivers.clear();  // now nothing listens on `port`
  std::string file = config("    hook:\n      type: webhook\n      url: http://127.0.0.1:" + std::to_string(port) + "/\n");
  startMedic(file);
  set(2);
  agent->readUntil("web: gave up after 1 round", 10s);
  agent->readUntil("alert sink hook: delivery failed", 10s);
  EXPECT_EQ(agent->stop(SIGTERM, 10s), 0);
  size_t waiting = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir.file("state/outbox"))) waiting += f.path().extension() == ".json";
  EXPECT_GE(waiting, 3u) << "firing, recovery started, gave up: kept on disk";
  set(0);  // healed while medic was down
  auto lines = startMedic(file);
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("undelivered notifications from before; delivering them now") != std::string::npos;
  }));
  agent->readUntil("web: healthy again without medic's help", 10s);
  receive("webhook", "hook.jsonl", {}, port);  // back
  ASSERT_TRUE(eventually([&] { return bodies("hook.jsonl").size() >= kOneIncident.size(); }, 40s))
      << bodies("hook.jsonl").size();
  ASSERT_TRUE(eventually([&] { return std::filesystem::is_empty(dir.file("state/outbox")); }));
  // The operator who read "delivering them now" and then a failed attempt reads the end too.
  agent->readUntil("alert sink hook delivers again", 10s);
  agent->readUntil("alert sink hook: every notification left from before is delivered", 10s);
  auto got = bodies("hook.jsonl");
  // The incident's alerts, each once and in order; a new blip of the check (its 450ms
  // timeout on a loaded machine) may add a later one of its own.
  auto seq = sequence(got);
  seq.resize(std::min(seq.size(), kOneIncident.size()));
  EXPECT_EQ(seq, kOneIncident);
  std::set<int64_t> ids;
  for (const auto& b : received("hook.jsonl")) EXPECT_TRUE(ids.insert(json::parse(b["body"].get<std::string>())["id"].get<int64_t>()).second)
      << "delivered twice: " << b;
}

TEST_F(Alerts, AStormOfTwentyServicesMakesABoundedNumberOfNotificationsAndLosesNone) {
  int port = receive("webhook", "hook.jsonl");
  int smtp = receive("smtp", "mail.jsonl");
  startMedic(config("    hook:\n      type: webhook\n      url: http://127.0.0.1:" + std::to_string(port) + "/\n"
                    "      rate_limit: {max: 5, per: 3s}\n"
                    "    mail:\n      type: email\n      url: smtp://127.0.0.1:" + std::to_string(smtp) + "\n"
                    "      starttls: \"off\"\n      from: medic@example.org\n      to: [ops@example.org]\n"
                    "      min_severity: critical\n      rate_limit: {max: 3, per: 3s}\n", 20));
  set(2);  // all twenty fail at once
  // What the webhook has been told of the storm: its deliveries (medic's own alert that systemd
  // is unreachable here may come too, and is left out) and how many events they carry, each
  // delivered on its own or held back in a digest. On a loaded machine some events come after
  // the first digest's window, in the next one: counted wherever they land.
  auto storm = [&] {
    std::vector<json> all;
    for (const auto& b : bodies("hook.jsonl", ""))
      if (b.contains("held_back") || b["service"].get<std::string>().rfind("svc", 0) == 0) all.push_back(b);
    return all;
  };
  auto told = [](const std::vector<json>& all) {
    size_t n = 0;
    for (const auto& b : all) n += b.contains("held_back") ? b["held_back"].size() : 1;
    return n;
  };
  ASSERT_TRUE(eventually([&] { return told(storm()) >= 60; }, 40s)) << told(storm());
  auto all = storm();
  EXPECT_EQ(told(all), 60u) << "20 x (unhealthy, recovery started, gave up): every one told once, on its own or in a digest";
  ASSERT_GE(all.size(), 6u);
  for (size_t i = 0; i < 5; ++i) EXPECT_FALSE(all[i].contains("held_back")) << "5 in the first window";
  EXPECT_TRUE(all[5].contains("held_back")) << "then one digest: " << all[5];
  EXPECT_LE(all.size(), 12u) << "a bounded number of deliveries for 60 events";
  EXPECT_EQ(all[5]["severity"], "critical") << "the digest is as severe as the worst it holds";
  // E-mail takes only the 20 gave-ups (critical): 3 mails, then digests of the rest.
  auto mailed = [&] {
    size_t n = 0;
    for (const auto& m : received("mail.jsonl")) {
      std::smatch held;
      std::string data = m["data"].get<std::string>();
      n += std::regex_search(data, held, std::regex("(\\d+) more notifications held back by the rate limit"))
               ? std::stoul(held[1]) : 1;
    }
    return n;
  };
  ASSERT_TRUE(eventually([&] { return mailed() >= 20; }, 20s)) << mailed();
  EXPECT_EQ(mailed(), 20u);
  auto mails = received("mail.jsonl");
  ASSERT_GE(mails.size(), 4u);
  EXPECT_NE(mails[3]["data"].get<std::string>().find("more notifications held back by the rate limit"), std::string::npos)
      << mails[3]["data"];
  EXPECT_LE(mails.size(), 8u);
}

TEST_F(Alerts, ARefusedReloadIsMedicsOwnAlertUntilAGoodOneComes) {
  int port = receive("webhook", "hook.jsonl");
  std::string sinks = "    hook:\n      type: webhook\n      url: http://127.0.0.1:" + std::to_string(port) + "/\n";
  std::string file = config(sinks);
  startMedic(file);
  std::ifstream in(file);
  std::string good((std::istreambuf_iterator<char>(in)), {});
  dir.write("medic.yaml", good + "  broken:\n    unit: nope\n");
  kill(agent->pid(), SIGHUP);
  agent->readUntil("reload refused", 10s);
  auto own = [&] {
    std::vector<json> out;
    for (const auto& b : bodies("hook.jsonl", ""))
      if (b["alert"] == "MedicConfigReloadRefused") out.push_back(b);
    return out;
  };
  ASSERT_TRUE(eventually([&] { return own().size() == 1; }));
  EXPECT_EQ(own()[0]["state"], "firing");
  ASSERT_EQ(own()[0]["details"].size(), 1u);
  EXPECT_NE(own()[0]["details"][0].get<std::string>().find("medic.yaml:18:11: service 'broken': invalid unit name 'nope'"),
            std::string::npos) << own()[0];
  dir.write("medic.yaml", good);
  kill(agent->pid(), SIGHUP);
  ASSERT_TRUE(eventually([&] { return own().size() == 2; }));
  EXPECT_EQ(own()[1]["state"], "resolved");
}

TEST_F(Alerts, AnAlertUndeliveredPastMaxAgeIsDroppedAndTheDropLogged) {
  int port = receive("webhook", "probe.jsonl");
  receivers.clear();  // nothing listens
  std::string file = config("    hook:\n      type: webhook\n      url: http://127.0.0.1:" + std::to_string(port) + "/\n");
  std::ifstream in(file);
  std::string yaml((std::istreambuf_iterator<char>(in)), {});
  yaml.replace(yaml.find("alerts:\n"), 8, "alerts:\n  max_age: 2s\n");
  startMedic(dir.write("medic.yaml", yaml));
  set(2);
  auto lines = agent->readUntil("alert sink hook: dropping notification", 20s);
  EXPECT_NE(lines.back().find("undelivered after 2s: [WARNING] web on " + hostName() + ": web is unhealthy"), std::string::npos)
      << lines.back();
}

TEST_F(Alerts, AReceiverDownKeepsAtMostMaxQueuedInTheOutboxAndTheDropsAreLogged) {
  int port = receive("webhook", "probe.jsonl");
  receivers.clear();  // nothing listens
  std::string file = config("    hook:\n      type: webhook\n      url: http://127.0.0.1:" + std::to_string(port) + "/\n");
  std::ifstream in(file);
  std::string yaml((std::istreambuf_iterator<char>(in)), {});
  yaml.replace(yaml.find("alerts:\n"), 8, "alerts:\n  max_queued: 2\n");
  startMedic(dir.write("medic.yaml", yaml));
  set(2);  // one incident: six notifications for a receiver that takes none
  auto lines = agent->readUntil("more than max_queued 2", 20s);
  EXPECT_NE(lines.back().find("alert sink hook: dropping notification "), std::string::npos) << lines.back();
  EXPECT_NE(lines.back().find(": 3 wait undelivered, more than max_queued 2: "), std::string::npos) << lines.back();
  auto outboxFiles = [&] {
    size_t n = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir.file("state/outbox"), ec))
      n += e.is_regular_file();
    return n;
  };
  // Three notifications so far (unhealthy, recovery started, gave up: the third made the
  // drop): the newest two stay.
  EXPECT_TRUE(eventually([&] { return outboxFiles() == 2; })) << outboxFiles();
  set(0);  // three more (resolved, healed, resolved), each making a drop: still two
  for (int drop = 0; drop < 3; ++drop) agent->readUntil("more than max_queued 2", 20s);
  EXPECT_TRUE(eventually([&] { return outboxFiles() == 2; })) << outboxFiles();
}

// A receiver that accepts connections (the kernel completes them) and never answers.
struct SilentReceiver {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int port = 0;
  SilentReceiver() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("cannot listen on loopback");
    port = ntohs(a.sin_port);
  }
  ~SilentReceiver() { close(fd); }
  bool hasAWaitingConnection() const {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 0) == 1;
  }
};

TEST_F(Alerts, StoppingWhileADeliveryHangsIsClean) {
  SilentReceiver silent;
  startMedic(config("    hook:\n      type: webhook\n      url: http://127.0.0.1:" + std::to_string(silent.port) + "/\n"));
  set(2);
  ASSERT_TRUE(eventually([&] { return silent.hasAWaitingConnection(); })) << "no delivery was attempted";
  // The transfer is in flight in curl's multi handle; stopping must tear it down before the
  // handle goes (under AddressSanitizer a use-after-free aborts here).
  EXPECT_EQ(agent->stop(SIGTERM, 10s), 0) << agent->rest();
}

TEST_F(Alerts, AnOutboxThatCannotBeWrittenIsSaidOnceAndItsReturnToo) {
  int port = receive("webhook", "hook.jsonl");
  std::filesystem::create_directories(dir.file("state"));
  dir.write("state/outbox", "a file where the outbox directory should be\n");
  startMedic(config("    hook:\n      type: webhook\n      url: http://127.0.0.1:" + std::to_string(port) + "/\n"));
  set(2);
  auto lines = agent->readUntil("web: gave up after 1 round", 10s);
  set(0);
  ASSERT_TRUE(eventually([&] { return bodies("hook.jsonl").size() >= kOneIncident.size(); }));
  EXPECT_EQ(sequence(bodies("hook.jsonl")), kOneIncident) << "kept in memory, every notification was delivered";
  std::filesystem::remove(dir.file("state/outbox"));
  set(2);  // a second incident: the outbox can be written again
  auto more = agent->readUntil("alert outbox can be written again", 10s);
  lines.insert(lines.end(), more.begin(), more.end());
  EXPECT_EQ(agent->stop(SIGTERM, 10s), 0);
  int said = 0;
  for (const auto& l : lines) said += l.find("alert outbox cannot be written") != std::string::npos;
  EXPECT_EQ(said, 1) << "six notifications failed to be written; the failure is said once";
}

TEST_F(Alerts, HostileFilesInTheStateDirectoryAreMovedAsideAndMedicStarts) {
  std::string stateDir = dir.file("state");
  std::filesystem::create_directories(stateDir + "/outbox");
  std::filesystem::create_symlink("/dev/zero", stateDir + "/state.json");  // endless
  ASSERT_EQ(mkfifo((stateDir + "/alerts.json").c_str(), 0600), 0);           // blocks a reader forever
  ASSERT_EQ(mkfifo((stateDir + "/outbox/00000000000000000001.json").c_str(), 0600), 0);
  std::filesystem::create_symlink("/dev/zero", stateDir + "/outbox/00000000000000000002.json");
  dir.write("state/outbox/00000000000000000003.json",
            R"({"seq": 3, "target": "hook", "created_ms": -9223372036854775807, "notification": 1, "headline": "h", "payload": "{}"})");
  dir.write("state/outbox/00000000000000000004.json",
            R"({"seq": 4, "target": "gone", "created_ms": 1, "notification": 2, "headline": "x\n2026-12-03 critical FORGED LOG LINE \u001b[2J", "payload": "{}"})");
  int port = receive("webhook", "hook.jsonl");
  auto lines = startMedic(config("    hook:\n      type: webhook\n      url: http://127.0.0.1:" + std::to_string(port) + "/\n"));
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  EXPECT_NE(all.find("cannot read " + stateDir + "/state.json (it is a symbolic link, which medic never follows); moved it to " +
                     stateDir + "/state.json.corrupt-"),
            std::string::npos) << all;
  EXPECT_NE(all.find("cannot read " + stateDir + "/alerts.json (not a regular file); moved it to"), std::string::npos) << all;
  EXPECT_NE(all.find("00000000000000000001.json (not a regular file)"), std::string::npos) << all;
  EXPECT_NE(all.find("00000000000000000002.json (it is a symbolic link"), std::string::npos) << all;
  EXPECT_NE(all.find("00000000000000000003.json ('created_ms' is -9223372036854775807, not a whole number from 0 to"),
            std::string::npos) << all;
  EXPECT_TRUE(std::filesystem::is_symlink(std::filesystem::symlink_status(stateDir + "/state.json.corrupt-" +
                                                                          all.substr(all.find("state.json.corrupt-") + 19, 16))))
      << "the link itself was moved, its target untouched";
  for (const auto& l : lines) {
    EXPECT_EQ(l.find('\x1b'), std::string::npos) << "a raw ESC reached the log";
    if (l.find("FORGED") != std::string::npos) {
      EXPECT_NE(l.find("no longer configured, dropped: x\\x0a2026-12-03 critical FORGED"), std::string::npos)
          << "a headline from a file forged a line of its own: " << l;
    }
  }
  EXPECT_NE(all.find("FORGED"), std::string::npos);
  EXPECT_EQ(agent->stop(SIGTERM, 10s), 0);
}

TEST_F(Alerts, AlertTestLeavesNothingFiringInAlertmanagerAndSaysItIsATest) {
  int am = receive("webhook", "am.jsonl");  // speaks Alertmanager's /api/v2/alerts for this
  std::string file = config("    am:\n      type: alertmanager\n      urls: [\"http://127.0.0.1:" + std::to_string(am) + "\"]\n");
  auto out = capture(std::string(MEDIC_BINARY) + " alert test -c " + file);
  EXPECT_EQ(out.code, 0) << out.text;
  EXPECT_NE(out.text.find(", then resolved"), std::string::npos) << out.text;
  auto posts = received("am.jsonl");
  ASSERT_EQ(posts.size(), 2u) << "firing, then resolved at once";
  json firing = json::parse(posts[0]["body"].get<std::string>())[0];
  json resolved = json::parse(posts[1]["body"].get<std::string>())[0];
  EXPECT_EQ(posts[0]["path"], "/api/v2/alerts");
  EXPECT_FALSE(firing.contains("endsAt"));
  EXPECT_TRUE(resolved.contains("endsAt")) << resolved;
  EXPECT_EQ(resolved["labels"], firing["labels"]) << "the same alert";
  EXPECT_EQ(firing["labels"]["test"], "true");
  EXPECT_NE(firing["annotations"]["description"].get<std::string>().find("a test from `medic alert test`"), std::string::npos);
}

TEST_F(Alerts, IdsNeverRepeatAcrossAlertTestAndRestarts) {
  int port = receive("webhook", "hook.jsonl");
  std::string file = config("    hook:\n      type: webhook\n      url: http://127.0.0.1:" + std::to_string(port) + "/\n");
  startMedic(file);
  set(2);
  agent->readUntil("web: gave up after 1 round", 10s);
  ASSERT_EQ(capture(std::string(MEDIC_BINARY) + " alert test -c " + file).code, 0);
  EXPECT_EQ(agent->stop(SIGTERM, 10s), 0);
  set(0);
  startMedic(file);
  // A delivery repeated after a restart carries its own id again (that is what ids are for);
  // no id may stand for two different notifications.
  std::map<uint64_t, json> ids;
  auto readIds = [&] {
    ids.clear();
    for (const auto& b : bodies("hook.jsonl", "")) {
      auto [it, fresh] = ids.emplace(b["id"].get<uint64_t>(), b);
      if (!fresh) {
        EXPECT_EQ(it->second, b) << "one id, two notifications";
      }
    }
    return ids.size();
  };
  // Everything the first run queued (the incident, then the test) is delivered by the second.
  ASSERT_TRUE(eventually([&] { return readIds() >= kOneIncident.size() + 1; }));
  EXPECT_EQ(agent->stop(SIGTERM, 10s), 0);
  ASSERT_EQ(capture(std::string(MEDIC_BINARY) + " alert test -c " + file).code, 0);
  EXPECT_GE(readIds(), kOneIncident.size() + 2);
}

TEST_F(Alerts, SystemdOutOfReachForTenSecondsIsMedicsOwnCriticalAlert) {
  setenv("DBUS_SYSTEM_BUS_ADDRESS", ("unix:path=" + dir.file("no-bus")).c_str(), 1);
  int port = receive("webhook", "hook.jsonl");
  startMedic(config("    hook:\n      type: webhook\n      url: http://127.0.0.1:" + std::to_string(port) + "/\n"));
  // (Its service may alert too — its check's 450ms timeout can pass on a loaded machine —
  // so medic's own alert is looked for by name.)
  auto own_ = [&] {
    for (const auto& b : bodies("hook.jsonl", ""))
      if (b["alert"] == "MedicSystemdUnreachable") return b;
    return json();
  };
  ASSERT_TRUE(eventually([&] { return !own_().is_null(); }, 20s)) << received("hook.jsonl").size();
  unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
  json own = own_();
  EXPECT_EQ(own["state"], "firing");
  EXPECT_EQ(own["severity"], "critical");
  EXPECT_EQ(own["service"], "") << "about medic itself";
  EXPECT_NE(own["summary"].get<std::string>().find("has not reached systemd over D-Bus for 10s"), std::string::npos) << own;
}

}  // namespace
