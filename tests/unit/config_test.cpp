// Config loading: every invalid-*.yaml is paired with the exact messages an operator sees,
// and a valid config is read field by field into the spec structs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/text.h"
#include "temp_dir.h"
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "checks/disk_check.h"
#include "checks/exec_check.h"
#include "checks/http_check.h"
#include "checks/memory_check.h"
#include "checks/process_check.h"
#include "checks/tcp_check.h"
#include "config/loader.h"
#include "strategies/exec_step.h"
#include "strategies/restart_step.h"
#include "strategies/restore_step.h"
#include "runtime/names.h"
#include "runtime/path_rules.h"

using namespace medic;
using namespace medic::config;
using namespace medic::checks;
using namespace std::chrono_literals;
using testing::ElementsAre;
using testing::ElementsAreArray;

namespace {

const std::string kDir = std::string(MEDIC_TESTDATA) + "/config/";

// Messages with the testdata directory cut off, in the order `medic validate` prints them.
std::vector<std::string> errorsOf(const std::string& file) {
  auto result = loadConfig(kDir + file);
  EXPECT_FALSE(result.config.has_value()) << file << " loaded although it is invalid";
  std::vector<std::string> lines;
  std::string all = result.errors.str();
  for (size_t start = 0, end; (end = all.find('\n', start)) != std::string::npos; start = end + 1) {
    std::string line = all.substr(start, end - start);
    if (line.starts_with(kDir)) line = line.substr(kDir.size());
    lines.push_back(line);
  }
  return lines;
}

struct InvalidCase {
  std::string file;
  std::vector<std::string> expected;
};

void PrintTo(const InvalidCase& c, std::ostream* os) { *os << c.file; }

class InvalidConfig : public testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidConfig, ReportsEveryErrorWithItsPosition) {
  EXPECT_THAT(errorsOf(GetParam().file), ElementsAreArray(GetParam().expected));
}

