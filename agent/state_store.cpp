#include "agent/state_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace medic::agent {

using nlohmann::json;
namespace fs = std::filesystem;

double Figures::meanSeconds() const {
  if (recoverySeconds.empty()) return 0;
  double sum = 0;
  for (double s : recoverySeconds) sum += s;
  return sum / double(recoverySeconds.size());
}

double Figures::p95Seconds() const {
  if (recoverySeconds.empty()) return 0;
  std::vector<double> sorted = recoverySeconds;
  std::sort(sorted.begin(), sorted.end());
  return sorted[std::min(sorted.size() - 1, size_t(0.95 * double(sorted.size())))];
}

Figures SavedState::totals() const {
  Figures all;
  for (const auto& [name, s] : services) {
    all.recoveries += s.figures.recoveries;
    all.successes += s.figures.successes;
    all.gaveUp += s.figures.gaveUp;
    all.recoverySeconds.insert(all.recoverySeconds.end(), s.figures.recoverySeconds.begin(), s.figures.recoverySeconds.end());
  }
  return all;
}

namespace {

int64_t ms(Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }
Duration fromMs(int64_t v) { return std::chrono::milliseconds(v); }

const std::vector<std::pair<Phase, std::string>> kPhases = {
    {Phase::healthy, "healthy"}, {Phase::blocked, "blocked"},   {Phase::recovering, "recovering"},
    {Phase::verifying, "verifying"}, {Phase::cooldown, "cooldown"}, {Phase::gaveUp, "gave-up"},
    {Phase::flapping, "flapping"}, {Phase::failedOver, "failed-over"}, {Phase::failingBack, "failing-back"}};

Phase phaseFrom(const std::string& name) {
  for (const auto& [p, n] : kPhases)
    if (n == name) return p;
  throw std::runtime_error("unknown phase '" + name + "'");
}

}  // namespace

std::string toJson(const SavedState& state) {
  json services = json::object();
  for (const auto& [name, s] : state.services) {
    json history = json::array();
    for (const auto& a : s.history)
      history.push_back({{"id", a.id}, {"step", a.step}, {"attempt", a.attempt}, {"round", a.round},
                         {"reason", a.reason}, {"started_ms", a.startedMs}, {"ended_ms", a.endedMs}, {"result", a.result}});
    json ages = json::array();
    for (Duration d : s.machine.recoveryAges) ages.push_back(ms(d));
    services[name] = {
        {"machine",
         {{"phase", std::string(toString(s.machine.phase))}, {"round", s.machine.round}, {"step", s.machine.step},
          {"attempt", s.machine.attempt}, {"step_running", s.machine.stepRunning},
          {"cooldown_left_ms", ms(s.machine.cooldownLeft)}, {"hold_left_ms", ms(s.machine.holdLeft)},
          {"recheck_left_ms", ms(s.machine.recheckLeft)}, {"recovery_ages_ms", ages},
          {"since_change_ms", ms(s.machine.sinceChange)}, {"paused", s.machine.paused},
          {"pause_left_ms", s.machine.pauseLeft ? json(ms(*s.machine.pauseLeft)) : json(nullptr)},
          {"pause_reason", s.machine.pauseReason}}},
        {"paused_by_uid", s.pausedByUid},
        {"history", history},
        {"figures",
         {{"recoveries", s.figures.recoveries}, {"successes", s.figures.successes}, {"gave_up", s.figures.gaveUp},
          {"recovery_seconds", s.figures.recoverySeconds}, {"mean_seconds", s.figures.meanSeconds()},
          {"p95_seconds", s.figures.p95Seconds()}}},
        {"recovery_started_ms", s.recoveryStartedMs},
        {"recovery_reason", s.recoveryReason}};
  }
  Figures all = state.totals();
  json totals = {{"recoveries", all.recoveries}, {"successes", all.successes}, {"gave_up", all.gaveUp},
                 {"mean_seconds", all.meanSeconds()}, {"p95_seconds", all.p95Seconds()}};
  return json{{"version", 1}, {"next_action_id", state.nextActionId}, {"saved_at_ms", state.savedAtMs}, {"totals", totals}, {"services", services}}.dump(2) +
         "\n";
}

