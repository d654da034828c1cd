// medic's read-only HTTP endpoints, end to end: the real `medic run` serves them on loopback;
// curl, promtool and raw sockets are its clients.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ctime>
#include <map>
#include <regex>
#include <set>

#include "alerts/alert_names.h"
#include "harness.h"

using namespace medic::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

const std::string kSchema = std::string(MEDIC_SOURCE_DIR) + "/docs/status.schema.json";
const std::string kValidate = std::string(MEDIC_SOURCE_DIR) + "/tests/support/validate_json.py";

// A socket connected to 127.0.0.1:port (-1 when refused).
int connectTo(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Sends `request` as is and returns all the server answers until it closes.
std::string rawExchange(int port, const std::string& request) {
  int fd = connectTo(port);
  if (fd < 0) return "";
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  (void)!write(fd, request.data(), request.size());
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, size_t(n));
  close(fd);
  return out;
}

std::string fileText(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

class Web : public ::testing::Test {
 protected:
  TempDir dir;
  std::string runs = dir.file("runs");
  std::unique_ptr<Subprocess> agent;
  int port = 0;

  // web: an exec check whose exit code is the file `plugin-state`; each run adds a line to `runs`.
  void startMedic(const std::string& http = "http: {listen: \"127.0.0.1:0\"}\n") {
    set(0);
    say("plugin says");
    std::string plugin = dir.write("plugin.sh", "#!/bin/sh\necho run >> " + runs + "\ns=$(cat " + dir.file("plugin-state") +
                                                    ")\necho \"$(cat " + dir.file("plugin-says") + ") $s|time=0.25s;;;\"\nexit $s\n", 0755);
    std::string config = dir.write(
        "medic.yaml", "agent: {state_dir: " + dir.file("state") + "}\n" + http +
                          "services:\n  web:\n    unit: web.service\n    failure_threshold: 2\n    checks:\n"
                          "      - {name: plugin, type: exec, user: root, interval: 500ms, timeout: 450ms, initial_delay: 0s, command: [" +
                          plugin + "]}\n    recovery:\n      cooldown: 1h\n      ladder:\n        - {step: restart, attempts: 1}\n");
    agent = std::make_unique<Subprocess>(std::vector<std::string>{MEDIC_BINARY, "run", "-c", config}, true);
    for (const auto& line : agent->readUntil("medic running", 10s)) {
      std::smatch m;
      if (std::regex_search(line, m, std::regex("on https?://127\\.0\\.0\\.1:([0-9]+)/"))) port = std::stoi(m[1]);
    }
  }
  void set(int code) { dir.write("plugin-state", std::to_string(code)); }
  // The plugin says `text` (on its first line) from its next run on.
  void say(const std::string& text) { dir.write("plugin-says", text); }
  std::string url(const std::string& path) { return "http://127.0.0.1:" + std::to_string(port) + path; }
  // curl's view: "CODE\n" then the body (or the headers with -I).
  CommandOutput get(const std::string& path, const std::string& options = "") {
    return capture("curl -s -m 10 " + options + " -w '\\n%{http_code}' '" + url(path) + "'");
  }
  static int codeOf(const CommandOutput& out) { return std::stoi(out.text.substr(out.text.rfind('\n') + 1)); }
  static std::string bodyOf(const CommandOutput& out) { return out.text.substr(0, out.text.rfind('\n')); }
  size_t runCount() {
    std::ifstream in(runs);
    return size_t(std::count(std::istreambuf_iterator<char>(in), {}, '\n'));
  }
  bool matchesSchema(const std::string& text) {
    auto out = capture(kValidate + " " + kSchema + " < " + dir.write("status.json", text));
    if (out.code != 0) ADD_FAILURE() << out.text;
    return out.code == 0;
  }
};

TEST_F(Web, MetricsAreValidExpositionAndFollowTheChecks) {
  startMedic();
  ASSERT_GT(port, 0) << "medic says where it serves";
  ASSERT_TRUE(eventually([&] { return bodyOf(get("/metrics")).find("check=\"plugin\",status=\"healthy\"} 1") != std::string::npos; }));
  auto out = get("/metrics", "-D " + dir.file("headers"));
  EXPECT_EQ(codeOf(out), 200);
  std::string h = fileText(dir.file("headers"));
  EXPECT_NE(h.find("Content-Type: text/plain; version=0.0.4; charset=utf-8"), std::string::npos) << h;
  auto check = capture("promtool check metrics < " + dir.write("metrics.txt", bodyOf(out)));
  EXPECT_EQ(check.code, 0) << check.text;
  std::string m = bodyOf(out);
  for (const char* expected : {"medic_build_info{version=", "medic_service_health{service=\"web\",health=\"healthy\"} 1",
                               "medic_check_value_seconds{service=\"web\",check=\"plugin\",value=\"time\"} 0.25",
                               "medic_service_recovery_phase{service=\"web\",phase=\"healthy\"} 1", "process_resident_memory_bytes ",
                               "medic_config_last_reload_successful 1"})
    EXPECT_NE(m.find(expected), std::string::npos) << expected << " in:\n" << m;
  set(2);
  EXPECT_TRUE(eventually([&] {
    std::string now = bodyOf(get("/metrics"));
    return now.find("medic_check_status{service=\"web\",check=\"plugin\",status=\"unhealthy\"} 1") != std::string::npos &&
           now.find("medic_service_recoveries_started_total{service=\"web\"} 1") != std::string::npos &&
           // (no systemd here: the restart cannot run)
           now.find("medic_recovery_steps_total{service=\"web\",step=\"restart\",result=\"failed\"} 1") != std::string::npos;
  })) << bodyOf(get("/metrics"));
}

// The shipped Prometheus rules and Grafana dashboard ask only for what medic exports.
TEST_F(Web, TheShippedRulesAndDashboardUseOnlyMetricsMedicExports) {
  startMedic();
  std::string scrape = bodyOf(get("/metrics"));
  std::set<std::string> exported;
  const std::regex type("# TYPE ([a-z_]+) ([a-z]+)"), name("\\b(medic_[a-z_]+|process_[a-z_]+)\\b");
  for (auto it = std::sregex_iterator(scrape.begin(), scrape.end(), type); it != std::sregex_iterator(); ++it) {
    exported.insert((*it)[1]);
    if ((*it)[2] == "histogram")
      for (const char* suffix : {"_bucket", "_sum", "_count"}) exported.insert((*it)[1].str() + suffix);
  }
  for (const char* file : {"/packaging/prometheus/medic.rules.yml", "/packaging/prometheus/medic-services.rules.yml",
                           "/packaging/grafana/medic-dashboard.json"}) {
    std::string text = fileText(std::string(MEDIC_SOURCE_DIR) + file);
    size_t used = 0;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), name); it != std::sregex_iterator(); ++it) {
      ++used;
      EXPECT_TRUE(exported.count((*it)[1])) << file << " asks for " << (*it)[1] << ", which medic does not export";
    }
    EXPECT_GE(used, 3u) << file << ": asks for what medic exports";
  }
}