INSTANTIATE_TEST_SUITE_P(
    Table, InvalidConfig,
    testing::Values(
        InvalidCase{"invalid-syntax.yaml", {"invalid-syntax.yaml:6:1: YAML syntax error: end of sequence flow not found"}},
        InvalidCase{"invalid-unknown-key.yaml",
                    {"invalid-unknown-key.yaml:8:9: service 'web': check 'health': unknown key 'intervall' (did you mean 'interval'?)"}},
        InvalidCase{"invalid-values.yaml",
                    {"invalid-values.yaml:3:14: agent: 'log_level' must be one of trace, debug, info, warn, error; got 'verbose'",
                     "invalid-values.yaml:6:11: service 'web': invalid unit name 'web': expected a full unit name such as 'nginx.service'",
                     "invalid-values.yaml:7:24: service 'web': 'failure_threshold' must be between 1 and 100, got 0",
                     "invalid-values.yaml:10:15: service 'web': check 'health': unknown check type 'htp' (did you mean 'http'?)",
                     "invalid-values.yaml:15:15: service 'web': check 'port': 'port' must be between 1 and 65535, got 70000",
                     "invalid-values.yaml:16:19: service 'web': check 'port': 'interval' must be a duration like 500ms, 10s or 5m, got '10 seconds'",
                     "invalid-values.yaml:22:18: service 'web': check 'slow': 'timeout' (5s) must be shorter than 'interval' (5s)",
                     "invalid-values.yaml:23:27: service 'web': check 'slow': 'failing_interval' (5s) must be shorter than 'interval' (5s)",
                     "invalid-values.yaml:24:15: service 'web': check 'slow': duplicate check 'slow' (first defined at " + kDir +
                         "invalid-values.yaml:17:15)",
                     "invalid-values.yaml:26:15: service 'web': check 'slow': 'path' must be an absolute path",
                     "invalid-values.yaml:30:19: service 'web': check 'loud': 'severity' must be info, warning or critical; got 'loud'"}},
        InvalidCase{"invalid-missing.yaml",
                    {"invalid-missing.yaml:3:5: service 'web': missing required key 'unit'",
                     "invalid-missing.yaml:4:9: service 'web': check #1: missing required key 'name'",
                     "invalid-missing.yaml:4:9: service 'web': check #1: missing required key 'url'",
                     "invalid-missing.yaml:5:9: service 'web': check 'proc': a process check needs exactly one of 'process_name', 'cmdline' or 'pidfile'"}},
        InvalidCase{"invalid-regex.yaml",
                    {"invalid-regex.yaml:7:14: service 'web': check 'body': 'url' must be http:// or https://, got 'ftp://127.0.0.1/health'",
                     "invalid-regex.yaml:8:21: service 'web': check 'body': invalid regex '([unclosed': missing ]: [unclosed",
                     "invalid-regex.yaml:9:24: service 'web': check 'body': invalid status '6xx': use 200, \"200-299\" or \"2xx\"",
                     "invalid-regex.yaml:14:17: service 'web': check 'banner': invalid regex 'SSH-(2': missing ): SSH-(2",
                     "invalid-regex.yaml:18:21: service 'web': check 'bomb': invalid regex '(((a{1,1000}){1,1000}){1,1000})': its "
                     "repeats expand to about 1000000000 elements; at most 5000 are allowed (nested bounded repeats multiply)",
                     "invalid-regex.yaml:23:17: service 'web': check 'wide': invalid regex 'x{1,5000}': a repeat count of 5000; "
                     "at most 1000 is allowed",
                     "invalid-regex.yaml:24:18: service 'web': check 'wide': 'timeout' must be at most 3650d, got '99999999999d'"}},
        InvalidCase{"invalid-exec.yaml",
                    {"invalid-exec.yaml:7:18: service 'batch': check 'plugin': 'command' must start with an absolute path, got 'check_tcp' (no PATH lookup: what runs as root is spelled out)",
                     "invalid-exec.yaml:8:15: service 'batch': check 'plugin': unknown user 'no-such-user-here'",
                     "invalid-exec.yaml:12:18: service 'batch': check 'script': with 'shell: true', 'command' is one string for /bin/sh -c",
                     "invalid-exec.yaml:16:20: service 'batch': check 'limits': 'tasks_max' 1 leaves the command no room: the run's shepherd is one task (0: no limit)",
                     "invalid-exec.yaml:17:21: service 'batch': check 'limits': 'memory_max' must be at least 1MiB (0: no limit)"}},
        InvalidCase{"invalid-alerts.yaml",
                    {"invalid-alerts.yaml:2:12: alerts: 'max_age' must be a duration like 500ms, 10s or 5m, got 'forever'",
                     "invalid-alerts.yaml:6:12: sink 'hook': 'url' must be a http:// or https:// URL; got 'ftp://example.org/hook'",
                     "invalid-alerts.yaml:7:15: sink 'hook': 'format' must be json or slack; got 'xml'",
                     "invalid-alerts.yaml:8:21: sink 'hook': cannot read '/nonexistent/token': No such file or directory",
                     "invalid-alerts.yaml:9:21: sink 'hook': 'min_severity' must be info, warning or critical; got 'loud'",
                     "invalid-alerts.yaml:12:12: sink 'mail': 'url' must be a smtp:// or smtps:// URL; got 'http://mail.example.org'",
                     "invalid-alerts.yaml:13:13: sink 'mail': 'from' must be an e-mail address; got 'medic'",
                     "invalid-alerts.yaml:14:11: sink 'mail': 'to' must hold e-mail addresses; got 'x\\x0aBcc: all@example.org'",
                     "invalid-alerts.yaml:15:22: sink 'mail': 'password_file' needs 'username'",
                     "invalid-alerts.yaml:16:5: sink 'am': 'services' names 'nope', which is not a configured service",
                     "invalid-alerts.yaml:18:13: sink 'am': 'urls' needs at least one Alertmanager",
                     "invalid-alerts.yaml:21:13: sink 'pager': unknown sink type 'sms': expected webhook, email or alertmanager"}},
        InvalidCase{"invalid-recovery.yaml",
                    {"invalid-recovery.yaml:5:21: service 'db': use either 'failure_threshold' or 'failure_window', not both",
                     "invalid-recovery.yaml:5:32: service 'db': failure_window: 'failures' (4) cannot exceed 'of' (3)",
                     "invalid-recovery.yaml:7:17: service 'db': recovery: 'cooldown' must be a duration like 500ms, 10s or 5m, got 'soon'",
                     "invalid-recovery.yaml:9:17: service 'db': recovery: ladder step 'restrat': unknown step 'restrat' (did you mean 'restart'?)",
                     "invalid-recovery.yaml:11:23: service 'db': recovery: ladder step 'restore': 'config_dir' '/etc': refusing a top-level directory",
                     "invalid-recovery.yaml:13:22: service 'db': recovery: ladder step 'restore': 'data_dirs' '/': refusing '/'",
                     "invalid-recovery.yaml:13:22: service 'db': recovery: ladder step 'restore': 'data_dirs' '/var/lib': refusing the system directory /var/lib",
                     "invalid-recovery.yaml:13:22: service 'db': recovery: ladder step 'restore': 'data_dirs' '/srv/db/../../etc': must not contain '.' or '..' components",
                     "invalid-recovery.yaml:15:20: service 'db': recovery: ladder step 'restart': 'cleanup' '/tmp/*/x': wildcards are allowed in the last component only",
                     "invalid-recovery.yaml:17:24: service 'db': recovery: ladder step 'failover': 'backup_unit' must differ from the service's own unit",
                     "invalid-recovery.yaml:19:20: service 'db': recovery: conditions: 'reachable' entries must be host:port, got 'db.local'",
                     "invalid-recovery.yaml:20:23: service 'db': recovery: conditions: invalid unit name 'network'",
                     "invalid-recovery.yaml:26:20: service 'cache': recovery: ladder step 'restart': 'cleanup' '/tmp/*.lock': "
                     "refusing /tmp: medic.service has PrivateTmp=yes, so medic sees its own private one, never the service's; "
                     "keep what medic must clean under /run/<service> (RuntimeDirectory=) or /var/lib/<service>",
                     "invalid-recovery.yaml:27:20: service 'cache': recovery: ladder step 'restart': 'pidfile' '/var/run/cache.pid': "
                     "/var/run is a symlink to /run, and medic never deletes through a symlink; write '/run/cache.pid'"}},
        InvalidCase{"dup/medic.yaml",
                    {"dup/checks.d/web.yaml:2:3: 'agent' is only allowed in the main config file",
                     "dup/checks.d/web.yaml:4:3: duplicate service 'web' (first defined at " + kDir + "dup/medic.yaml:3:3)"}}),
    [](const testing::TestParamInfo<InvalidCase>& info) {
      std::string name = info.param.file.substr(0, info.param.file.find('.'));
      for (char& c : name)
        if (!isalnum(static_cast<unsigned char>(c))) c = '_';
      return name;
    });

