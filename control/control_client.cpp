#include "control/control_client.h"

#include "checks/check.h"
#include "checks/rules.h"

#include <sdbus-c++/sdbus-c++.h>
#include <spdlog/fmt/fmt.h>
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "config/loader.h"
#include "control/control_server.h"
#include "runtime/text.h"

namespace medic::control {

using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr Duration kCallTimeout = 5s;

std::string str(const json& j) { return j.is_string() ? j.get<std::string>() : j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

struct Failure {
  int code;
  std::string message;
};

// One call to the daemon, with a deadline; a failure becomes one clear line and an exit code.
template <typename... Out, typename... In>
std::optional<Failure> call(const char* method, Duration timeout, std::tuple<Out&...> out, const In&... in) {
  std::unique_ptr<sdbus::IConnection> bus;
  try {
    bus = sdbus::createSystemBusConnection();
  } catch (const sdbus::Error& e) {
    return Failure{checks::exitcode::unknown, "medic: cannot reach the system bus: " + e.getMessage()};
  }
  try {
    auto proxy = sdbus::createProxy(*bus, kControlBusName, kControlObjectPath);
    auto m = proxy->createMethodCall(kControlInterface, method);
    if constexpr (sizeof...(In) > 0) (m << ... << in);
    auto reply = proxy->callMethod(m, std::chrono::duration_cast<std::chrono::microseconds>(timeout).count());
    std::apply([&](auto&... o) { (reply >> ... >> o); }, out);
    return std::nullopt;
  } catch (const sdbus::Error& e) {
    const std::string& name = e.getName();
    if (name == "org.freedesktop.DBus.Error.ServiceUnknown" || name == "org.freedesktop.DBus.Error.NameHasNoOwner")
      return Failure{checks::exitcode::unknown, "medic is not running (nothing answers as " + std::string(kControlBusName) +
                            " on the system bus; see `systemctl status medic`)"};
    if (name == "org.freedesktop.DBus.Error.NoReply" || name == "org.freedesktop.DBus.Error.Timeout" ||
        name == "org.freedesktop.DBus.Error.TimedOut")
      return Failure{checks::exitcode::unknown, "medic did not answer within " + formatDuration(timeout) + " (is it stuck? see `journalctl -u medic`)"};
    // Asked about a service medic does not have: its health cannot be told (3), as Nagios
    // says of a host it does not know; a changing call on it is refused (1).
    if (name == kErrorNoSuchService && (std::string(method) == "Status" || std::string(method) == "ServiceStatus"))
      return Failure{checks::exitcode::unknown, e.getMessage()};
    if (name == kErrorHeartbeatDenied)  // medic's own refusal names who may push this heartbeat
      return Failure{checks::exitcode::denied, "permission denied: " + e.getMessage()};
    if (name == kErrorAccessDenied) {
      // One sentence: who may, and how. Whether the bus policy or medic itself said no,
      // the bus's own words ("Rejected send message, 2 matched rules; ...") help nobody.
      if (std::string(method) == "Heartbeat")  // only the bus says no to a heartbeat this way
        return Failure{checks::exitcode::denied,
                       "permission denied: the bus policy does not let this user push heartbeats (is medic's "
                       "org.medic.Agent1.conf installed?)"};
      bool reading = std::string(method) == "Status" || std::string(method) == "ServiceStatus";
      return Failure{checks::exitcode::denied,
                     reading ? "permission denied: only root and members of group medic may read medic's status "
                               "(sudo medic status, or: usermod -aG medic $USER)"
                             : "permission denied: only root may change what medic does (sudo medic ...)"};
    }
    return Failure{checks::exitcode::degraded, e.getMessage()};
  }
}

int report(const std::optional<Failure>& failure) {
  if (!failure) return 0;
  std::cerr << failure->message << "\n";
  return failure->code;
}

std::string ago(double seconds) {
  if (seconds < 1) return "just now";
  return formatDuration(std::chrono::seconds(int64_t(seconds))) + " ago";
}

std::string clockTime(const std::string& iso) {
  // "2026-11-22T10:01:02.345Z" -> "10:01:02" (UTC; the screens say so)
  if (iso.size() < 19) return iso;
  return iso.substr(11, 8);
}

std::string recoveryText(const json& s) {
  if (const json& held = s.value("held_by", json()); held.is_object())
    return "waiting: " + str(held["text"]);
  if (s["recovery"].is_null()) return "-";
  const json& r = s["recovery"];
  return r["step"].get<std::string>() + " " + std::to_string(r["attempt"].get<int>()) + "/" +
         std::to_string(r["attempts"].get<int>()) + ", round " + std::to_string(r["round"].get<int>()) + "/" +
         std::to_string(r["rounds"].get<int>()) + (r["requested_by_operator"].get<bool>() ? " (requested)" : "");
}

std::string pausedText(const json& s) {
  if (s["paused"].is_null()) return "-";
  const json& p = s["paused"];
  return p["until"].is_null() ? "until resumed" : "until " + clockTime(p["until"].get<std::string>()) + " UTC";
}

std::string failingText(const json& s) {
  std::string out;
  for (const auto& c : s["failing_checks"])
    out += (out.empty() ? "" : "; ") + c["name"].get<std::string>() + ": " + c["message"].get<std::string>();
  return out.empty() ? "-" : out;
}

std::string stateText(const json& s) {
  std::string phase = s["phase"];
  return phase == "healthy" ? s["health"].get<std::string>() : phase;
}

void printOverview(const json& j) {
  const json& sum = j["summary"];
  std::cout << j["host"].get<std::string>() << ": " << j["health"].get<std::string>() << " — "
            << sum["services"].get<int>() << " services: " << sum["healthy"].get<int>() << " healthy, "
            << sum["degraded"].get<int>() << " degraded, " << sum["unhealthy"].get<int>() << " unhealthy"
            << (sum.value("unknown", 0) ? ", " + std::to_string(sum["unknown"].get<int>()) + " unknown (not checked yet)" : "")
            << "\n\n";
  if (j["services"].empty()) {
    std::cout << "no services are configured: add them under `services:` in " << config::kDefaultConfigPath
              << " or in a file of its checks.d/ (see /usr/share/doc/medic/), check them with `medic validate`, then "
                 "`systemctl reload medic`\n";
    return;
  }
  std::vector<std::vector<std::string>> rows{{"SERVICE", "STATE", "SINCE", "RECOVERY", "PAUSED", "FAILING"}};
  for (const auto& s : j["services"])
    rows.push_back({str(s["name"]), stateText(s), ago(s["since_seconds"].get<double>()), recoveryText(s), pausedText(s),
                    failingText(s)});
  std::cout << formatTable(rows);
}

void printService(const json& j) {
  const json& s = j["service"];
  bool host = s["unit"].get<std::string>().empty();  // the host's own checks: no unit, no recovery
  std::cout << s["name"].get<std::string>() << (host ? "" : " (" + s["unit"].get<std::string>() + ")") << ": " << stateText(s)
            << " since " << clockTime(str(s["since"])) << " UTC (" << ago(s["since_seconds"].get<double>()) << ")\n";
  if (host) std::cout << "  the machine's own checks: they alert once for the host; services' recovery may wait for them\n\n";
  if (!host) std::cout << "  unit:     " << (s["unit_state"].get<std::string>().empty() ? "unknown" : s["unit_state"].get<std::string>())
            << (s["unit_sub_state"].get<std::string>().empty() ? "" : " (" + s["unit_sub_state"].get<std::string>() + ")")
            << "\n";
  if (!host) std::cout << "  recovery: " << recoveryText(s) << "\n";
  if (const json& deps = s.value("depends_on", json::array()); !deps.empty()) {
    std::string names;
    for (const auto& d : deps) names += (names.empty() ? "" : ", ") + str(d);
    std::cout << "  needs:    " << names << " (depends_on: a failure while one is down waits for it)\n";
  }
  if (s["phase"] == "failed-over")  // how to leave it, said where it is seen
    std::cout << "  on its backup unit: medic fails back once the recovery conditions hold (fail_back); "
                 "now: medic recover " << s["name"].get<std::string>() << " --step failback\n";
  if (!s["paused"].is_null()) {
    const json& p = s["paused"];
    std::string reason = p["reason"].get<std::string>();
    std::cout << "  paused:   " << pausedText(s) << ": " << (reason.empty() ? "no reason given" : reason)
              << (p.value("by", json()).is_string() ? ", by " + p["by"].get<std::string>() : "") << "\n";
  }
  const json& f = s["figures"];
  if (!host) std::cout << "  figures:  " << f["recoveries"].get<int>() << " recoveries, " << f["recovered"].get<int>()
            << " recovered, " << f["gave_up"].get<int>() << " gave up; time to recover "
            << (f["mean_seconds"].is_number()
                    ? fmt::format("mean {:.1f}s, p95 {:.1f}s, worst {:.1f}s", f["mean_seconds"].get<double>(),
                                  f["p95_seconds"].get<double>(), f.value("worst_seconds", 0.0))
                    : std::string("- (none recovered)"))
            << (f.value("rto_seconds", json()).is_number()
                    ? fmt::format(" (rto {:g}s, exceeded {} times)", f["rto_seconds"].get<double>(), f.value("rto_exceeded", 0))
                    : "")
            << "\n\n";
  std::vector<std::vector<std::string>> rows{{"CHECK", "TYPE", "STATUS", "LAST RUN", "TOOK", "MESSAGE"}};
  for (const auto& c : s["checks"])
    rows.push_back({c["name"].get<std::string>() + (c["critical"].get<bool>() ? "" : " (non-critical)"), str(c["type"]),
                    str(c["status"]), c["at"].is_null() ? "-" : clockTime(str(c["at"])),
                    c["duration_ms"].is_null() ? "-" : fmt::format("{:.1f}ms", c["duration_ms"].get<double>()),
                    str(c["message"])});
  std::cout << formatTable(rows);
  // What each check measured, and where its rules stand.
  for (const auto& c : s["checks"]) {
    std::string values;
    for (const auto& v : c.value("values", json::array()))
      values += (values.empty() ? "" : ", ") + str(v["name"]) + " " +
                checks::formatValue(v["value"].get<double>(), str(v["unit"]) == "c" ? "" : str(v["unit"]));  // as `medic check` prints it
    if (!values.empty()) std::cout << "  " << str(c["name"]) << ": " << values << "\n";
    for (const auto& r : c.value("rules", json::array()))
      std::cout << "    rule " << str(r["rule"]) << " (then " << str(r["then"]) << "): " << str(r["state"]) << ", "
                << str(r["says"]) << "\n";
  }
  if (const json& last = s.value("last_failure", json()); last.is_object()) {
    std::cout << "\nlast failure: " << str(last["text"]) << " (" << str(last["cause"]) << ", " << str(last["severity"])
              << "); " << str(last["ladder"]) << "\n";
    for (const auto& line : last["journal"]) std::cout << "  | " << str(line) << "\n";
  }
  if (s["history"].empty()) return;
  std::cout << "\nrecovery history (latest last):\n";
  std::vector<std::vector<std::string>> hist{{"#", "STEP", "ATTEMPT", "ROUND", "STARTED", "TOOK", "RESULT", "REASON"}};
  for (const auto& a : s["history"])
    hist.push_back({std::to_string(a["id"].get<uint64_t>()), str(a["step"]), std::to_string(a["attempt"].get<int>()),
                    std::to_string(a["round"].get<int>()), a["started"].get<std::string>().substr(0, 19) + "Z",
                    a["duration_ms"].is_null() ? "-" : std::to_string(a["duration_ms"].get<int64_t>()) + "ms", str(a["result"]),
                    str(a["reason"])});
  std::cout << formatTable(hist);
}

}  // namespace

int statusCommand(const std::string& service, bool asJson) {
  std::string text;
  auto failure = service.empty() ? call("Status", kCallTimeout, std::tie(text))
                                 : call("ServiceStatus", kCallTimeout, std::tie(text), service);
  if (failure) return report(failure);
  json j = json::parse(text);
  if (asJson) {
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else if (service.empty()) {
    printOverview(j);
  } else {
    printService(j);
  }
  // Like `medic check`: the exit code tells the health (checks::exitcode).
  std::string health = service.empty() ? j["health"].get<std::string>() : j["service"]["health"].get<std::string>();
  return checks::exitCodeFor(checks::parseStatus(health).value_or(checks::Status::unknown));
}

namespace {
// A changing call whose answer is one sentence to print.
template <typename... In>
int sentenceCall(const char* method, const In&... in) {
  std::string message;
  auto failure = call(method, kCallTimeout, std::tie(message), in...);
  if (!failure) std::cout << message << "\n";
  return report(failure);
}
}  // namespace

int pauseCommand(const std::string& service, Duration length, const std::string& reason) {
  uint64_t seconds = uint64_t(std::chrono::duration_cast<std::chrono::seconds>(length).count());
  return sentenceCall("Pause", service, seconds, reason);
}

int resumeCommand(const std::string& service) { return sentenceCall("Resume", service); }

int heartbeatCommand(const std::string& service, const std::string& check, const std::string& status,
                     const std::string& message, bool quiet) {
  std::string answer;
  auto failure = call("Heartbeat", kCallTimeout, std::tie(answer), service, check, status, message);
  if (!failure && !quiet) std::cout << answer << "\n";
  return report(failure);
}

int resetCommand(const std::string& service) { return sentenceCall("Reset", service); }

int recoverCommand(const std::string& service, const std::string& step, Duration timeout) {
  bool healed = false;
  std::string message;
  if (geteuid() == 0)  // (anyone else is refused at once: no promise of a wait first)
    std::cerr << "asking medic to run " << (step.empty() ? "the first step of " + service + "'s ladder" : step + " on " + service)
              << " and waiting for its verification...\n";
  auto failure = call("Recover", timeout, std::tie(healed, message), service, step);
  if (failure) return report(failure);
  std::cout << (healed ? "healed: " : "not healed: ") << message << "\n";
  return healed ? 0 : 1;
}

int drillCommand(const std::string& service, const std::string& fault, Duration within, bool asJson) {
  bool passed = false;
  std::string text;
  if (geteuid() == 0 && !asJson)
    std::cerr << "drill on " << service << " (fault: " << fault << "); waiting for its recovery...\n";
  // The agent answers by `within` (or the ladder's own time): wait a little longer than that.
  Duration wait = (within > Duration::zero() ? within : std::chrono::hours(1)) + std::chrono::seconds(30);
  auto failure = call("Drill", wait, std::tie(passed, text), service, fault,
                      uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(within).count()));
  if (failure) return report(failure);
  if (asJson) {
    std::cout << text << "\n";
    return passed ? 0 : 1;
  }
  json r = json::parse(text, nullptr, false);
  if (r.is_discarded()) {
    std::cout << text << "\n";
    return passed ? 0 : 1;
  }
  auto secs = [](const json& v) { return v.is_number() ? fmt::format("{:.2f}s", v.get<double>()) : std::string("-"); };
  std::cout << "drill on " << str(r["service"]) << " (" << str(r["fault"]) << "): " << (passed ? "PASSED" : "FAILED") << ": "
            << str(r["verdict"]) << "\n";
  std::cout << "  cause:     " << str(r["cause"]) << "\n";
  std::cout << "  detected:  " << secs(r["detection_seconds"]) << " after the fault\n";
  std::vector<std::vector<std::string>> rows{{"STEP", "ATTEMPT", "TOOK", "RESULT"}};
  for (const auto& st : r["steps"])
    rows.push_back({str(st["step"]), std::to_string(st["attempt"].get<int>()), secs(st["seconds"]), str(st["result"])});
  if (rows.size() > 1) std::cout << formatTable(rows);
  std::string limits = "within " + secs(r["within_seconds"]) + (r["rto_seconds"].is_number() ? ", rto " + secs(r["rto_seconds"]) : "");
  if (r["recovery_seconds"].is_number())
    std::cout << "  recovered: " << secs(r["recovery_seconds"]) << " after the fault (" << limits << ")"
              << (r["detection_seconds"].is_number()
                      ? "; " + secs(r["recovery_seconds"].get<double>() - r["detection_seconds"].get<double>()) +
                            " after it was detected, as `medic report` counts"
                      : "")
              << "\n";
  else
    std::cout << "  not recovered (" << limits << ")\n";
  return passed ? 0 : 1;
}

}  // namespace medic::control