// The docs' table of metrics (docs/fleet.md) is the families medic exports, both ways; the
// conventions a probe found broken hold: counters apart from gauges, a histogram for times to
// recover, one spelling of gave-up, no recovery series for the host, the process's start.
TEST_F(Web, TheMetricsFollowPrometheusConventionsAndTheDocsListEveryFamily) {
  startMedic("http: {listen: \"127.0.0.1:0\"}\nhost:\n  checks:\n"
             "    - {name: root, type: disk, path: /, used_warn: 100, used_crit: 100, interval: 300ms, initial_delay: 0s}\n");
  ASSERT_TRUE(eventually([&] { return bodyOf(get("/metrics")).find("check=\"root\",status=\"healthy\"} 1") != std::string::npos; }));
  std::string scrape = bodyOf(get("/metrics"));
  std::map<std::string, std::string> exported;  // family -> type
  const std::regex type("# TYPE ([a-z_]+) ([a-z]+)");
  for (auto it = std::sregex_iterator(scrape.begin(), scrape.end(), type); it != std::sregex_iterator(); ++it) exported[(*it)[1]] = (*it)[2];
  std::string doc = fileText(std::string(MEDIC_SOURCE_DIR) + "/docs/fleet.md");
  std::set<std::string> documented;
  const std::regex row("\n\\| (`[a-z_]+`(?:, `[a-z_]+`)*) \\|"), name("`([a-z_]+)`");
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), row); it != std::sregex_iterator(); ++it) {
    std::string names = (*it)[1];
    for (auto n = std::sregex_iterator(names.begin(), names.end(), name); n != std::sregex_iterator(); ++n)
      if ((*n)[1].str().rfind("medic_", 0) == 0 || (*n)[1].str().rfind("process_", 0) == 0) documented.insert((*n)[1]);
  }
  for (const auto& [family, t] : exported) EXPECT_TRUE(documented.count(family)) << family << " is exported but not in docs/fleet.md";
  for (const auto& family : documented) EXPECT_TRUE(exported.count(family)) << family << " is in docs/fleet.md but not exported";
  for (const auto& [family, t] : exported) {
    bool total = family.size() > 6 && family.substr(family.size() - 6) == "_total";
    EXPECT_EQ(total, t == "counter") << family << " is a " << t << ": a counter, and only a counter, ends in _total";
  }
  EXPECT_EQ(exported["medic_service_time_to_recover_seconds"], "histogram");
  EXPECT_EQ(scrape.find("result=\"started\""), std::string::npos) << "a started recovery is not one of the ways it ended";
  EXPECT_EQ(scrape.find("gave_up"), std::string::npos) << "one spelling: gave-up, as the phase has it";
  EXPECT_EQ(scrape.find("medic_service_recovery_phase{service=\"host\""), std::string::npos) << "nothing recovers the host";
  EXPECT_EQ(scrape.find("medic_service_recoveries_total{service=\"host\""), std::string::npos);
  EXPECT_NE(scrape.find("medic_service_time_to_recover_seconds_bucket{service=\"web\",le=\"+Inf\"} 0"), std::string::npos);
  std::smatch start;
  ASSERT_TRUE(std::regex_search(scrape, start, std::regex("\nprocess_start_time_seconds ([0-9.e+]+)\n"))) << scrape;
  EXPECT_NEAR(std::stod(start[1]), double(std::time(nullptr)), 60) << "when medic started";
}