TEST(ConfigLoad, ErrorsShowControlBytesAndInvalidUtf8EscapedOnOneLine) {
  medic::test::TempDir dir;
  std::string file = dir.write("medic.yaml", "services:\n  web:\n    unit: web.service\n    checks:\n"
                                             "      - {name: a, type: \"disk\\e[31m\\nFORGED\", bogus\\x01key: 1}\n"
                                             "  db:\n    unit: \"db\xff\xfe\x1b.service\"\n");
  auto result = loadConfig(file);
  ASSERT_FALSE(result.config);
  std::string all = result.errors.str();
  EXPECT_EQ(std::count(all.begin(), all.end(), '\n'), static_cast<long>(result.errors.size())) << all;
  for (const auto& e : result.errors.all()) {
    EXPECT_TRUE(isPlainText(e.message)) << e.message;
    EXPECT_EQ(e.message.find('\x1b'), std::string::npos);
  }
  EXPECT_NE(all.find("\\x1b[31m\\x0aFORGED"), std::string::npos) << all;
  EXPECT_NE(all.find("db\\xff\\xfe\\x1b.service"), std::string::npos) << all;
}

// `reachable: ["[::1]:8080"]` is read as an IPv6 address in brackets, once, at load (it was
// parsed twice, and the second time kept the brackets).
TEST(ConfigLoad, AReachableAddressIsParsedOnceIPv6InBracketsToo) {
  medic::test::TempDir dir;
  std::string file = dir.write("medic.yaml", "services:\n  web:\n    unit: web.service\n    recovery:\n"
                                             "      conditions: {reachable: [\"[::1]:8080\", \"db.internal:5432\"]}\n");
  auto result = loadConfig(file);
  ASSERT_TRUE(result.config) << result.errors.str();
  const auto& peers = result.config->services[0].recovery.conditions.reachablePeers;
  ASSERT_EQ(peers.size(), 2u);
  EXPECT_EQ(peers[0].host(), "::1");
  EXPECT_EQ(peers[0].port(), 8080);
  EXPECT_NE(peers[0].address(), nullptr) << "numeric: no lookup per run";
  EXPECT_EQ(peers[1].text(), "db.internal:5432");
  EXPECT_EQ(peers[1].address(), nullptr) << "a name, looked up when it runs";
}

TEST(ConfigLoad, AStepMayCarryItsOwnConditions) {
  medic::test::TempDir dir;
  std::string file = dir.write("medic.yaml", "services:\n  web:\n    unit: web.service\n    recovery:\n"
                                             "      conditions: {units_active: [db.service]}\n      ladder:\n"
                                             "        - {step: restart}\n"
                                             "        - {step: failover, backup_unit: web2.service, conditions: {reachable: [\"10.0.0.2:80\"], recheck: 5s}}\n");
  auto result = loadConfig(file);
  ASSERT_TRUE(result.config) << result.errors.str();
  const auto& recovery = result.config->services[0].recovery;
  EXPECT_EQ(config::conditionsFor(recovery, recovery.ladder, 0)->unitsActive, std::vector<std::string>{"db.service"});
  ASSERT_NE(config::conditionsFor(recovery, recovery.ladder, 1), nullptr);
  EXPECT_EQ(config::conditionsFor(recovery, recovery.ladder, 1)->reachable, std::vector<std::string>{"10.0.0.2:80"});
  ASSERT_EQ(config::conditionsFor(recovery, recovery.ladder, 1)->reachablePeers.size(), 1u);
  EXPECT_NE(config::conditionsFor(recovery, recovery.ladder, 1)->reachablePeers[0].address(), nullptr) << "parsed once, at load";
  EXPECT_EQ(config::conditionsFor(recovery, recovery.ladder, 1)->recheck, std::chrono::seconds(5));
  dir.write("medic.yaml", "services:\n  web:\n    unit: web.service\n    recovery:\n      ladder:\n"
                          "        - {step: restart, conditions: {units_active: [db]}}\n");
  EXPECT_EQ(loadConfig(file).errors.str(), file + ":6:54: service 'web': recovery: ladder step 'restart': conditions: "
                                                  "invalid unit name 'db'\n");
}

TEST(ConfigLoad, MissingFileIsOneClearError) {
  auto result = loadConfig("/nonexistent/medic.yaml");
  ASSERT_FALSE(result.config);
  EXPECT_EQ(result.errors.str(), "/nonexistent/medic.yaml: cannot read file: No such file or directory\n");
}

