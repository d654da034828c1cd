#include "config/loader.h"

#include <arpa/inet.h>

#include <glob.h>
#include <pwd.h>
#include <unistd.h>

#include <filesystem>
#include <algorithm>
#include <functional>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>
#include <thread>

#include "checks/registry.h"
#include "checks/rules.h"
#include "strategies/registry.h"
#include "runtime/map_reader.h"
#include "runtime/names.h"
#include "runtime/path_rules.h"
#include "runtime/tcp_client.h"

namespace medic::config {

namespace {

// "unknown step 'restrat' (did you mean 'restart'?)", else the known names, from the registry.
std::string unknownName(const std::string& what, const std::string& name, const std::vector<std::string>& known) {
  std::string message = "unknown " + what + " " + quoteValue(name);
  if (auto guess = closest(name, known)) return message + " (did you mean '" + *guess + "'?)";
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  return message + "; known: " + list;
}

std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error"};

// The document parsed on a thread of its own, so that its nodes are allocated in a malloc
// arena of their own: when the document is dropped after loading, its pages go back whole.
// Parsed here, the settings read from it land among its nodes and keep a page in every few
// from being returned: a 10,000-check file left 48 MB resident for 15 MB of live data.
// YAML's exceptions come out here, as if parsed here. No thread to be had (a task limit
// reached): parsed here, the memory is only slower to go back.
YAML::Node parseApart(const std::string& text) {
  YAML::Node doc;
  std::exception_ptr failed;
  try {
    std::thread([&] {
      try {
        doc = YAML::Load(text);
      } catch (...) {
        failed = std::current_exception();
      }
    }).join();
  } catch (const std::system_error&) {
    return YAML::Load(text);
  }
  if (failed) std::rethrow_exception(failed);
  return doc;
}

// A loaded YAML document, or an error already reported.
std::optional<YAML::Node> parseFile(const std::string& file, ErrorList& errors) {
  std::error_code ec;
  if (std::filesystem::exists(file, ec) && !std::filesystem::is_regular_file(file, ec)) {
    errors.add({file, 0, 0}, "cannot read file: not a regular file");
    return std::nullopt;
  }
  std::ifstream in(file);
  if (!in) {
    errors.add({file, 0, 0}, std::string("cannot read file: ") + std::strerror(errno));
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  try {
    return parseApart(text.str());
  } catch (const YAML::ParserException& e) {
    errors.add({file, e.mark.line + 1, e.mark.column + 1}, "YAML syntax error: " + e.msg);
  } catch (const YAML::Exception& e) {
    errors.add({file, 0, 0}, std::string("YAML error: ") + e.what());
  }
  return std::nullopt;
}

bool isIpAddress(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

class Loader {
 public:
  Loader(ErrorList& errors, const UnitNeedsReader& readNeeds) : errors_(errors), readNeeds_(readNeeds) {}

  std::optional<Config> load(const std::string& mainFile) {
    config_.files.push_back(mainFile);
    auto doc = parseFile(mainFile, errors_);
    if (!doc) return std::nullopt;
    MapReader root(*doc, "", mainFile, errors_);
    readAgent(root);
    readHttp(root);
    readAlerts(root);
    readHost(root);
    readServices(root);
    root.finish();
    for (const auto& file : includedFiles(mainFile, root)) {
      config_.files.push_back(file);
      auto included = parseFile(file, errors_);
      if (!included) continue;
      MapReader top(*included, "", file, errors_);
      readServices(top);
      top.finish({"agent", "include", "alerts", "host", "http"});
      for (const char* mainOnly : {"agent", "include", "alerts", "host", "http"})
        if (top.has(mainOnly))
          errors_.add(top.positionOf(mainOnly), std::string("'") + mainOnly + "' is only allowed in the main config file");
    }
    checkSinkRouting();
    checkHostChecksNamed();
    checkUnitsWatchedOnce();
    checkOneFailoverPerLadder();
    checkDependencies();
    if (!errors_.empty()) return std::nullopt;
    return std::move(config_);
  }

 private:
  void readAgent(MapReader& root) {
    MapReader r(root.node("agent"), "agent", root.file(), errors_);
    AgentSpec& a = config_.agent;
    if (r.read("state_dir", a.stateDir))
      if (auto e = checkAbsolutePath(a.stateDir)) r.error("state_dir", "'state_dir' " + *e);
    if (r.read("log_level", a.logLevel) && std::find(std::begin(kLogLevels), std::end(kLogLevels), a.logLevel) == std::end(kLogLevels))
      r.error("log_level", "'log_level' must be one of trace, debug, info, warn, error; got " + quoteValue(a.logLevel));
    if (r.read("timer_slack", a.timerSlack) && a.timerSlack > 1s)
      r.error("timer_slack", "'timer_slack' must be at most 1s");
    r.read("max_concurrent_recoveries", a.maxConcurrentRecoveries, 1, 1000);
    r.finish();
    root.read("include", a.include);
  }

  // http: {listen: "127.0.0.1:9968", enabled: true}
  void readHttp(MapReader& root) {
    if (!root.has("http")) return;
    MapReader r(root.node("http"), "http", root.file(), errors_);
    WebSpec& h = config_.http;
    h.enabled = true;
    r.read("enabled", h.enabled);
    std::string listen;
    if (r.read("listen", listen)) {
      // "127.0.0.1:9968", "[::1]:9968"
      size_t colon = listen.rfind(':');
      std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
      host = unbracketed(std::move(host));
      int port = -1;
      if (colon != std::string::npos && colon + 1 < listen.size() && listen.size() - colon <= 6 &&
          listen.find_first_not_of("0123456789", colon + 1) == std::string::npos)
        port = std::stoi(listen.substr(colon + 1));
      if (host.empty() || port < 0 || port > 65535 || !isIpAddress(host))
        r.error("listen", "'listen' must be an IP address and a port, such as 127.0.0.1:9968 or [::1]:9968; got " +
                              quoteValue(listen));
      else
        h.address = host, h.port = uint16_t(port);
    }
    if (r.has("tls")) {
      MapReader tls(r.node("tls"), "http: tls", root.file(), errors_);
      auto pemFile = [&](const char* key, std::string& path) {
        if (!tls.read(key, path)) return tls.error(std::string("'tls' needs '") + key + "'");
        if (auto e = checkAbsolutePath(path)) return tls.error(key, std::string("'") + key + "' " + *e);
        if (access(path.c_str(), R_OK) != 0) tls.error(key, "cannot read " + quoteValue(path) + ": " + std::strerror(errno));
      };
      pemFile("cert_file", h.certFile);
      pemFile("key_file", h.keyFile);
      tls.finish();
    }
    if (r.read("users_file", h.usersFile)) {
      if (auto e = checkAbsolutePath(h.usersFile)) r.error("users_file", "'users_file' " + *e);
      else readUsers(r, h);
    }
    r.finish();
  }

  // users_file: one "name:hash" per line; blank lines and '#' comments are skipped. Errors
  // name the users file's own line.
  void readUsers(MapReader& r, WebSpec& h) {
    std::ifstream in(h.usersFile);
    if (!in) return r.error("users_file", "cannot read " + quoteValue(h.usersFile) + ": " + std::strerror(errno));
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (line.empty() || line[0] == '#') continue;
      size_t colon = line.find(':');
      std::string name = line.substr(0, colon), hash = colon == std::string::npos ? "" : line.substr(colon + 1);
      bool known = hash.rfind("$2y$", 0) == 0 || hash.rfind("$2b$", 0) == 0 || hash.rfind("$2a$", 0) == 0 ||
                   hash.rfind("$5$", 0) == 0 || hash.rfind("$6$", 0) == 0;
      if (name.empty() || !known) {
        errors_.add(Position{h.usersFile, n, 1}, "expected 'name:hash' with a bcrypt ($2y$, from htpasswd -B) or SHA-crypt ($5$, $6$) hash");
        continue;
      }
      if (!h.users.emplace(name, hash).second) errors_.add(Position{h.usersFile, n, 1}, "user " + quoteValue(name) + " appears twice");
    }
    if (h.users.empty()) r.error("users_file", quoteValue(h.usersFile) + " names no user: nobody could read medic's endpoints");
  }

  // alerts: {max_age, sinks: {name: {type, ...}}}
  void readAlerts(MapReader& root) {
    if (!root.has("alerts")) return;
    MapReader r(root.node("alerts"), "alerts", root.file(), errors_);
    r.read("max_age", config_.alerts.maxAge, 1s);
    r.read("max_queued", config_.alerts.maxQueued, 1, 1000000);
    r.read("journal_lines", config_.alerts.journalLines, 0, 200);
    YAML::Node sinks = r.node("sinks");
    r.finish();
    forEachNamed(r, "sinks", sinks, "sink", [&](const std::string& name, Position where, const YAML::Node& node) {
      readSink(name, where, node, root.file());
    });
  }

  static std::optional<checks::Severity> severityFrom(const std::string& s) {
    if (s == "info") return checks::Severity::info;
    if (s == "warning") return checks::Severity::warning;
    if (s == "critical") return checks::Severity::critical;
    return std::nullopt;
  }

  static void readSeverity(MapReader& r, std::optional<checks::Severity>& out) {
    std::string text;
    if (!r.read("severity", text)) return;
    if (auto sv = severityFrom(text)) out = *sv;
    else r.error("severity", "'severity' must be info, warning or critical; got " + quoteValue(text));
  }

  void requireUrl(MapReader& r, const std::string& key, const std::string& url, std::initializer_list<const char*> schemes) {
    for (const char* scheme : schemes)
      if (url.rfind(std::string(scheme) + "://", 0) == 0 && url.size() > std::string(scheme).size() + 3) return;
    std::string list;
    for (const char* scheme : schemes) list += (list.empty() ? "" : " or ") + std::string(scheme) + "://";
    r.error(key, "'" + key + "' must be a " + list + " URL; got " + quoteValue(url));
  }

  // A secret lives in its own file (mode 0600, say) so that it is never in medic.yaml,
  // the journal or the outbox; it must be readable now.
  void requireReadableFile(MapReader& r, const std::string& key, const std::string& path) {
    if (auto e = checkAbsolutePath(path)) return r.error(key, "'" + key + "' " + *e);
    if (access(path.c_str(), R_OK) != 0) r.error(key, "cannot read " + quoteValue(path) + ": " + std::strerror(errno));
  }

  void readSink(const std::string& name, Position where, const YAML::Node& node, const std::string& file) {
    MapReader r(node, "sink '" + name + "'", file, errors_);
    if (!r.valid()) return;
    SinkSpec k;
    k.name = name;
    k.where = where;
    std::string severity;
    if (r.read("min_severity", severity)) {
      if (auto sv = severityFrom(severity)) k.minSeverity = *sv;
      else r.error("min_severity", "'min_severity' must be info, warning or critical; got " + quoteValue(severity));
    }
    r.read("services", k.services);
    if (r.has("rate_limit")) {
      MapReader rl(r.node("rate_limit"), r.what() + ": rate_limit", file, errors_);
      rl.read("max", k.rateMax, 0, 10000);
      rl.read("per", k.ratePer, 1s);
      rl.finish();
    }
    r.read("repeat_interval", k.repeatInterval);
    if (k.repeatInterval && *k.repeatInterval < 1min) r.error("repeat_interval", "'repeat_interval' must be at least 1m");
    r.read("timeout", k.timeout, 100ms);
    r.read("every_failure", k.everyFailure);
    r.read("inhibit_dependents", k.inhibitDependents);
    if (r.read("ca_file", k.caFile)) requireReadableFile(r, "ca_file", k.caFile);
    if (!r.require("type") || !r.read("type", k.type)) return r.finish();
    if (k.type == "webhook") {
      if (r.require("url") && r.read("url", k.url)) requireUrl(r, "url", k.url, {"http", "https"});
      if (r.read("format", k.format) && k.format != "json" && k.format != "slack")
        r.error("format", "'format' must be json or slack; got " + quoteValue(k.format));
      r.read("headers", k.headers);
      if (r.read("header_files", k.headerFiles))
        for (const auto& [header, path] : k.headerFiles) requireReadableFile(r, "header_files", path);
    } else if (k.type == "email") {
      if (r.require("url") && r.read("url", k.url)) requireUrl(r, "url", k.url, {"smtp", "smtps"});
      if (r.read("starttls", k.starttls) && k.starttls != "required" && k.starttls != "off")
        r.error("starttls", "'starttls' must be required or off; got " + quoteValue(k.starttls));
      if (r.require("from") && r.read("from", k.from) && k.from.find('@') == std::string::npos)
        r.error("from", "'from' must be an e-mail address; got " + quoteValue(k.from));
      if (r.require("to") && r.read("to", k.to)) {
        if (k.to.empty()) r.error("to", "'to' needs at least one address");
        for (const auto& a : k.to)
          if (a.find('@') == std::string::npos || a.find_first_of("<>\r\n") != std::string::npos)
            r.error("to", "'to' must hold e-mail addresses; got " + quoteValue(a));
      }
      r.read("username", k.username);
      if (r.read("password_file", k.passwordFile)) requireReadableFile(r, "password_file", k.passwordFile);
      if (!k.passwordFile.empty() && k.username.empty()) r.error("password_file", "'password_file' needs 'username'");
    } else if (k.type == "alertmanager") {
      k.rateMax = 0;  // Alertmanager groups and throttles itself; medic sends it every change
      if (r.require("urls") && r.read("urls", k.urls)) {
        if (k.urls.empty()) r.error("urls", "'urls' needs at least one Alertmanager");
        for (const auto& u : k.urls) requireUrl(r, "urls", u, {"http", "https"});
      }
      r.read("resend_interval", k.resendInterval, 10s);
    } else {
      r.error("type", "unknown sink type " + quoteValue(k.type) + ": expected webhook, email or alertmanager");
    }
    r.finish();
    if (r.valid()) config_.alerts.sinks.push_back(std::move(k));
  }

  // Routing names services, which may be defined in any included file.
  void checkSinkRouting() {
    for (const auto& k : config_.alerts.sinks)
      for (const auto& s : k.services)
        if (!serviceAt_.count(s))
          errors_.add(k.where, "sink '" + k.name + "': 'services' names " + quoteValue(s) + ", which is not a configured service");
  }

  std::vector<std::string> includedFiles(const std::string& mainFile, MapReader& root) {
    std::filesystem::path base = std::filesystem::path(mainFile).parent_path();
    std::vector<std::string> files;
    for (const auto& pattern : config_.agent.include) {
      std::string full = pattern.starts_with('/') ? pattern : (base / pattern).string();
      glob_t g{};
      // A directory that does not exist matches nothing (fine); one we may not read is an error.
      static thread_local bool unreadable;
      unreadable = false;
      int rc = ::glob(full.c_str(), 0, [](const char*, int err) {
        if (err != ENOENT && err != ENOTDIR) unreadable = true;
        return 0;
      }, &g);
      if (unreadable) rc = GLOB_ABORTED;
      if (rc == 0) {
        for (size_t i = 0; i < g.gl_pathc; ++i) files.emplace_back(g.gl_pathv[i]);  // glob sorts
      } else if (rc != GLOB_NOMATCH) {
        // An include that matches nothing is fine (an empty checks.d); one we cannot read is not.
        root.error("include", "cannot read include " + quoteValue(full));
      }
      globfree(&g);
    }
    return files;
  }

  // A mapping of names to settings (services:, sinks:): each name checked, then `read`.
  template <typename Read>
  void forEachNamed(MapReader& parent, const std::string& key, const YAML::Node& map, const std::string& what, Read read) {
    if (!map.IsDefined() || map.IsNull()) return;
    if (!map.IsMap()) return parent.error(key, "'" + key + "' must map " + what + " names to their settings");
    for (auto it = map.begin(); it != map.end(); ++it) {
      Position where = positionOf(it->first, parent.file());
      std::string name = it->first.IsScalar() ? it->first.Scalar() : "";
      if (!isValidName(name)) {
        errors_.add(where, "invalid " + what + " name " + quoteValue(name) + ": use letters, digits, '.', '_', '-', '@' (at most 64)");
        continue;
      }
      read(name, where, it->second);
    }
  }

  // The machine's own checks: read like a service's, without a unit or a recovery.
  void readHost(MapReader& root) {
    if (!root.has("host")) return;
    MapReader r(root.node("host"), "host", root.file(), errors_);
    if (!r.valid()) return;
    ServiceSpec s;
    s.name = kHostName;
    s.where = r.position();
    s.recovery.enabled = false;
    serviceAt_.emplace(s.name, s.where);
    bool hasThreshold = r.read("failure_threshold", s.failureThreshold, 1, 100);
    readSeverity(r, s.severity);
    r.read("success_threshold", s.successThreshold, 1, 100);
    readWindow(r, s, hasThreshold);
    readChecks(r, s);
    for (const char* key : {"unit", "recovery"})
      if (r.has(key))
        r.error(key, std::string("the host has no '") + key + "': its checks alert for the machine, and a service's recovery "
                     "may wait for them (conditions: {checks_healthy: [...]})");
    r.finish({"unit", "recovery"});
    if (r.valid()) config_.services.push_back(std::move(s));
  }

  // Every `checks_healthy` entry names a check of the host section.
  void checkHostChecksNamed() {
    const ServiceSpec* host = config_.host();
    std::vector<std::string> known;
    if (host)
      for (const auto& c : host->checks) known.push_back(c.name);
    for (const auto& s : config_.services) {
      auto check = [&](const ConditionsSpec& c) {
        for (const auto& name : c.checksHealthy)
          if (std::find(known.begin(), known.end(), name) == known.end())
            errors_.add(c.checksHealthyAt, "service '" + s.name + "': checks_healthy: " +
                                               (host ? unknownName("host check", name, known)
                                                     : "names host checks, but there is no top-level 'host:' section (" +
                                                           quoteValue(name) + ")"));
      };
      check(s.recovery.conditions);
      for (const auto* step : s.recovery.allSteps())
        if (step->conditions) check(*step->conditions);
    }
  }

  void readServices(MapReader& top) {
    forEachNamed(top, "services", top.node("services"), "service", [&](const std::string& name, Position where, const YAML::Node& node) {
      if (name == kHostName) {
        errors_.add(where, std::string("the service name '") + kHostName + "' is taken by the top-level 'host:' section (the machine's own checks)");
        return;
      }
      auto [first, inserted] = serviceAt_.emplace(name, where);
      if (!inserted) {
        errors_.add(where, "duplicate service '" + name + "' (first defined at " + first->second.str() + ")");
        return;
      }
      readService(name, where, node, top.file());
    });
  }

  void readService(const std::string& name, Position where, const YAML::Node& node, const std::string& file) {
    MapReader r(node, "service '" + name + "'", file, errors_);
    ServiceSpec s;
    s.name = name;
    s.where = where;
    if (r.require("unit") && r.read("unit", s.unit) && !isValidUnitName(s.unit))
      r.error("unit", "invalid unit name " + quoteValue(s.unit) + ": expected a full unit name such as 'nginx.service'");
    bool hasThreshold = r.read("failure_threshold", s.failureThreshold, 1, 100);
    readSeverity(r, s.severity);
    r.read("success_threshold", s.successThreshold, 1, 100);
    readWindow(r, s, hasThreshold);
    readChecks(r, s);
    readRecovery(r, s);
    readDependsOn(r, s);
    r.finish();
    if (r.valid()) config_.services.push_back(std::move(s));
  }

  // Where `p` is, said from `from`: "line 6" in the same file, else file:line:col.
  static std::string seenAt(const Position& p, const Position& from) {
    return p.file == from.file ? "line " + std::to_string(p.line) : p.str();
  }

  // One service per unit: systemd's news of a unit goes to the service watching it, and a
  // second one would never hear of it (nor could two recover one unit in step).
  void checkUnitsWatchedOnce() {
    std::map<std::string, const ServiceSpec*> byUnit;
    for (const auto& s : config_.services) {
      if (s.isHost()) continue;
      auto [it, first] = byUnit.emplace(s.unit, &s);
      if (!first)
        errors_.add(s.where, "service '" + s.name + "': unit " + quoteValue(s.unit) + " is already service '" + it->second->name +
                                 "''s (" + seenAt(it->second->where, s.where) + "); one service per unit: put both services' checks in one");
    }
  }

  // A service fails over to one backup unit and back: a second failover step in a ladder
  // would switch away from a backup medic then no longer knows how to fail back from.
  void checkOneFailoverPerLadder() {
    for (const auto& s : config_.services) {
      auto check = [&](const std::vector<StepSpec>& ladder, const std::string& which) {
        const StepSpec* first = nullptr;
        for (const auto& step : ladder) {
          if (!step.step || !step.step->unitSwitch()) continue;
          if (!first) first = &step;
          else
            errors_.add(step.where, "service '" + s.name + "': " + which + " has a second failover step (the first is at " +
                                        seenAt(first->where, step.where) + "); a service fails over to one backup unit and back from it, "
                                        "so a ladder may hold one failover step");
        }
      };
      check(s.recovery.ladder, "its ladder");
      for (size_t i = 0; i < s.recovery.ladders.size(); ++i) check(s.recovery.ladders[i].steps, s.recovery.ladderName(int(i)));
    }
  }

  // `depends_on: [db, queue]`: names only here; what they name is checked once every file is
  // read. `systemd` (alone, or in the list) asks systemd for the rest (addUnitNeeds).
  void readDependsOn(MapReader& service, ServiceSpec& s) {
    YAML::Node list = service.node("depends_on");
    if (list.IsDefined() && !list.IsNull()) {
      if (list.IsScalar() && list.Scalar() == kFromSystemd) {
        s.dependsOnSystemd = service.positionOf("depends_on");
      } else if (!list.IsSequence()) {
        service.error("depends_on", "'depends_on' must be a list of service names (or host check names), or 'systemd'");
      } else {
        for (const auto& entry : list) readDependency(service, s, entry);
      }
    }
    std::string restart;
    if (service.read("on_dependency_restart", restart)) {
      if (restart != "restart" && restart != "none")
        service.error("on_dependency_restart", "'on_dependency_restart' must be 'restart' or 'none'; got " + quoteValue(restart));
      else if (restart == "restart" && s.dependsOn.empty() && !s.dependsOnSystemd)
        service.error("on_dependency_restart", "'on_dependency_restart: restart' needs 'depends_on' (it restarts " + s.name +
                                                   " after medic restarted what it depends on)");
      else if (restart == "restart" && !s.recovery.enabled)
        service.error("on_dependency_restart", "'on_dependency_restart: restart' is a recovery step, and " + s.name +
                                                   "'s recovery is disabled");
      else if (restart == "restart")
        s.recovery.dependencyRestart = {dependencyRestartStep(s, service.positionOf("on_dependency_restart"))};
    }
  }

  void readDependency(MapReader& service, ServiceSpec& s, const YAML::Node& entry) {
    Position where = positionOf(entry, service.file());
    if (entry.IsScalar() && entry.Scalar() == kFromSystemd) {
      if (s.dependsOnSystemd) errors_.add(where, service.what() + ": depends_on names 'systemd' twice");
      s.dependsOnSystemd = where;
      return;
    }
    if (!entry.IsScalar() || !isValidName(entry.Scalar())) {
      errors_.add(where, service.what() + ": depends_on: expected a service name, got " +
                             (entry.IsScalar() ? quoteValue(entry.Scalar()) : std::string("a list or mapping")));
      return;
    }
    if (entry.Scalar() == s.name) {
      errors_.add(where, service.what() + ": depends_on names the service itself");
      return;
    }
    bool twice = std::any_of(s.dependsOn.begin(), s.dependsOn.end(), [&](const auto& d) { return d.name == entry.Scalar(); });
    if (twice) errors_.add(where, service.what() + ": depends_on names " + quoteValue(entry.Scalar()) + " twice");
    else s.dependsOn.push_back({entry.Scalar(), false, where, ""});
  }

  // The restart of on_dependency_restart: the default ladder's own restart step when it has
  // one (its timeout), else a restart as `{step: restart}` makes it.
  StepSpec dependencyRestartStep(const ServiceSpec& s, Position where) {
    for (const auto& step : s.recovery.ladder)
      if (step.kind == "restart") return StepSpec{step.kind, 1, step.timeout, step.step, std::nullopt, where};
    strategies::StepContext context{s.name, s.unit, config_.agent.stateDir};
    MapReader none(YAML::Node(YAML::NodeType::Map), s.name, where.file, errors_);
    return StepSpec{"restart", 1, 90s, strategies::findStepType("restart")->parse(none, context), std::nullopt, where};
  }

  // `depends_on: systemd`: the services whose units systemd says this one needs, added as
  // edges that remember where they came from (`medic plan` says so). Units no service of
  // medic's watches (sysinit.target, ...) are not medic's to wait for.
  void addUnitNeeds() {
    std::map<std::string, std::vector<std::string>> servicesOfUnit;
    for (const auto& s : config_.services)
      if (!s.isHost()) servicesOfUnit[s.unit].push_back(s.name);
    for (auto& s : config_.services) {
      if (!s.dependsOnSystemd) continue;
      if (!readNeeds_) {
        config_.warnings.push_back(s.dependsOnSystemd->str() + ": service '" + s.name + "': depends_on: systemd: not read (no systemd to ask)");
        continue;
      }
      UnitNeeds got = readNeeds_(s.unit);
      if (!got.error.empty()) {
        config_.warnings.push_back(s.dependsOnSystemd->str() + ": service '" + s.name + "': depends_on: systemd: cannot read what " + s.unit +
                            " needs (" + got.error + "); only the services named here are waited for");
        continue;
      }
      for (const auto& need : got.needs) {
        auto it = servicesOfUnit.find(need.unit);
        if (it == servicesOfUnit.end()) continue;
        for (const auto& name : it->second) {
          bool known = name == s.name || std::any_of(s.dependsOn.begin(), s.dependsOn.end(), [&](const auto& d) { return d.name == name; });
          if (!known) s.dependsOn.push_back({name, false, *s.dependsOnSystemd, need.property + "=" + need.unit});
        }
      }
    }
  }

  // Each `depends_on` entry names another service or a host check, and the services'
  // dependencies form no cycle (said as its path: app → worker → app).
  void checkDependencies() {
    addUnitNeeds();
    std::map<std::string, ServiceSpec*> byName;
    for (auto& s : config_.services)
      if (!s.isHost()) byName[s.name] = &s;
    std::vector<std::string> hostChecks;
    if (const ServiceSpec* host = config_.host())
      for (const auto& c : host->checks) hostChecks.push_back(c.name);
    for (auto& [name, s] : byName)
      for (auto& d : s->dependsOn) {
        if (byName.count(d.name)) continue;
        if (std::find(hostChecks.begin(), hostChecks.end(), d.name) != hostChecks.end()) {
          d.hostCheck = true;
          continue;
        }
        std::vector<std::string> known;
        for (const auto& [other, _] : byName)
          if (other != name) known.push_back(other);
        known.insert(known.end(), hostChecks.begin(), hostChecks.end());
        errors_.add(d.where, "service '" + name + "': depends_on: " + unknownName("service or host check", d.name, known));
      }
    // Depth first; a service met again while still on the path closes a cycle. The longest
    // chain below each service is kept too: a chain past kMaxDependencyChain is refused (a
    // dependency's news travels down it, one service at a time).
    enum class Mark { none, onPath, done };
    std::map<std::string, Mark> mark;
    std::map<std::string, std::pair<size_t, std::string>> longest;  // services in the longest chain from it, and the next one
    std::vector<std::string> path;
    bool tooLong = false;
    std::function<void(ServiceSpec&)> visit = [&](ServiceSpec& s) {
      mark[s.name] = Mark::onPath;
      path.push_back(s.name);
      auto& mine = longest[s.name] = {1, ""};
      if (path.size() > ServiceSpec::kMaxDependencyChain) {  // (said here, before the walk goes any deeper)
        if (!tooLong) {
          std::string chain;
          for (const auto& n : path) chain += (chain.empty() ? "" : " → ") + n;
          if (chain.size() > 400) chain = chain.substr(0, 400) + " → …";
          errors_.add(byName.at(path.front())->where, "service '" + path.front() + "': its depends_on chain is more than " +
                                                          std::to_string(ServiceSpec::kMaxDependencyChain) + " services long (" +
                                                          chain + "); at most " +
                                                          std::to_string(ServiceSpec::kMaxDependencyChain) + " are allowed");
        }
        tooLong = true;
        path.pop_back();
        mark[s.name] = Mark::done;
        return;
      }
      for (const auto& d : s.dependsOn) {
        auto next = byName.find(d.name);
        if (d.hostCheck || next == byName.end()) continue;
        if (mark[d.name] == Mark::onPath) {
          std::string cycle, fromUnits;
          for (auto it = std::find(path.begin(), path.end(), d.name); it != path.end(); ++it) {
            cycle += *it + " → ";
            const ServiceSpec& at = *byName.at(*it);
            const std::string& next = it + 1 == path.end() ? d.name : *(it + 1);
            for (const auto& edge : at.dependsOn)
              if (edge.name == next && !edge.fromUnit.empty())
                fromUnits += (fromUnits.empty() ? "" : ", ") + at.name + " → " + next + " from " + at.unit + "'s " + edge.fromUnit;
          }
          errors_.add(d.where, "service '" + s.name + "': depends_on makes a cycle: " + cycle + d.name +
                                   " (each would wait for the other to recover" +
                                   (fromUnits.empty() ? "" : "; systemd's: " + fromUnits) + ")");
          continue;
        }
        if (mark[d.name] == Mark::none && !tooLong) visit(*next->second);
        if (mark[d.name] == Mark::done && longest[d.name].first + 1 > mine.first) mine = {longest[d.name].first + 1, d.name};
      }
      if (mine.first > ServiceSpec::kMaxDependencyChain && !tooLong) {
        tooLong = true;
        std::string chain = s.name;
        for (std::string at = mine.second; !at.empty() && chain.size() < 400; at = longest[at].second) chain += " → " + at;
        errors_.add(s.where, "service '" + s.name + "': its depends_on chain is " + std::to_string(mine.first) +
                                 " services long (" + chain + (chain.size() >= 400 ? " → …" : "") + "); at most " +
                                 std::to_string(ServiceSpec::kMaxDependencyChain) + " are allowed");
      }
      path.pop_back();
      mark[s.name] = Mark::done;
    };
    for (auto& [name, s] : byName)
      if (mark[name] == Mark::none && !tooLong) visit(*s);
  }

  void readWindow(MapReader& service, ServiceSpec& s, bool hasThreshold) {
    if (!service.has("failure_window")) return;
    MapReader w(service.node("failure_window"), service.what() + ": failure_window", service.file(), errors_);
    FailureWindow window;
    bool hasFailures = w.require("failures");  // both required, each missing one reported
    bool hasOf = w.require("of");
    bool ok = hasFailures && hasOf;
    ok = ok && w.read("failures", window.failures, 1, 100) && w.read("of", window.of, 1, 100);
    if (ok && window.failures > window.of)
      w.error("failures", "'failures' (" + std::to_string(window.failures) + ") cannot exceed 'of' (" +
                              std::to_string(window.of) + ")");
    w.finish();
    if (hasThreshold)
      service.error("failure_window", "use either 'failure_threshold' or 'failure_window', not both");
    if (ok) s.window = window;
  }

  void readChecks(MapReader& service, ServiceSpec& s) {
    YAML::Node checks = service.node("checks");
    if (!checks.IsDefined() || checks.IsNull()) return;
    if (!checks.IsSequence()) {
      service.error("checks", "'checks' must be a list of checks");
      return;
    }
    s.checks.reserve(s.checks.size() + checks.size());
    std::map<std::string, Position> seen;
    int index = 0;
    for (const auto& node : checks) {
      ++index;
      Position where = positionOf(node, service.file());
      std::string label = node.IsMap() && node["name"] && node["name"].IsScalar() ? "'" + node["name"].Scalar() + "'"
                                                                                 : "#" + std::to_string(index);
      MapReader r(node, service.what() + ": check " + label, service.file(), errors_);
      if (!r.valid()) continue;
      checks::CheckSpec c;
      c.where = where;
      if (r.require("name") && r.read("name", c.name)) {
        if (!isValidName(c.name)) {
          r.error("name", "invalid check name " + quoteValue(c.name) + ": use letters, digits, '.', '_', '-', '@' (at most 64)");
        } else if (auto [first, inserted] = seen.emplace(c.name, r.positionOf("name")); !inserted) {
          r.error("name", "duplicate check '" + c.name + "' (first defined at " + first->second.str() + ")");
        }
      }
      readSchedule(r, c);
      r.read("critical", c.critical);
      r.read("unknown_is_failure", c.unknownIsFailure);
      readSeverity(r, c.severity);
      const checks::CheckType* type = nullptr;
      if (r.require("type") && r.read("type", c.type)) {
        type = checks::findCheckType(c.type);
        if (!type) {
          std::vector<std::string> known;
          for (const auto& t : checks::checkTypes()) known.emplace_back(t.name);
          r.error("type", unknownName("check type", c.type, known));
        }
      }
      if (type) {
        c.check = type->parse(r, checks::CheckContext{s.name, c.name, s.unit});
        if (c.check) c.rules = checks::parseRules(r, *c.check, c.interval);
        r.finish();
      }
      // Without a known type we cannot tell its keys apart from typos, so we say nothing more.
      if (c.check) s.checks.push_back(std::move(c));
    }
  }

  void readSchedule(MapReader& r, checks::CheckSpec& c) {
    r.read("interval", c.interval, 100ms);
    // `key`'s value must be under the interval; says so at `key` when it is not.
    auto shorterThanInterval = [&](const char* key, Duration value) {
      if (value < c.interval) return true;
      r.error(key, "'" + std::string(key) + "' (" + formatDuration(value) + ") must be shorter than 'interval' (" +
                       formatDuration(c.interval) + ")");
      return false;
    };
    // Default: 5s, or half the interval for checks that run more often than every 10s.
    if (!r.read("timeout", c.timeout, 1ms)) c.timeout = std::min<Duration>(5s, c.interval / 2);
    else shorterThanInterval("timeout", c.timeout);
    r.read("initial_delay", c.initialDelay);
    Duration failing{};
    if (r.read("failing_interval", failing, 100ms) && shorterThanInterval("failing_interval", failing))
      c.failingInterval = failing;
  }

  void readRecovery(MapReader& service, ServiceSpec& s) {
    MapReader r(service.node("recovery"), service.what() + ": recovery", service.file(), errors_);
    RecoverySpec& rec = s.recovery;
    r.read("enabled", rec.enabled);
    r.read("verify_grace", rec.verifyGrace);
    r.read("cooldown", rec.cooldown);
    r.read("max_rounds", rec.maxRounds, 1, 100);
    r.read("rto", rec.rto);
    if (r.has("flapping")) {
      MapReader f(r.node("flapping"), r.what() + ": flapping", r.file(), errors_);
      f.read("max_recoveries", rec.flapping.maxRecoveries, 1, 1000);
      f.read("within", rec.flapping.within, 1s);
      f.finish();
    }
    readConditions(r, rec.conditions);
    readLadder(r, s);
    r.finish();
  }

  void readConditions(MapReader& recovery, ConditionsSpec& c) {
    if (!recovery.has("conditions")) return;
    MapReader r(recovery.node("conditions"), recovery.what() + ": conditions", recovery.file(), errors_);
    if (r.read("units_active", c.unitsActive))
      for (const auto& u : c.unitsActive)
        if (!isValidUnitName(u)) r.error("units_active", "invalid unit name " + quoteValue(u));
    double memory = 0;
    if (r.readPercent("memory_available", memory)) c.minMemoryAvailablePercent = memory;
    if (r.read("reachable", c.reachable))
      for (const auto& target : c.reachable) {
        size_t colon = target.rfind(':');
        int port = colon == std::string::npos ? 0 : std::atoi(target.c_str() + colon + 1);
        std::string host = colon == std::string::npos ? "" : unbracketed(target.substr(0, colon));  // [::1]:80 too
        if (colon == std::string::npos || host.empty() || port < 1 || port > 65535)
          r.error("reachable", "'reachable' entries must be host:port, got " + quoteValue(target));
        else
          c.reachablePeers.emplace_back(host, port);
      }
    if (r.read("checks_healthy", c.checksHealthy)) c.checksHealthyAt = r.positionOf("checks_healthy");
    r.read("recheck", c.recheck, 1s);
    YAML::Node disks = r.node("disk_free");
    if (disks.IsDefined() && !disks.IsNull()) {
      if (!disks.IsSequence()) {
        r.error("disk_free", "'disk_free' must be a list of {path, min_percent}");
      } else {
        for (const auto& d : disks) {
          MapReader dr(d, r.what() + ": disk_free", r.file(), errors_);
          DiskHeadroom h;
          if (dr.require("path") && dr.read("path", h.path))
            if (auto e = checkAbsolutePath(h.path)) dr.error("path", "'path' " + *e);
          if (dr.require("min_percent")) dr.readPercent("min_percent", h.minFreePercent);
          dr.finish();
          c.diskFree.push_back(h);
        }
      }
    }
    r.finish();
  }

  void readLadder(MapReader& recovery, ServiceSpec& s) {
    strategies::StepContext context{s.name, s.unit, config_.agent.stateDir};
    YAML::Node ladder = recovery.node("ladder");
    if (!ladder.IsDefined() || ladder.IsNull()) {
      // The default ladder: restart twice, then reload.
      MapReader none(YAML::Node(YAML::NodeType::Map), recovery.what(), recovery.file(), errors_);
      auto rung = [&](std::string_view kind, int attempts) {
        return StepSpec{std::string(kind), attempts, 90s, strategies::findStepType(kind)->parse(none, context), std::nullopt,
                        recovery.position()};
      };
      s.recovery.ladder = {rung("restart", 2), rung("reload", 1)};
    } else if (readSteps(recovery, "ladder", ladder, context, s.recovery.ladder) == 0 && s.recovery.enabled) {
      recovery.error("ladder", "'ladder' is empty; set 'enabled: false' to turn recovery off");
    }
    readCauseLadders(recovery, s, context);
  }

  // A list of steps (a ladder); returns how many entries the list had.
  size_t readSteps(MapReader& owner, const char* key, const YAML::Node& list, const strategies::StepContext& context,
                   std::vector<StepSpec>& out) {
    if (!list.IsSequence()) {
      owner.error(key, std::string("'") + key + "' must be a list of steps");
      return 1;  // (not empty: said once)
    }
    for (const auto& node : list) {
      std::string label = node.IsMap() && node["step"] && node["step"].IsScalar() ? " '" + node["step"].Scalar() + "'" : "";
      MapReader r(node, owner.what() + ": ladder step" + label, owner.file(), errors_);
      if (!r.valid()) continue;
      StepSpec step;
      step.where = r.position();
      if (!r.require("step") || !r.read("step", step.kind)) continue;
      r.read("attempts", step.attempts, 1, 100);
      r.read("timeout", step.timeout, 1s);
      if (r.has("conditions")) readConditions(r, step.conditions.emplace());
      const strategies::StepType* type = strategies::findStepType(step.kind);
      if (!type) {
        std::vector<std::string> known;
        for (const auto& t : strategies::stepTypes()) known.emplace_back(t.name);
        r.error("step", unknownName("step", step.kind, known));
        continue;
      }
      step.step = type->parse(r, context);
      r.finish();
      out.push_back(std::move(step));
    }
    return list.size();
  }

  // `ladders:`: each {when: [...], ladder: [...]}. A `when:` names cause kinds or groups, or
  // the service's own checks and rules; anything else is refused, and a ladder no cause can
  // reach (every cause it names taken by a ladder before it) is warned of.
  void readCauseLadders(MapReader& recovery, ServiceSpec& s, const strategies::StepContext& context) {
    YAML::Node list = recovery.node("ladders");
    if (!list.IsDefined() || list.IsNull()) return;
    if (!list.IsSequence()) {
      recovery.error("ladders", "'ladders' must be a list of {when: [causes, checks or rules], ladder: [steps]}");
      return;
    }
    std::vector<std::string> names;  // what a `when:` may name
    for (auto w : strategies::causeWords()) names.emplace_back(w);
    for (const auto& c : s.checks) {
      names.push_back(c.name);
      for (const auto& rule : c.rules)
        if (!rule.name.empty()) names.push_back(rule.name);
    }
    int n = 0;
    for (const auto& node : list) {
      ++n;
      MapReader r(node, recovery.what() + ": ladders entry " + std::to_string(n), recovery.file(), errors_);
      if (!r.valid()) continue;
      LadderSpec l;
      l.where = r.position();
      if (r.require("when") && r.node("when").IsScalar()) {
        l.when.push_back(r.node("when").Scalar());
      } else if (r.has("when")) {
        r.read("when", l.when);
      }
      if (r.has("when") && l.when.empty()) r.error("when", "'when' must name at least one cause, check or rule");
      for (const auto& w : l.when)
        if (std::find(names.begin(), names.end(), w) == names.end())
          r.error("when", unknownName("cause, check or rule", w, names));
      if (r.require("ladder") && readSteps(r, "ladder", r.node("ladder"), context, l.steps) == 0)
        r.error("ladder", "'ladder' is empty");
      r.finish();
      s.recovery.ladders.push_back(std::move(l));
    }
    // Which ladder each cause this service can have would climb: one never chosen is a mistake.
    std::vector<strategies::Cause> causes = s.possibleCauses();
    for (size_t i = 0; i < s.recovery.ladders.size(); ++i) {
      bool reached = std::any_of(causes.begin(), causes.end(), [&](const auto& c) { return s.recovery.chosen(c) == int(i); });
      if (!reached)
        config_.warnings.push_back(s.recovery.ladders[i].where.str() + ": service '" + s.name + "': " +
                                   s.recovery.ladderName(int(i)) +
                                   " can never be chosen: every cause it names is taken by a ladder before it, or "
                                   "names a check that is not critical");
    }
  }

  ErrorList& errors_;
  const UnitNeedsReader& readNeeds_;
  Config config_;
  std::map<std::string, Position> serviceAt_;
};

}  // namespace


int RecoverySpec::chosen(const strategies::Cause& cause) const {
  for (size_t i = 0; i < ladders.size(); ++i)
    for (const auto& w : ladders[i].when)
      if (cause.matches(w)) return int(i);
  return kDefaultLadder;
}

const std::vector<StepSpec>& RecoverySpec::steps(int index) const {
  if (index == kDependencyRestart && !dependencyRestart.empty()) return dependencyRestart;
  return index >= 0 && size_t(index) < ladders.size() ? ladders[size_t(index)].steps : ladder;
}

bool RecoverySpec::hasLadder(int index) const {
  return index == kDefaultLadder || (index == kDependencyRestart && !dependencyRestart.empty()) ||
         (index >= 0 && size_t(index) < ladders.size());
}

std::string RecoverySpec::ladderName(int index) const {
  if (index == kDependencyRestart && !dependencyRestart.empty()) return "on_dependency_restart";
  if (index < 0 || size_t(index) >= ladders.size()) return "the default ladder";
  std::string when;
  for (const auto& w : ladders[size_t(index)].when) when += (when.empty() ? "" : ", ") + w;
  return "ladder " + std::to_string(index + 1) + " (when: " + when + ")";
}

std::vector<strategies::Cause> ServiceSpec::possibleCauses() const {
  std::vector<strategies::Cause> causes;
  for (auto w : strategies::causeWords()) {
    auto kind = strategies::causeKindFrom(w);
    if (kind && *kind != strategies::CauseKind::check && *kind != strategies::CauseKind::rule)
      causes.push_back(strategies::Cause{*kind, "", "", 0, ""});
  }
  for (const auto& c : checks) {
    if (!c.critical) continue;
    causes.push_back(strategies::Cause::ofCheck(c.name, ""));
    if (c.rules.empty()) continue;
    bool unnamed = false;
    for (const auto& rule : c.rules) {
      if (rule.name.empty()) unnamed = true;
      else causes.push_back(strategies::Cause::ofRule(rule.name, c.name, ""));
    }
    if (unnamed) causes.push_back(strategies::Cause::ofRule("", c.name, ""));
  }
  return causes;
}

std::vector<const StepSpec*> RecoverySpec::allSteps() const {
  std::vector<const StepSpec*> all;
  for (const auto& s : ladder) all.push_back(&s);
  for (const auto& l : ladders)
    for (const auto& s : l.steps) all.push_back(&s);
  for (const auto& s : dependencyRestart) all.push_back(&s);
  return all;
}

const ConditionsSpec* conditionsFor(const RecoverySpec& recovery, const std::vector<StepSpec>& ladder, size_t step) {
  const ConditionsSpec* gate = &recovery.conditions;
  if (step < ladder.size()) {
    const StepSpec& s = ladder[step];
    if (s.conditions) gate = &*s.conditions;
    else if (s.step && s.step->unitSwitch()) gate = nullptr;  // a failover is for when they do not hold
  }
  return gate && !gate->empty() ? gate : nullptr;
}

size_t Config::checkCount() const {
  size_t n = 0;
  for (const auto& s : services) n += s.checks.size();
  return n;
}

const ServiceSpec* Config::host() const {
  return !services.empty() && services.front().isHost() ? &services.front() : nullptr;
}

const ServiceSpec* Config::findService(const std::string& name) const {
  for (const auto& s : services)
    if (s.name == name) return &s;
  return nullptr;
}

LoadResult loadConfig(const std::string& mainFile, const UnitNeedsReader& readNeeds) {
  LoadResult result;
  Loader loader(result.errors, readNeeds);
  auto config = loader.load(mainFile);
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

}  // namespace medic::config