// Every stat panel of the shipped dashboard says by its colour whether its number is bad: a
// panel without thresholds showed "medic up = 0" in green.
TEST(ShippedDashboard, StatPanelsHaveThresholdsAndMedicDownIsRed) {
  json d = json::parse(fileText(std::string(MEDIC_SOURCE_DIR) + "/packaging/grafana/medic-dashboard.json"));
  size_t stats = 0;
  for (const auto& p : d["panels"]) {
    if (p["type"] != "stat") continue;
    ++stats;
    const json& steps = p["fieldConfig"]["defaults"]["thresholds"]["steps"];
    ASSERT_GE(steps.size(), 2u) << p["title"];
    if (p["title"] == "medic up") {
      EXPECT_EQ(steps[0]["color"], "red") << "0 (down) is red";
      EXPECT_EQ(steps[1]["value"], 1);
      EXPECT_EQ(steps[1]["color"], "green");
    } else {
      EXPECT_EQ(steps[0]["color"], "green") << p["title"] << ": none is good";
    }
  }
  EXPECT_GE(stats, 4u);
}

// One fault, one page: the default rules say only what medic cannot say itself (it is gone,
// late, or cannot deliver); the rules for each service's faults, for fleets without medic's
// own Alertmanager sink, are medic's own alerts by the same names, so a fleet loads one path
// or the other. Read from the registry of medic's alert names, so neither can drift.
TEST(ShippedRules, TheDefaultRulesSayOnlyWhatMedicCannotSayItself) {
  auto alertsIn = [](const std::string& file) {
    std::string text = fileText(std::string(MEDIC_SOURCE_DIR) + "/packaging/prometheus/" + file);
    std::set<std::string> names;
    const std::regex alert("- alert: ([A-Za-z]+)");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), alert); it != std::sregex_iterator(); ++it) names.insert((*it)[1]);
    return names;
  };
  std::set<std::string> own(medic::alerts::names::kOwn.begin(), medic::alerts::names::kOwn.end());
  std::set<std::string> core = alertsIn("medic.rules.yml"), services = alertsIn("medic-services.rules.yml");
  EXPECT_TRUE(core.count("MedicDown")) << "the one thing medic can never say about itself";
  for (const auto& name : core) EXPECT_FALSE(own.count(name)) << name << " in medic.rules.yml is raised by medic itself too: two pages";
  EXPECT_FALSE(services.empty());
  for (const auto& name : services)
    EXPECT_TRUE(own.count(name)) << name << " in medic-services.rules.yml is not one of medic's own alerts";
}