TEST(ConfigLoad, ValidConfigRoundTripsIntoSpecs) {
  auto result = loadConfig(kDir + "valid/medic.yaml");
  ASSERT_TRUE(result.config) << result.errors.str();
  const Config& c = *result.config;
  EXPECT_EQ(c.agent.stateDir, "/var/lib/medic-test");
  EXPECT_EQ(c.agent.logLevel, "debug");
  EXPECT_EQ(c.agent.timerSlack, 5ms);
  EXPECT_EQ(c.agent.maxConcurrentRecoveries, 2);
  EXPECT_THAT(c.files, ElementsAre(kDir + "valid/medic.yaml", kDir + "valid/checks.d/web.yaml"));
  ASSERT_EQ(c.services.size(), 2u);

  const ServiceSpec& web = c.services[0];
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(web.unit, "web.service");
  EXPECT_EQ(web.successThreshold, 2);
  ASSERT_TRUE(web.window);
  EXPECT_EQ(web.window->failures, 3);
  EXPECT_EQ(web.window->of, 5);
  ASSERT_EQ(web.checks.size(), 6u);

  const CheckSpec& health = web.checks[0];
  EXPECT_EQ(health.name, "health");
  EXPECT_EQ(health.interval, 15s);
  EXPECT_EQ(health.timeout, 3s);
  EXPECT_EQ(health.initialDelay, std::optional<Duration>(1s));
  EXPECT_TRUE(health.critical);
  auto* http = dynamic_cast<const checks::HttpCheck*>(health.check.get());
  ASSERT_TRUE(http);
  EXPECT_EQ(http->spec().url, "https://127.0.0.1:8443/health");
  EXPECT_EQ(http->spec().method, "POST");
  EXPECT_EQ(http->spec().headers.at("X-Probe"), "medic");
  EXPECT_EQ(http->spec().body, "{\"ping\": true}");
  EXPECT_THAT(http->spec().expectStatus, ElementsAre(std::pair{200, 200}, std::pair{301, 302}, std::pair{200, 299}));
  EXPECT_TRUE(http->spec().bodyMatch->search("{\"ok\": true}"));
  EXPECT_EQ(http->spec().onMismatch, checks::Status::degraded);
  EXPECT_TRUE(http->spec().tls.insecure);
  EXPECT_TRUE(http->spec().followRedirects);
  EXPECT_EQ(http->spec().bodyCap, 16u * 1024);

  auto* tcp = dynamic_cast<const checks::TcpCheck*>(web.checks[1].check.get());
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->spec().peer.host(), "::1");
  EXPECT_EQ(tcp->spec().peer.port(), 8443);
  ASSERT_TRUE(tcp->spec().peer.address()) << "a numeric host is parsed at load";
  EXPECT_EQ(tcp->spec().peer.address()->sa_family, AF_INET6);
  EXPECT_EQ(tcp->spec().send, "PING\r\n");
  EXPECT_EQ(tcp->target(), "tcp [::1]:8443");
  EXPECT_EQ(web.checks[1].interval, 2s);
  EXPECT_EQ(web.checks[1].timeout, 1s) << "default timeout is half of a short interval";

  auto* proc = dynamic_cast<const checks::ProcessCheck*>(web.checks[2].check.get());
  ASSERT_TRUE(proc);
  EXPECT_TRUE(proc->spec().cmdline->search("/usr/bin/web --worker 3"));
  EXPECT_EQ(proc->spec().min, 2);
  EXPECT_EQ(proc->spec().max, 8);
  EXPECT_FALSE(web.checks[2].critical);
  EXPECT_EQ(web.checks[2].interval, 30s);
  EXPECT_EQ(web.checks[2].timeout, 5s);

  auto* disk = dynamic_cast<const checks::DiskCheck*>(web.checks[3].check.get());
  ASSERT_TRUE(disk);
  EXPECT_EQ(disk->spec().space.warn, 70);
  EXPECT_EQ(disk->spec().space.crit, 85);
  EXPECT_EQ(disk->spec().inodes.warn, 50);
  EXPECT_EQ(disk->spec().inodes.crit, 60);

  auto* mem = dynamic_cast<const checks::MemoryCheck*>(web.checks[4].check.get());
  ASSERT_TRUE(mem);
  EXPECT_EQ(mem->spec().memory.warn, 90);
  ASSERT_TRUE(mem->spec().swap);
  EXPECT_EQ(mem->spec().swap->crit, 20);

  auto* exec = dynamic_cast<const checks::ExecCheck*>(web.checks[5].check.get());
  ASSERT_TRUE(exec);
  EXPECT_THAT(exec->spec().command, ElementsAre("/bin/true", "--flag"));
  EXPECT_EQ(exec->spec().uid, std::optional<uid_t>(0));
  EXPECT_EQ(exec->spec().environment.at("MODE"), "probe");
  EXPECT_EQ(exec->spec().workdir, "/tmp");
  EXPECT_EQ(exec->spec().outputCap, 4096u);

  const RecoverySpec& r = web.recovery;
  EXPECT_EQ(r.verifyGrace, 20s);
  EXPECT_EQ(r.cooldown, 10min);
  EXPECT_EQ(r.maxRounds, 2);
  EXPECT_EQ(r.flapping.maxRecoveries, 4);
  EXPECT_EQ(r.flapping.within, 30min);
  ASSERT_EQ(r.ladder.size(), 5u);
  EXPECT_EQ(r.ladder[0].kind, "restart");
  EXPECT_EQ(r.ladder[0].attempts, 3);
  EXPECT_EQ(r.ladder[0].timeout, 30s);
  EXPECT_THAT(dynamic_cast<const strategies::RestartStep&>(*r.ladder[0].step).cleanup(), ElementsAre("/run/web/*.sock"));
  EXPECT_EQ(dynamic_cast<const strategies::RestartStep&>(*r.ladder[0].step).pidfile(), "/run/web/web.pid");
  EXPECT_EQ(r.ladder[1].kind, "reload");
  const auto& restore = dynamic_cast<const strategies::RestoreStep&>(*r.ladder[2].step).settings();
  EXPECT_EQ(restore.configDir, "/srv/web/conf");
  EXPECT_EQ(restore.defaultsDir, "/usr/share/web/defaults");
  EXPECT_THAT(restore.dataDirs, ElementsAre("/srv/web/cache"));
  EXPECT_EQ(restore.keepBackups, 3);
  EXPECT_EQ(restore.backupDir, "/var/lib/medic-test/backups/web");
  EXPECT_EQ(r.ladder[3].step->unitSwitch()->backupUnit, "web-backup.service");
  EXPECT_FALSE(r.ladder[3].step->unitSwitch()->failBack);
  EXPECT_THAT(dynamic_cast<const strategies::ExecStep&>(*r.ladder[4].step).command(), ElementsAre("/usr/local/bin/fix-web", "--hard"));
  EXPECT_THAT(r.conditions.unitsActive, ElementsAre("postgresql.service"));
  ASSERT_EQ(r.conditions.diskFree.size(), 1u);
  EXPECT_EQ(r.conditions.diskFree[0].path, "/srv");
  EXPECT_EQ(r.conditions.diskFree[0].minFreePercent, 15);
  EXPECT_EQ(r.conditions.minMemoryAvailablePercent, std::optional<double>(10));
  EXPECT_THAT(r.conditions.reachable, ElementsAre("db.local:5432"));
  EXPECT_EQ(r.conditions.recheck, 10s);

  const ServiceSpec& cache = c.services[1];
  EXPECT_EQ(cache.name, "cache");
  EXPECT_EQ(cache.failureThreshold, 3);
  EXPECT_FALSE(cache.recovery.enabled);
  ASSERT_EQ(cache.recovery.ladder.size(), 2u) << "default ladder: restart x2, then reload";
  EXPECT_EQ(cache.recovery.ladder[0].attempts, 2);
  EXPECT_EQ(cache.recovery.ladder[1].kind, "reload");
}