SavedState fromJson(const std::string& text) {
  json j = json::parse(text);
  if (j.at("version").get<int>() != 1) throw std::runtime_error("unknown state version");
  SavedState state;
  state.nextActionId = j.at("next_action_id").get<uint64_t>();
  state.savedAtMs = j.value("saved_at_ms", int64_t(0));
  for (const auto& [name, v] : j.at("services").items()) {
    ServiceState s;
    const json& m = v.at("machine");
    s.machine.phase = phaseFrom(m.at("phase").get<std::string>());
    s.machine.round = m.at("round").get<int>();
    s.machine.step = m.at("step").get<size_t>();
    s.machine.attempt = m.at("attempt").get<int>();
    s.machine.stepRunning = m.at("step_running").get<bool>();
    s.machine.cooldownLeft = fromMs(m.at("cooldown_left_ms").get<int64_t>());
    s.machine.holdLeft = fromMs(m.at("hold_left_ms").get<int64_t>());
    s.machine.recheckLeft = fromMs(m.at("recheck_left_ms").get<int64_t>());
    for (const auto& a : m.at("recovery_ages_ms")) s.machine.recoveryAges.push_back(fromMs(a.get<int64_t>()));
    // Written since operator control came (older files lack them).
    s.machine.sinceChange = fromMs(m.value("since_change_ms", int64_t(0)));
    s.machine.paused = m.value("paused", false);
    if (m.contains("pause_left_ms") && !m.at("pause_left_ms").is_null())
      s.machine.pauseLeft = fromMs(m.at("pause_left_ms").get<int64_t>());
    s.machine.pauseReason = m.value("pause_reason", std::string());
    s.pausedByUid = v.value("paused_by_uid", int64_t(-1));
    for (const auto& a : v.at("history"))
      s.history.push_back({a.at("id").get<uint64_t>(), a.at("step").get<std::string>(), a.at("attempt").get<int>(),
                           a.at("round").get<int>(), a.at("reason").get<std::string>(), a.at("started_ms").get<int64_t>(),
                           a.at("ended_ms").get<int64_t>(), a.at("result").get<std::string>()});
    const json& f = v.at("figures");
    s.figures.recoveries = f.at("recoveries").get<uint64_t>();
    s.figures.successes = f.at("successes").get<uint64_t>();
    s.figures.gaveUp = f.at("gave_up").get<uint64_t>();
    s.figures.recoverySeconds = f.at("recovery_seconds").get<std::vector<double>>();
    s.recoveryStartedMs = v.at("recovery_started_ms").get<int64_t>();
    s.recoveryReason = v.at("recovery_reason").get<std::string>();
    state.services[name] = std::move(s);
  }
  return state;
}

SavedState StateStore::load(std::string& warning) const {
  std::ifstream in(path());
  if (!in) return {};  // first start
  std::stringstream text;
  text << in.rdbuf();
  try {
    return fromJson(text.str());
  } catch (const std::exception& e) {
    char stamp[32];
    std::time_t now = std::time(nullptr);
    std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", std::gmtime(&now));
    std::string aside = path() + ".corrupt-" + stamp;
    std::error_code ec;
    fs::rename(path(), aside, ec);
    warning = "cannot read " + path() + " (" + e.what() + "); moved it to " + aside + " and starting with no saved state";
    return {};
  }
}

std::string writeAtomically(const std::string& dir, const std::string& name, const std::string& text) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::string path = dir + "/" + name;
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot write " + tmp + ": " + std::strerror(errno);
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
  close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) return "cannot save " + path + ": " + std::strerror(errno);
  // The rename itself must reach the disk too.
  int d = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d >= 0) {
    fsync(d);
    close(d);
  }
  return {};
}

std::string StateStore::save(const SavedState& state) const { return writeAtomically(dir_, "state.json", toJson(state)); }

}  // namespace medic::agent