TEST_F(Web, StatusIsTheSameJsonAsMedicStatusAndReadinessIsSaid) {
  startMedic();
  auto all = get("/api/v1/status");
  EXPECT_EQ(codeOf(all), 200);
  EXPECT_TRUE(matchesSchema(bodyOf(all)));
  EXPECT_EQ(json::parse(bodyOf(all))["services"][0]["name"], "web");
  ASSERT_TRUE(eventually([&] {
    auto one = json::parse(bodyOf(get("/api/v1/services/web")));
    return one["service"]["checks"][0]["status"] == "healthy";
  }));
  auto one = get("/api/v1/services/web");
  EXPECT_TRUE(matchesSchema(bodyOf(one)));
  auto none = get("/api/v1/services/nope");
  EXPECT_EQ(codeOf(none), 404);
  EXPECT_EQ(json::parse(bodyOf(none))["error"], "no such service");
  EXPECT_EQ(codeOf(get("/-/healthy")), 200);
  EXPECT_EQ(codeOf(get("/-/ready")), 200);
}

TEST_F(Web, OnlyReadsAndBadRequestsGetAClear4xx) {
  startMedic();
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH"}) {
    auto out = get("/metrics", std::string("-X ") + method + " -D " + dir.file("h"));
    EXPECT_EQ(codeOf(out), 405) << method;
    std::string h = fileText(dir.file("h"));
    EXPECT_NE(h.find("Allow: GET, HEAD"), std::string::npos) << h;
  }
  auto head = get("/metrics", "-I");
  EXPECT_EQ(codeOf(head), 200);
  EXPECT_EQ(bodyOf(head).find("medic_build_info"), std::string::npos) << "HEAD has no body";
  // ... and says the length GET's body has, as HTTP asks (it once said 0).
  std::smatch length;
  std::string headers = bodyOf(get("/-/healthy", "-I"));
  ASSERT_TRUE(std::regex_search(headers, length, std::regex("Content-Length: ([0-9]+)", std::regex::icase))) << headers;
  EXPECT_EQ(std::stoul(length[1]), bodyOf(get("/-/healthy")).size()) << headers;
  EXPECT_EQ(codeOf(get("/nothing/here")), 404);
  EXPECT_EQ(codeOf(get("/metrics?x=" + std::string(100, 'a'))), 200) << "a query is ignored";
  auto huge = get("/metrics", "-H 'X-Big: " + std::string(64 * 1024, 'a') + "'");
  EXPECT_GE(codeOf(huge), 400) << "a 64 KiB header is refused";
  EXPECT_LT(codeOf(huge), 500);
  std::string garbage = rawExchange(port, "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(garbage.rfind("HTTP/1.1 400", 0), 0u) << garbage;
  std::string binary = rawExchange(port, std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + "\r\n\r\n");
  EXPECT_TRUE(binary.empty() || binary.rfind("HTTP/1.1 400", 0) == 0) << "a TLS hello to a plain port is closed: " << binary;
  EXPECT_EQ(codeOf(get("/-/healthy")), 200) << "and medic serves on";
}

TEST_F(Web, IdleConnectionsBeyondTheLimitNeitherStallChecksNorGrowMemory) {
  startMedic();
  auto rss = [&] {
    std::ifstream in("/proc/" + std::to_string(agent->pid()) + "/status");
    for (std::string line; std::getline(in, line);)
      if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return 0L;
  };
  ASSERT_EQ(codeOf(get("/metrics")), 200);
  long before = rss();
  std::vector<int> idle;
  for (int i = 0; i < 300; ++i) {
    int fd = connectTo(port);
    if (fd >= 0) {
      (void)!write(fd, "GET /metrics HTTP/1.1\r\n", 23);  // and never the rest
      idle.push_back(fd);
    }
  }
  size_t runsThen = runCount();
  EXPECT_TRUE(eventually([&] { return runCount() >= runsThen + 5; })) << "checks run on while 300 clients hang";
  EXPECT_LT(rss() - before, 8 * 1024) << "kB: memory stays bounded (at most 64 connections are kept)";
  for (int fd : idle) close(fd);
  EXPECT_TRUE(eventually([&] { return codeOf(get("/-/healthy")) == 200; })) << "served again once they are gone";
}