TEST(ConfigLoad, ExampleConfigValidates) {
  auto result = loadConfig(std::string(MEDIC_TESTDATA) + "/../../config/examples/medic.yaml");
  EXPECT_TRUE(result.config) << result.errors.str();
}

using medic::test::TempDir;

TEST(ConfigLoad, RestoreThroughASymlinkIsRefused) {
  TempDir dir;
  std::filesystem::create_directories(dir.path / "real/data");
  std::filesystem::create_symlink(dir.path / "real", dir.path / "link");
  std::string file = dir.write("medic.yaml",
                               "services:\n"
                               "  app:\n"
                               "    unit: app.service\n"
                               "    recovery:\n"
                               "      ladder:\n"
                               "        - step: restore\n"
                               "          data_dirs: [" + (dir.path / "link/data").string() + "]\n");
  auto result = loadConfig(file);
  ASSERT_FALSE(result.config);
  EXPECT_EQ(result.errors.str(), file + ":7:22: service 'app': recovery: ladder step 'restore': 'data_dirs' '" +
                                     (dir.path / "link/data").string() + "': goes through a symlink (resolves to " +
                                     (dir.path / "real/data").string() + ")\n");
}

TEST(ConfigLoad, UnreadableIncludeIsAnErrorButAnEmptyGlobIsNot) {
  TempDir dir;
  std::filesystem::create_directories(dir.path / "checks.d/broken.yaml");  // a directory, not a file
  std::string file = dir.write("medic.yaml", "include: [checks.d/*.yaml, empty.d/*.yaml]\n");
  auto result = loadConfig(file);
  ASSERT_FALSE(result.config);
  EXPECT_EQ(result.errors.str(), (dir.path / "checks.d/broken.yaml").string() + ": cannot read file: not a regular file\n");
}

TEST(ConfigLoad, DuplicateYamlKeysAreReported) {
  TempDir dir;
  std::string file = dir.write("medic.yaml", "services:\n  a:\n    unit: a.service\n    unit: b.service\n");
  auto result = loadConfig(file);
  ASSERT_FALSE(result.config);
  EXPECT_EQ(result.errors.str(), file + ":4:5: service 'a': duplicate key 'unit' (first at line 3)\n");
}

TEST(PathRules, RefuseRootSystemDirectoriesAndDotDot) {
  EXPECT_EQ(checkDestructivePath("/"), "refusing '/'");
  EXPECT_EQ(checkDestructivePath("/etc"), "refusing a top-level directory");
  EXPECT_EQ(checkDestructivePath("/usr/local/app"), "refusing a path under /usr");
  EXPECT_EQ(checkDestructivePath("/var/lib"), "refusing the system directory /var/lib");
  EXPECT_EQ(checkDestructivePath("/var/lib/"), "must not end with '/'");
  EXPECT_EQ(checkDestructivePath("var/lib/app"), "must be an absolute path");
  EXPECT_EQ(checkDestructivePath("/var/lib/app/../.."), "must not contain '.' or '..' components");
  EXPECT_EQ(checkDestructivePath("/var//lib"), "must not contain '//'");
  EXPECT_EQ(checkDestructivePath("/var/lib/app"), std::nullopt);
  EXPECT_EQ(checkDestructiveGlob("/run/app/*.tmp"), std::nullopt);
  EXPECT_EQ(checkDestructiveGlob("/var/lib/*"), "refusing the system directory /var/lib");
  EXPECT_EQ(checkDestructiveGlob("/*"), "refusing '/'");
}

TEST(UnitNames, AcceptFullNamesOnly) {
  EXPECT_TRUE(isValidUnitName("nginx.service"));
  EXPECT_TRUE(isValidUnitName("getty@tty1.service"));
  EXPECT_TRUE(isValidUnitName("var-lib.mount"));
  EXPECT_FALSE(isValidUnitName("nginx"));
  EXPECT_FALSE(isValidUnitName("nginx.exe"));
  EXPECT_FALSE(isValidUnitName(".service"));
  EXPECT_FALSE(isValidUnitName("a b.service"));
  EXPECT_FALSE(isValidUnitName("../x.service"));
}

}  // namespace

namespace {

// Loads `yaml` as a fresh medic.yaml: its errors, each starting "medic.yaml:line:col".
std::vector<std::string> errorsOfText(const std::string& yaml) {
  medic::test::TempDir dir;
  std::string file = dir.write("medic.yaml", yaml);
  auto result = loadConfig(file);
  std::vector<std::string> errors;
  for (const auto& e : result.errors.all()) errors.push_back(e.str().substr(file.size() - std::string("medic.yaml").size()));
  EXPECT_FALSE(result.config) << "the config was accepted";
  return errors;
}

}  // namespace

TEST(ConfigLoad, HttpHeaderAndBodyNotMatchErrorsNameTheirPlace) {
  auto errors = errorsOfText(
      "services:\n"
      "  web:\n"
      "    unit: web.service\n"
      "    checks:\n"
      "      - name: h\n"
      "        type: http\n"
      "        url: http://127.0.0.1/\n"
      "        expect_headers: {\"Bad Name\": x, X-Ok: '('}\n"
      "        body_not_match: '[a-'\n"
      // A request header's value with a line break would end it and start one of its own.
      "        headers: {X-A: \"1\\r\\nX-Injected: 2\", \"X B\": c}\n");
  EXPECT_THAT(errors, testing::UnorderedElementsAre(
                          testing::StartsWith("medic.yaml:9:25: service 'web': check 'h': invalid regex '[a-': "),
                          "medic.yaml:8:25: service 'web': check 'h': invalid header name 'Bad Name'",
                          testing::StartsWith("medic.yaml:8:25: service 'web': check 'h': invalid regex '(': "),
                          "medic.yaml:10:18: service 'web': check 'h': the value of header 'X-A' has a line break or NUL byte",
                          "medic.yaml:10:18: service 'web': check 'h': invalid header name 'X B'"));
}

TEST(ConfigLoad, FileCheckErrorsNameTheirPlace) {
  auto errors = errorsOfText(
      "services:\n"
      "  web:\n"
      "    unit: web.service\n"
      "    checks:\n"
      "      - {name: a, type: file, path: /srv/x, mode: '0999', min_size: 10Q, owner: no-such-user-x}\n"
      "      - {name: b, type: file, path: /srv/y, present: false, max_age: 1h}\n");
  EXPECT_THAT(errors, testing::UnorderedElementsAre(
                          "medic.yaml:5:51: service 'web': check 'a': 'mode' must be octal permission bits like 0640; got '0999'",
                          "medic.yaml:5:69: service 'web': check 'a': 'min_size' must be a size like 512, 10K, 5M or 1G, got '10Q'",
                          "medic.yaml:5:81: service 'web': check 'a': unknown user 'no-such-user-x'",
                          "medic.yaml:6:54: service 'web': check 'b': with 'present: false' only 'path' applies: nothing else "
                          "can be checked of what must not exist"));
}

TEST(ConfigLoad, TcpTlsKeysNeedTls) {
  auto errors = errorsOfText(
      "services:\n"
      "  web:\n"
      "    unit: web.service\n"
      "    checks:\n"
      "      - {name: a, type: tcp, host: 127.0.0.1, port: 6379, ca_file: /etc/ssl/ca.pem}\n"
      "      - {name: b, type: tcp, host: 127.0.0.1, port: 6380, tls: true, client_cert: /etc/c.pem, ca_file: ca.pem}\n");
  EXPECT_THAT(errors, testing::UnorderedElementsAre(
                          "medic.yaml:5:68: service 'web': check 'a': 'ca_file' needs 'tls: true'",
                          "medic.yaml:6:9: service 'web': check 'b': 'client_cert' and 'client_key' go together",
                          "medic.yaml:6:104: service 'web': check 'b': 'ca_file' must be an absolute path"));
}