// A socket from 127.0.0.`from` connecting to 127.0.0.1:port without waiting (the listen
// queue may be full): -1 when it cannot even start.
int connectFrom(int from, int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in source{};
  source.sin_family = AF_INET;
  source.sin_addr.s_addr = htonl(INADDR_LOOPBACK + uint32_t(from) - 1);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(uint16_t(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source) != 0 ||
      (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS)) {
    close(fd);
    return -1;
  }
  return fd;
}

// Whether the server has closed `fd` (a read sees the end, or a reset).
bool closedByServer(int fd) {
  char buf[256];
  ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN);
}

// A reliability probe found the endpoints silent for good after bursts of connections that
// stayed open (the connection limit reached, libmicrohttpd no longer watched its listening
// socket), and slow clients holding every slot. At the limit, a new client now takes the slot
// of the connection that has waited longest for its request.
TEST_F(Web, BurstsOfConnectionsHeldOpenNeverSilenceTheEndpoints) {
  startMedic();
  ASSERT_EQ(codeOf(get("/-/healthy")), 200);
  std::vector<int> slow;  // 80 clients from five addresses, each trickling a header byte
  for (int i = 0; i < 80; ++i) {
    int fd = connectFrom(2 + i % 5, port);
    if (fd >= 0) slow.push_back(fd);
  }
  auto trickle = [&] {
    for (int fd : slow) (void)!send(fd, "X", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
  };
  EXPECT_TRUE(eventually([&] {
    trickle();
    return codeOf(get("/-/healthy", "-m 3")) == 200;
  }, 20s)) << "a fresh client is answered while 80 slow ones want the 64 slots";
  for (int burst = 1; burst <= 3; ++burst) {
    std::vector<int> held;  // connections that send nothing and stay open
    for (int i = 0; i < 300; ++i) {
      int fd = connectFrom(10 + i % 20, port);
      if (fd >= 0) held.push_back(fd);
    }
    EXPECT_TRUE(eventually([&] { return codeOf(get("/-/healthy", "-m 3")) == 200; }, 20s))
        << "burst " << burst << ": a new client is answered while 300 connections are held open";
    for (int fd : held) close(fd);
  }
  for (int fd : slow) close(fd);
  EXPECT_EQ(codeOf(get("/metrics")), 200) << "and the endpoints answer once it is all over";
}

// A request must arrive whole within 10 s of its connection: one trickled in a byte at a time
// never looks idle, and the idle timeout alone kept such clients for ever.
TEST_F(Web, ARequestTrickledInAByteAtATimeIsClosedAtItsDeadline) {
  startMedic();
  std::vector<int> slow;
  for (int i = 0; i < 16; ++i) {
    int fd = connectFrom(2, port);
    if (fd >= 0) slow.push_back(fd);
  }
  ASSERT_EQ(slow.size(), 16u);
  EXPECT_TRUE(eventually([&] {
    for (int fd : slow) (void)!send(fd, "X", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    return std::all_of(slow.begin(), slow.end(), closedByServer);
  }, 30s)) << "closed though never idle";
  for (int fd : slow) close(fd);
  EXPECT_EQ(codeOf(get("/-/healthy")), 200);
}

TEST_F(Web, AReloadMovesOrStopsTheServer) {
  int first = freeLoopbackPort();
  startMedic("http: {listen: \"127.0.0.1:" + std::to_string(first) + "\"}\n");
  ASSERT_EQ(port, first);
  ASSERT_EQ(codeOf(get("/-/healthy")), 200);
  int second = freeLoopbackPort();
  std::string config = dir.file("medic.yaml");
  std::string text = fileText(config);
  std::string moved = std::regex_replace(text, std::regex("127\\.0\\.0\\.1:" + std::to_string(first)), "127.0.0.1:" + std::to_string(second));
  dir.write("medic.yaml", moved);
  kill(agent->pid(), SIGHUP);
  agent->readUntil("on http://127.0.0.1:" + std::to_string(second) + "/", 10s);
  port = second;
  EXPECT_EQ(codeOf(get("/-/healthy")), 200) << "served on the new port";
  EXPECT_LT(connectTo(first), 0) << "and no longer on the old one";
  dir.write("medic.yaml", std::regex_replace(moved, std::regex("http: .*\n"), ""));
  kill(agent->pid(), SIGHUP);
  agent->readUntil("no longer serving HTTP on 127.0.0.1:" + std::to_string(second), 10s);
  EXPECT_LT(connectTo(second), 0) << "an http: section taken out stops the server";
}

TEST_F(Web, OffUnlessConfiguredAndAPortInUseIsLoggedNotFatal) {
  startMedic("");
  EXPECT_EQ(port, 0) << "no http: section, no server";
  agent.reset();
  int busyPort = 0;
  int taken = bindLoopback(busyPort);
  ASSERT_GE(taken, 0);
  ASSERT_EQ(listen(taken, 1), 0);
  std::string busy = std::to_string(busyPort);
  agent = std::make_unique<Subprocess>(
      std::vector<std::string>{MEDIC_BINARY, "run", "-c",
                               dir.write("busy.yaml", "agent: {state_dir: " + dir.file("state") + "}\nhttp: {listen: \"127.0.0.1:" + busy +
                                                          "\"}\nservices:\n  db:\n    unit: db.service\n    checks:\n"
                                                          "      - {name: root, type: disk, path: /}\n")},
      true);
  bool said = false;
  for (const auto& line : agent->readUntil("medic running", 10s))
    said = said || line.find("cannot serve HTTP: cannot listen on 127.0.0.1:" + busy) != std::string::npos;
  EXPECT_TRUE(said) << "the journal says why there is no server; medic runs on";
  close(taken);
}

TEST_F(Web, TheStatusPageSaysEachServicesHealthAndEscapesWhatCameFromOutside) {
  startMedic();
  say("<script>alert(1)</script> & <img src=x>");
  set(2);
  ASSERT_TRUE(eventually([&] {
    std::string page = bodyOf(get("/"));
    return page.find("MedicServiceUnhealthy") != std::string::npos && page.find("<svg class=\"chart\"") != std::string::npos;
  }));
  auto out = get("/", "-D " + dir.file("h"));
  EXPECT_EQ(codeOf(out), 200);
  std::string page = bodyOf(out);
  EXPECT_EQ(page.find("<script"), std::string::npos) << "no script, and none let in";
  EXPECT_EQ(page.find("<img"), std::string::npos);
  EXPECT_NE(page.find("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;img src=x&gt; 2"), std::string::npos) << page;
  EXPECT_NE(page.find("<span class=\"badge unhealthy\">&#10007; unhealthy</span>"), std::string::npos) << "the word, not only a colour";
  EXPECT_NE(page.find("<svg class=\"chart\""), std::string::npos) << "the durations drawn";
  std::string h = fileText(dir.file("h"));
  EXPECT_NE(h.find("Content-Security-Policy: default-src 'none'"), std::string::npos) << h;
  EXPECT_NE(h.find("Content-Type: text/html; charset=utf-8"), std::string::npos) << h;
}

TEST_F(Web, TlsAndBasicAuthAsPrometheusWebConfigHasThem) {
  ASSERT_EQ(shell("cd " + dir.path.string() + " && openssl req -x509 -newkey rsa:2048 -nodes -keyout web.key -out web.pem -days 2 "
                  "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null"), 0);
  auto bcrypt = capture("/usr/bin/python3 -W ignore -c \"import crypt; print(crypt.crypt('scrape-secret', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024)))\"");
  auto sha = capture("openssl passwd -6 -salt medicsalt other-secret");
  ASSERT_EQ(bcrypt.text.rfind("$2b$", 0), 0u) << bcrypt.text;
  std::string users = dir.write("web-users", "# who may read\nprom:" + bcrypt.text + "ops:" + sha.text, 0600);
  startMedic("http:\n  listen: 127.0.0.1:0\n  tls: {cert_file: " + dir.file("web.pem") + ", key_file: " + dir.file("web.key") +
             "}\n  users_file: " + users + "\n");
  ASSERT_GT(port, 0);
  auto https = [&](const std::string& options) {
    return capture("curl -s -m 10 --cacert " + dir.file("web.pem") + " " + options + " -o /dev/null -w '%{http_code}' https://127.0.0.1:" +
                   std::to_string(port) + "/metrics");
  };
  EXPECT_EQ(https("").text, "401") << "no credentials";
  EXPECT_EQ(https("-D " + dir.file("h")).text, "401");
  std::string h = fileText(dir.file("h"));
  EXPECT_NE(h.find("WWW-Authenticate: Basic realm=\"medic\""), std::string::npos) << h;
  EXPECT_EQ(https("-u prom:wrong").text, "401");
  EXPECT_EQ(https("-u nobody:scrape-secret").text, "401");
  EXPECT_EQ(https("-u prom:scrape-secret").text, "200") << "bcrypt";
  EXPECT_EQ(https("-u prom:scrape-secret").text, "200") << "again (remembered)";
  EXPECT_EQ(https("-u prom:other-secret").text, "401") << "a remembered user with another password";
  EXPECT_EQ(https("-u ops:other-secret").text, "200") << "SHA-crypt";
  auto plain = capture("curl -s -m 10 -o /dev/null -w '%{http_code}' http://127.0.0.1:" + std::to_string(port) + "/metrics");
  EXPECT_NE(plain.text, "200") << "plain HTTP to the TLS port gets nothing";
  // Guesses in parallel: checked off the loop, so the checks keep their timing.
  size_t before = runCount();
  shell("seq 20 | xargs -P 20 -I{} curl -s -m 10 --cacert " + dir.file("web.pem") + " -u prom:guess{} -o /dev/null https://127.0.0.1:" +
        std::to_string(port) + "/metrics");
  EXPECT_TRUE(eventually([&] { return runCount() >= before + 3; }));
  EXPECT_EQ(https("-u prom:scrape-secret").text, "200") << "and the right password still passes";
}

// A real browser (Debian's chromium, headless) renders the page of a medic with a failing
// service; what a person sees is read from the rendered DOM, and a screenshot is kept.
TEST_F(Web, ARealBrowserShowsTheFailingServiceItsMessageAndItsChart) {
  startMedic();
  say("backend answered 503");
  set(2);
  // The page as the browser will get it: the alert, the chart and the failing run's message
  // (on a loaded machine an earlier run may have timed out instead).
  ASSERT_TRUE(eventually([&] {
    std::string page = bodyOf(get("/"));
    return page.find("MedicServiceUnhealthy") != std::string::npos && page.find("<svg class=\"chart\"") != std::string::npos &&
           page.find("backend answered 503 2") != std::string::npos;
  }));
  std::string artifacts = std::filesystem::path(MEDIC_BINARY).parent_path() / "test-artifacts";
  std::filesystem::create_directories(artifacts);
  std::string browser = "chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run "
                        "--hide-scrollbars --user-data-dir=" + dir.file("chromium") + " ";
  auto dom = capture(browser + "--dump-dom '" + url("/") + "' 2>/dev/null");
  ASSERT_EQ(dom.code, 0) << dom.text;
  EXPECT_NE(dom.text.find("<title>medic on "), std::string::npos) << dom.text;
  EXPECT_NE(dom.text.find("backend answered 503 2"), std::string::npos) << "the failing check's message";
  EXPECT_NE(dom.text.find("<span class=\"badge unhealthy\">✗ unhealthy</span>"), std::string::npos) << dom.text;
  EXPECT_NE(dom.text.find("<svg class=\"chart\""), std::string::npos) << "the chart is in the page";
  std::string shot = artifacts + "/status-page.png";
  std::filesystem::remove(shot);
  auto png = capture(browser + "--window-size=900,1100 --screenshot=" + shot + " '" + url("/") + "' 2>&1");
  ASSERT_EQ(png.code, 0) << png.text;
  ASSERT_TRUE(std::filesystem::exists(shot));
  EXPECT_GT(std::filesystem::file_size(shot), 10000u) << "a page was drawn, not a blank";
}

}  // namespace