TEST(ConfigLoad, TheHostSectionIsReadLikeAServiceWithoutAUnitOrARecovery) {
  TempDir dir;
  auto result = config::loadConfig(dir.write("medic.yaml",
                                             "host:\n"
                                             "  failure_threshold: 2\n"
                                             "  checks:\n"
                                             "    - {name: root-disk, type: disk, path: /, used_warn: 85, used_crit: 95}\n"
                                             "services:\n"
                                             "  web:\n"
                                             "    unit: web.service\n"
                                             "    recovery:\n"
                                             "      conditions: {checks_healthy: [root-disk]}\n"));
  ASSERT_TRUE(result.config) << result.errors.str();
  const config::ServiceSpec* host = result.config->host();
  ASSERT_TRUE(host);
  EXPECT_EQ(host->name, "host");
  EXPECT_TRUE(host->isHost());
  EXPECT_FALSE(host->recovery.enabled);
  EXPECT_EQ(host->failureThreshold, 2);
  EXPECT_EQ(host->checks.at(0).name, "root-disk");
  EXPECT_EQ(&result.config->services.front(), host) << "listed first";
  EXPECT_THAT(result.config->findService("web")->recovery.conditions.checksHealthy, testing::ElementsAre("root-disk"));
}

TEST(ConfigLoad, HostSectionErrorsNameTheirPlace) {
  auto errors = errorsOfText(
      "host:\n"
      "  unit: x.service\n"
      "  recovery: {ladder: []}\n"
      "  checks:\n"
      "    - {name: root-disk, type: disk, path: /}\n"
      "services:\n"
      "  host:\n"
      "    unit: h.service\n"
      "  web:\n"
      "    unit: web.service\n"
      "    recovery:\n"
      "      conditions: {checks_healthy: [root-dsk]}\n"
      "      ladder:\n"
      "        - {step: restart, conditions: {checks_healthy: [memory]}}\n");
  EXPECT_THAT(errors, testing::UnorderedElementsAre(
                          "medic.yaml:2:9: host: the host has no 'unit': its checks alert for the machine, and a service's "
                          "recovery may wait for them (conditions: {checks_healthy: [...]})",
                          "medic.yaml:3:13: host: the host has no 'recovery': its checks alert for the machine, and a service's "
                          "recovery may wait for them (conditions: {checks_healthy: [...]})",
                          "medic.yaml:7:3: the service name 'host' is taken by the top-level 'host:' section (the machine's own checks)",
                          "medic.yaml:12:36: service 'web': checks_healthy: unknown host check 'root-dsk' (did you mean 'root-disk'?)",
                          "medic.yaml:14:56: service 'web': checks_healthy: unknown host check 'memory'; known: root-disk"));
}

TEST(ConfigLoad, ChecksHealthyNeedsAHostSection) {
  auto errors = errorsOfText(
      "services:\n"
      "  web:\n"
      "    unit: web.service\n"
      "    recovery:\n"
      "      conditions: {checks_healthy: [root-disk]}\n");
  EXPECT_THAT(errors, testing::ElementsAre("medic.yaml:5:36: service 'web': checks_healthy: names host checks, but there is no "
                                           "top-level 'host:' section ('root-disk')"));
}

TEST(ConfigLoad, TwoServicesNamingOneUnitAreRefused) {
  auto errors = errorsOfText(
      "services:\n"
      "  web: {unit: web.service}\n"
      "  web-api: {unit: web.service}\n");
  EXPECT_THAT(errors, testing::ElementsAre("medic.yaml:3:3: service 'web-api': unit 'web.service' is already service 'web''s "
                                           "(line 2); one service per unit: put both services' checks in one"));
}

TEST(ConfigLoad, ASecondFailoverStepInALadderIsRefused) {
  auto errors = errorsOfText(
      "services:\n"
      "  web:\n"
      "    unit: web.service\n"
      "    recovery:\n"
      "      ladder:\n"
      "        - {step: failover, backup_unit: web2.service}\n"
      "        - {step: failover, backup_unit: web3.service}\n");
  EXPECT_THAT(errors, testing::ElementsAre("medic.yaml:7:11: service 'web': its ladder has a second failover step (the first "
                                           "is at line 6); a service fails over to one backup unit and back from it, "
                                           "so a ladder may hold one failover step"));
}

TEST(ConfigLoad, CertificateThresholdsApplyToHttpsOnly) {
  auto errors = errorsOfText(
      "services:\n"
      "  web:\n"
      "    unit: web.service\n"
      "    checks:\n"
      "      - {name: a, type: http, url: 'http://127.0.0.1/', cert_warn_days: 30}\n"
      "      - {name: b, type: http, url: 'https://127.0.0.1/', cert_warn_days: 5, cert_crit_days: 10}\n");
  EXPECT_THAT(errors, testing::UnorderedElementsAre(
                          "medic.yaml:5:9: service 'web': check 'a': 'cert_warn_days' and 'cert_crit_days' apply to https:// URLs",
                          "medic.yaml:6:93: service 'web': check 'b': 'cert_crit_days' (10) cannot exceed 'cert_warn_days' (5)"));
}


namespace {

TEST(ConfigLoad, HttpErrorsNameTheFileLineAndColumnOrTheUsersFilesLine) {
  medic::test::TempDir dir;
  std::string users = dir.write("users", "prom:$2y$10$abcdefghijklmnopqrstuuQ8t3KxXr6mDkF2nHh2nq1cYl6yQnF8xO\nops:plaintext\n");
  auto r = medic::config::loadConfig(dir.write("medic.yaml", "http:\n  listen: localhost:99999\n  tls: {cert_file: " +
                                                               dir.file("none.pem") + "}\n  users_file: " + users + "\n"));
  ASSERT_FALSE(r.config);
  std::string all = r.errors.str();
  EXPECT_NE(all.find("medic.yaml:2:11: http: 'listen' must be an IP address and a port, such as 127.0.0.1:9968 or [::1]:9968; got 'localhost:99999'"),
            std::string::npos) << all;
  EXPECT_NE(all.find("medic.yaml:3:20: http: tls: cannot read '" + dir.file("none.pem") + "': No such file or directory"), std::string::npos) << all;
  EXPECT_NE(all.find("http: tls: 'tls' needs 'key_file'"), std::string::npos) << all;
  EXPECT_NE(all.find(users + ":2:1: expected 'name:hash' with a bcrypt"), std::string::npos) << all;
  auto ok = medic::config::loadConfig(dir.write("ok.yaml", "http: {listen: \"[::1]:9100\"}\n"));
  ASSERT_TRUE(ok.config) << ok.errors.str();
  EXPECT_TRUE(ok.config->http.enabled);
  EXPECT_EQ(ok.config->http.address, "::1");
  EXPECT_EQ(ok.config->http.port, 9100);
}

}  // namespace

TEST(ConfigLoad, LaddersChosenByCauseAreReadAndTheirWhenMustNameSomethingReal) {
  medic::test::TempDir dir;
  std::string file = dir.write("medic.yaml",
                               "services:\n"
                               "  web:\n"
                               "    unit: web.service\n"
                               "    checks:\n"
                               "      - {name: config, type: exec, command: [/bin/true]}\n"
                               "      - name: health\n"
                               "        type: tcp\n"
                               "        host: 127.0.0.1\n"
                               "        port: 80\n"
                               "        rules: [{name: slow, value: connect, above: 1s, then: unhealthy}]\n"
                               "    recovery:\n"
                               "      ladders:\n"
                               "        - when: config\n"
                               "          ladder: [{step: restart}]\n"
                               "        - when: [oom-kill, slow]\n"
                               "          ladder: [{step: restart, attempts: 2}, {step: reload}]\n");
  auto result = loadConfig(file);
  ASSERT_TRUE(result.config) << result.errors.str();
  const auto& recovery = result.config->services[0].recovery;
  ASSERT_EQ(recovery.ladders.size(), 2u);
  EXPECT_EQ(recovery.ladders[0].when, std::vector<std::string>{"config"});
  EXPECT_EQ(recovery.ladders[1].steps.size(), 2u);
  EXPECT_EQ(recovery.ladder.size(), 2u) << "the default ladder stays restart, reload";
  EXPECT_EQ(recovery.chosen(strategies::Cause::ofRule("slow", "health", "")), 1);
  EXPECT_EQ(recovery.chosen(strategies::Cause::ofCheck("health", "")), config::RecoverySpec::kDefaultLadder);
  EXPECT_TRUE(result.config->warnings.empty());

  auto errors = errorsOfText(
      "services:\n"
      "  web:\n"
      "    unit: web.service\n"
      "    checks: [{name: config, type: exec, command: [/bin/true]}]\n"
      "    recovery:\n"
      "      ladders:\n"
      "        - when: [confg, oom]\n"
      "          ladder: []\n");
  EXPECT_THAT(errors, testing::ElementsAre(
                          "medic.yaml:7:17: service 'web': recovery: ladders entry 1: unknown cause, check or rule 'confg' "
                          "(did you mean 'config'?)",
                          testing::StartsWith("medic.yaml:7:17: service 'web': recovery: ladders entry 1: unknown cause, check "
                                              "or rule 'oom'; known: check, rule, exit-code, signal, core-dump, oom-kill,"),
                          "medic.yaml:8:19: service 'web': recovery: ladders entry 1: 'ladder' is empty"));
}

TEST(ConfigLoad, ALadderNoCauseCanReachIsWarnedOf) {
  medic::test::TempDir dir;
  std::string file = dir.write("medic.yaml",
                               "services:\n"
                               "  web:\n"
                               "    unit: web.service\n"
                               "    recovery:\n"
                               "      ladders:\n"
                               "        - {when: crash, ladder: [{step: restart}]}\n"
                               "        - {when: signal, ladder: [{step: reload}]}\n");
  auto result = loadConfig(file);
  ASSERT_TRUE(result.config) << result.errors.str();
  EXPECT_THAT(result.config->warnings,
              testing::ElementsAre(file + ":7:11: service 'web': ladder 2 (when: signal) can never be chosen: every cause "
                                          "it names is taken by a ladder before it, or names a check that is not critical"));
}
