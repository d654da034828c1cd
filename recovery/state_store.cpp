#include "recovery/state_store.h"

#include "runtime/saved_file.h"
#include "runtime/text.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace medic::recovery {

using nlohmann::json;
namespace fs = std::filesystem;

double Figures::meanSeconds() const {
  if (recoverySeconds.empty()) return 0;
  double sum = 0;
  for (double s : recoverySeconds) sum += s;
  return sum / double(recoverySeconds.size());
}

double Figures::worstSeconds() const {
  return recoverySeconds.empty() ? 0 : *std::max_element(recoverySeconds.begin(), recoverySeconds.end());
}

double Figures::p95Seconds() const {
  if (recoverySeconds.empty()) return 0;
  std::vector<double> sorted = recoverySeconds;
  std::sort(sorted.begin(), sorted.end());
  return sorted[std::min(sorted.size() - 1, size_t(0.95 * double(sorted.size())))];
}

void Figures::countTimeToRecover(double seconds) {
  for (size_t i = 0; i < std::size(kTtrBounds); ++i)
    if (seconds <= kTtrBounds[i]) ++ttrBuckets[i];
  ++ttrBuckets.back();
  ttrSeconds += seconds;
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

Phase phaseFrom(const std::string& name) {
  for (Phase p : recovery::kPhases)
    if (toString(p) == name) return p;
  throw std::runtime_error("unknown phase '" + name + "'");
}

json faultJson(const FaultRecord& f) {
  json steps = json::array();
  for (const auto& v : f.steps) steps.push_back({{"step", v.step}, {"verdict", v.verdict}});
  return {{"started_ms", f.startedMs}, {"ended_ms", f.endedMs}, {"cause", f.cause}, {"severity", f.severity},
          {"outcome", f.outcome}, {"steps", steps}, {"rto_exceeded", f.rtoExceeded}, {"drill", f.drill},
          {"dependency", f.dependency}};
}

std::string dumped(const json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

// Appends the records of `faults` but the newest, comma-separated: from the cache when it
// holds exactly those, or written anew (and kept).
void appendFaultsBeforeNewest(std::string& out, const std::deque<FaultRecord>& faults, SaveCache::Faults* cached) {
  size_t n = faults.empty() ? 0 : faults.size() - 1;
  int64_t first = n ? faults.front().startedMs : 0, last = n ? faults[n - 1].startedMs : 0;
  if (cached && cached->count == n && cached->firstMs == first && cached->lastMs == last) {
    out += cached->text;
    return;
  }
  std::string text;
  for (size_t i = 0; i < n; ++i) {
    if (i) text += ',';
    text += dumped(faultJson(faults[i]));
  }
  out += text;
  if (cached) *cached = {n, first, last, std::move(text)};
}

}  // namespace

std::string toJson(const SavedState& state, SaveCache* cache) {
  if (cache)
    std::erase_if(cache->faults, [&](const auto& entry) { return !state.services.count(entry.first); });
  std::string out;
  out.reserve(cache ? cache->size + cache->size / 8 : 0);
  out += "{\"version\":1,\"next_action_id\":" + std::to_string(state.nextActionId) +
                    ",\"saved_at_ms\":" + std::to_string(state.savedAtMs);
  Figures all = state.totals();
  json totals = {{"recoveries", all.recoveries}, {"successes", all.successes}, {"gave_up", all.gaveUp},
                 {"mean_seconds", all.meanSeconds()}, {"p95_seconds", all.p95Seconds()}};
  out += ",\"totals\":" + dumped(totals) + ",\"services\":{";
  bool firstService = true;
  for (const auto& [name, s] : state.services) {
    json history = json::array();
    for (const auto& a : s.history)
      history.push_back({{"id", a.id}, {"step", a.step}, {"attempt", a.attempt}, {"round", a.round},
                         {"reason", a.reason}, {"cause", a.cause}, {"started_ms", a.startedMs}, {"ended_ms", a.endedMs}, {"result", a.result}});
    json ages = json::array();
    for (Duration d : s.machine.recoveryAges) ages.push_back(ms(d));
    json service = {
        {"machine",
         {{"phase", std::string(toString(s.machine.phase))}, {"round", s.machine.round}, {"step", s.machine.step},
          {"attempt", s.machine.attempt}, {"step_running", s.machine.stepRunning},
          {"cooldown_left_ms", ms(s.machine.cooldownLeft)}, {"hold_left_ms", ms(s.machine.holdLeft)},
          {"recheck_left_ms", ms(s.machine.recheckLeft)}, {"recovery_ages_ms", ages},
          {"since_change_ms", ms(s.machine.sinceChange)}, {"paused", s.machine.paused},
          {"pause_left_ms", s.machine.pauseLeft ? json(ms(*s.machine.pauseLeft)) : json(nullptr)},
          {"pause_reason", s.machine.pauseReason},
          {"cause",
           {{"kind", std::string(s.machine.cause.id())}, {"name", s.machine.cause.name}, {"check", s.machine.cause.check},
            {"code", s.machine.cause.code}, {"words", s.machine.cause.words}}},
          {"ladder", s.machine.ladder}}},
        {"paused_by_uid", s.pausedByUid},
        {"paused_by", s.pausedBy},
        {"pause_reason", s.pauseReason},
        {"history", history},
        {"figures",
         {{"recoveries", s.figures.recoveries}, {"successes", s.figures.successes}, {"gave_up", s.figures.gaveUp},
          {"rto_exceeded", s.figures.rtoExceeded},
          {"recovery_seconds", s.figures.recoverySeconds}, {"mean_seconds", s.figures.meanSeconds()},
          {"p95_seconds", s.figures.p95Seconds()}, {"steps", s.figures.steps},
          {"ttr_buckets", s.figures.ttrBuckets}, {"ttr_seconds", s.figures.ttrSeconds}}},
        {"recovery_started_ms", s.recoveryStartedMs},
        {"recovery_reason", s.recoveryReason},
        {"recovery_cause", s.recoveryCause},
        {"excerpt", s.excerpt}};
    if (!firstService) out += ',';
    firstService = false;
    out += dumped(json(name));
    out += ':';
    out += dumped(service);  // "{...}": the faults go in before its closing brace
    out.pop_back();
    out += ",\"faults\":[";
    appendFaultsBeforeNewest(out, s.faults, cache ? &cache->faults[name] : nullptr);
    if (!s.faults.empty()) {
      if (s.faults.size() > 1) out += ',';
      out += dumped(faultJson(s.faults.back()));
    }
    out += "]}";
  }
  out += "}}\n";
  if (cache) cache->size = out.size();
  return out;
}

SavedState fromJson(const std::string& text, std::vector<std::string>* dropped) {
  json j = json::parse(text);
  if (savedInteger<int>(j, "version") != 1) throw std::runtime_error("unknown state version");
  // Every number is checked before it becomes a duration, a count or a time: a value no
  // medic could have written is never wrapped or clamped into a state. It costs only its own
  // field (or its own entry of a list), which keeps its default and is named in `dropped`;
  // the rest of the file is kept. Only a file whose skeleton is wrong is corrupt as a whole.
  std::vector<std::string> ignored;
  std::vector<std::string>& said = dropped ? *dropped : ignored;
  auto field = [&](const std::string& where, auto&& read) {
    try {
      read();
    } catch (const std::exception& e) {
      said.push_back(where + ": " + e.what());
    }
  };
  constexpr int kMaxCount = 1'000'000;  // rounds, attempts, steps
  auto duration = [](const json& m, const char* key) { return fromMs(savedInteger<int64_t>(m, key, 0, kMaxSavedDurationMs)); };
  auto time = [](const json& m, const char* key) { return savedInteger<int64_t>(m, key, 0, kMaxSavedTimeMs); };
  SavedState state;
  field("next_action_id", [&] { state.nextActionId = savedInteger<uint64_t>(j, "next_action_id"); });
  field("saved_at_ms", [&] { state.savedAtMs = j.contains("saved_at_ms") ? time(j, "saved_at_ms") : 0; });
  for (const auto& item : j.at("services").items()) {
    // (not a structured binding: clang before 16, which dev/fuzz builds with, cannot capture one)
    const std::string& name = item.key();
    const json& v = item.value();
    ServiceState s;
    const std::string at = "service '" + escapeText(name, 80) + "'";
    // The machine's phase and its counters go together: a bad one costs the machine's whole
    // snapshot (it resumes as healthy), never a phase with another phase's counters.
    field(at + ", its recovery state", [&] {
      const json& m = v.at("machine");
      MachineSnapshot machine;
      machine.phase = phaseFrom(m.at("phase").get<std::string>());
      machine.round = savedInteger<int>(m, "round", 0, kMaxCount);
      machine.step = savedInteger<size_t>(m, "step", 0, kMaxCount);
      machine.attempt = savedInteger<int>(m, "attempt", 0, kMaxCount);
      machine.stepRunning = m.at("step_running").get<bool>();
      machine.cooldownLeft = duration(m, "cooldown_left_ms");
      machine.holdLeft = duration(m, "hold_left_ms");
      machine.recheckLeft = duration(m, "recheck_left_ms");
      if (m.contains("cause")) {  // (files before 0.3 lack it)
        const json& c = m.at("cause");
        auto kind = strategies::causeKindFrom(c.at("kind").get<std::string>());
        if (!kind) throw std::runtime_error("unknown cause '" + c.at("kind").get<std::string>() + "'");
        machine.cause = {*kind, c.at("name").get<std::string>(), c.at("check").get<std::string>(),
                         savedInteger<int>(c, "code", INT32_MIN, INT32_MAX), c.at("words").get<std::string>()};
        machine.ladder = savedInteger<int>(m, "ladder", config::RecoverySpec::kDependencyRestart, kMaxCount);
      }
      s.machine = std::move(machine);
    });
    const json* m = v.contains("machine") && v.at("machine").is_object() ? &v.at("machine") : nullptr;
    if (m) {
      field(at + ", recovery_ages_ms", [&] {
        const json& ages = m->at("recovery_ages_ms");
        if (!ages.is_array() || ages.size() > size_t(kMaxCount)) throw std::runtime_error("'recovery_ages_ms' is not a list of durations");
        std::vector<Duration> read;
        for (size_t i = 0; i < ages.size(); ++i) read.push_back(duration(json{{"recovery_ages_ms", ages[i]}}, "recovery_ages_ms"));
        s.machine.recoveryAges = std::move(read);
      });
      // Written since operator control came (older files lack them).
      field(at + ", since_change_ms", [&] {
        if (m->contains("since_change_ms")) s.machine.sinceChange = duration(*m, "since_change_ms");
      });
      // A pause whose length cannot be read stays a pause, until resumed: never a pause lost.
      field(at + ", paused", [&] { s.machine.paused = m->value("paused", false); });
      field(at + ", pause_left_ms", [&] {
        if (m->contains("pause_left_ms") && !m->at("pause_left_ms").is_null()) s.machine.pauseLeft = duration(*m, "pause_left_ms");
      });
      field(at + ", pause_reason", [&] { s.machine.pauseReason = m->value("pause_reason", std::string()); });
    }
    field(at + ", paused_by", [&] {
      s.pausedByUid = v.contains("paused_by_uid") ? savedInteger<int64_t>(v, "paused_by_uid", -1, UINT32_MAX) : -1;
      s.pausedBy = v.value("paused_by", std::string());
      s.pauseReason = v.value("pause_reason", std::string());
    });
    field(at + ", history", [&] {
      const json& history = v.at("history");
      for (size_t i = 0; i < history.size(); ++i)
        field(at + ", history entry " + std::to_string(i + 1), [&] {
          const json& a = history.at(i);
          s.history.push_back({savedInteger<uint64_t>(a, "id"), a.at("step").get<std::string>(),
                               savedInteger<int>(a, "attempt", 0, kMaxCount), savedInteger<int>(a, "round", 0, kMaxCount),
                               a.at("reason").get<std::string>(), a.value("cause", std::string()), time(a, "started_ms"),
                               time(a, "ended_ms"), a.at("result").get<std::string>()});
        });
    });
    while (s.history.size() > StateStore::kHistoryKept) s.history.pop_front();
    if (v.contains("faults"))  // (files before 0.3 lack it)
      field(at + ", faults", [&] {
        const json& faults = v.at("faults");
        for (size_t i = 0; i < faults.size(); ++i)
          field(at + ", fault record " + std::to_string(i + 1), [&] {
            const json& f = faults.at(i);
            if (f.at("steps").size() > size_t(kMaxCount)) throw std::out_of_range("a fault with too many steps");
            std::vector<StepVerdict> steps;
            for (const auto& v : f.at("steps")) steps.push_back({v.at("step").get<std::string>(), v.at("verdict").get<std::string>()});
            s.faults.push_back({time(f, "started_ms"), time(f, "ended_ms"), f.at("cause").get<std::string>(),
                                f.at("severity").get<std::string>(), f.at("outcome").get<std::string>(), std::move(steps),
                                f.at("rto_exceeded").get<bool>(), f.value("drill", false),
                                f.value("dependency", std::string())});
          });
      });
    while (s.faults.size() > StateStore::kFaultsKept) s.faults.pop_front();
    // The figures are counted together: one bad count costs them all (they would not add up).
    field(at + ", figures", [&] {
      const json& f = v.at("figures");
      Figures figures;
      figures.rtoExceeded = f.contains("rto_exceeded") ? savedInteger<uint64_t>(f, "rto_exceeded") : 0;
      figures.recoveries = savedInteger<uint64_t>(f, "recoveries");
      figures.successes = savedInteger<uint64_t>(f, "successes");
      figures.gaveUp = savedInteger<uint64_t>(f, "gave_up");
      figures.recoverySeconds = f.at("recovery_seconds").get<std::vector<double>>();
      if (f.contains("steps"))  // (files before 0.2 lack it)
        for (const auto& [step, results] : f.at("steps").items())
          for (const auto& result : results.items()) figures.steps[step][result.key()] = savedInteger<uint64_t>(results, result.key().c_str());
      for (double t : figures.recoverySeconds)
        if (!(t >= 0 && t <= double(kMaxSavedDurationMs) / 1000)) throw std::out_of_range("a recovery time of " + std::to_string(t) + " s");
      while (figures.recoverySeconds.size() > StateStore::kRecoveryTimesKept) figures.recoverySeconds.erase(figures.recoverySeconds.begin());
      if (f.contains("ttr_buckets")) {  // (files before 0.4 lack them: counted from now on)
        const json& buckets = f.at("ttr_buckets");
        if (!buckets.is_array() || buckets.size() != figures.ttrBuckets.size())
          throw std::runtime_error("'ttr_buckets' is not a list of " + std::to_string(figures.ttrBuckets.size()) + " counts");
        for (size_t i = 0; i < buckets.size(); ++i) {
          figures.ttrBuckets[i] = savedInteger<uint64_t>(json{{"ttr_buckets", buckets[i]}}, "ttr_buckets");
          if (i > 0 && figures.ttrBuckets[i] < figures.ttrBuckets[i - 1]) throw std::runtime_error("'ttr_buckets' do not add up");
        }
        double sum = f.at("ttr_seconds").get<double>();
        if (!(sum >= 0 && sum <= double(figures.ttrBuckets.back()) * double(kMaxSavedDurationMs) / 1000))
          throw std::out_of_range("'ttr_seconds' of " + std::to_string(sum));
        figures.ttrSeconds = sum;
      }
      s.figures = std::move(figures);
    });
    field(at + ", the recovery under way", [&] {
      s.recoveryStartedMs = time(v, "recovery_started_ms");
      s.recoveryReason = v.at("recovery_reason").get<std::string>();
      s.recoveryCause = v.value("recovery_cause", std::string());
    });
    field(at + ", excerpt", [&] {
      if (v.contains("excerpt")) s.excerpt = v.at("excerpt").get<std::vector<std::string>>();
    });
    state.services[name] = std::move(s);
  }
  return state;
}

void ServiceState::stepStarted(uint64_t id, const std::string& step, const Decision& d, int64_t nowMs) {
  history.push_back({id, step, d.attempt, d.round, recoveryReason, recoveryCause, nowMs, 0, ""});
  while (history.size() > StateStore::kHistoryKept) history.pop_front();
}

void ServiceState::stepEnded(const strategies::StepOutcome& outcome, int64_t nowMs) {
  if (history.empty() || history.back().endedMs != 0) return;
  history.back().endedMs = nowMs;
  using Result = strategies::StepOutcome::Result;
  history.back().result = outcome.result == Result::done     ? "done"
                          : outcome.result == Result::failed ? "failed: " + outcome.detail
                                                             : "skipped: " + outcome.detail;
  if (outcome.result != Result::done) stepVerdict(outcome.result == Result::failed ? "failed" : "skipped");
}

void ServiceState::stepVerdict(const std::string& verdict) {
  ++figures.steps[history.back().step][verdict];
  if (!faults.empty() && faults.back().endedMs == 0) faults.back().steps.push_back({history.back().step, verdict});
}

void ServiceState::noteRtoExceeded() {
  if (faults.empty() || faults.back().endedMs != 0 || faults.back().rtoExceeded) return;
  faults.back().rtoExceeded = true;
  ++figures.rtoExceeded;
}

void ServiceState::noteEvent(const Decision& d, int64_t nowMs) {
  // The step's own result says whether it ran; whether it healed is known after its
  // verification, and is added to it.
  if (!history.empty() && history.back().result == "done") {
    if (d.event == Event::recovered || d.event == Event::failedOver) {
      history.back().result = "done, healed";
      stepVerdict("healed");
    } else if (d.event == Event::stepFailed || d.event == Event::roundFailed || d.event == Event::gaveUp || d.event == Event::recoveryStopped) {
      history.back().result = "done, did not heal";
      stepVerdict("did_not_heal");
    }
  }
  auto endFault = [&](const char* outcome) {
    if (faults.empty() || faults.back().endedMs != 0) return;
    faults.back().endedMs = std::max<int64_t>(nowMs, faults.back().startedMs);
    faults.back().outcome = outcome;
  };
  // A drill's recovery is kept in its fault record, marked, and out of the figures.
  bool rehearsal = d.event == Event::recoveryStarted ? drill : !faults.empty() && faults.back().endedMs == 0 && faults.back().drill;
  // A failure put down to a dependency is that dependency's fault: the open record (a recovery
  // of its own that the dependency overtook) is marked so, or one is opened for the hold.
  bool open = !faults.empty() && faults.back().endedMs == 0;
  bool dependencyRecord = open && !faults.back().dependency.empty();
  if (d.event == Event::held && !rehearsal) {
    if (open) {
      faults.back().dependency = d.cause.name;
    } else {
      faults.push_back({nowMs, 0, std::string(d.cause.id()), std::string(checks::toString(d.cause.severity())), "", {}, false,
                        false, d.cause.name});
      while (faults.size() > StateStore::kFaultsKept || faults.front().startedMs < nowMs - StateStore::kFaultsKeptForMs)
        faults.pop_front();
    }
    return;
  }
  // on_dependency_restart's restart goes on in the held episode's record; of a service that
  // was not failing it is a step, counted with the steps, but no fault.
  bool restartAfterDependency = d.event == Event::recoveryStarted && d.cause.kind == strategies::CauseKind::dependency;
  if (restartAfterDependency && !rehearsal) {
    ++figures.recoveries;
    recoveryStartedMs = nowMs;
    recoveryReason = d.reason;
    recoveryCause = std::string(d.cause.id());
    if (!dependencyRecord) endFault("stopped");
    return;
  }
  if (d.event == Event::recoveryStarted && dependencyRecord && !rehearsal) endFault(d.cause.known() ? "own-recovery" : "stopped");
  if (rehearsal && d.event == Event::recoveryStarted) {
    recoveryStartedMs = nowMs;
    recoveryReason = d.reason;
    recoveryCause = d.cause.known() ? std::string(d.cause.id()) : "";
    endFault("stopped");
    faults.push_back({nowMs, 0, recoveryCause.empty() ? "operator" : recoveryCause, std::string(checks::toString(d.cause.severity())), "", {}, false, true, ""});
  } else if (rehearsal) {
    if (d.event == Event::recovered) endFault("recovered");
    else if (d.event == Event::gaveUp) endFault("gave-up");
    else if (d.event == Event::healed || d.event == Event::failedOver) endFault(d.event == Event::healed ? "healed" : "failed-over");
    else if (d.event == Event::reset || d.event == Event::recoveryStopped) endFault("stopped");
  } else if (d.event == Event::recoveryStarted) {
    ++figures.recoveries;
    recoveryStartedMs = nowMs;
    recoveryReason = d.reason;
    recoveryCause = d.cause.known() ? std::string(d.cause.id()) : "";
    endFault("stopped");  // (one left open by an older medic)
    faults.push_back({nowMs, 0, recoveryCause.empty() ? "operator" : recoveryCause,  // (an operator's `medic recover`)
                      std::string(checks::toString(d.cause.severity())), "", {}, false, false, ""});
    while (!faults.empty() && (faults.size() > StateStore::kFaultsKept || faults.front().startedMs < nowMs - StateStore::kFaultsKeptForMs))
      faults.pop_front();
  } else if (d.event == Event::recovered) {
    ++figures.successes;
    if (recoveryStartedMs) {
      figures.recoverySeconds.push_back(double(nowMs - recoveryStartedMs) / 1000.0);
      figures.countTimeToRecover(figures.recoverySeconds.back());
    }
    while (figures.recoverySeconds.size() > StateStore::kRecoveryTimesKept) figures.recoverySeconds.erase(figures.recoverySeconds.begin());
    endFault("recovered");
  } else if (d.event == Event::gaveUp) {
    ++figures.gaveUp;
    endFault("gave-up");
  } else if (d.event == Event::healed || d.event == Event::failedOver) {
    endFault(d.event == Event::healed ? "healed" : "failed-over");
  } else if (d.event == Event::reset || d.event == Event::recoveryStopped) {
    endFault("stopped");
  }
}

SavedState StateStore::load(std::string& warning) const {
  SavedFile file = readSavedFile(path(), kStateFileCap);
  if (!file.found) return {};  // first start
  std::string why = file.error;
  if (why.empty()) {
    try {
      std::vector<std::string> dropped;
      SavedState state = fromJson(file.text, &dropped);
      if (!dropped.empty()) {
        std::string list;
        for (size_t i = 0; i < dropped.size() && i < 10; ++i) list += (list.empty() ? "" : "; ") + dropped[i];
        if (dropped.size() > 10) list += "; and " + std::to_string(dropped.size() - 10) + " more";
        warning = "in " + path() + ", dropped what no medic could have written and kept the rest: " + escapeText(list, 2000);
      }
      return state;
    } catch (const std::exception& e) {
      why = e.what();
    }
  }
  std::string aside = moveAside(path());
  warning = "cannot read " + path() + " (" + escapeText(why, 300) + "); " +
            (aside.empty() ? "could not move it aside" : "moved it to " + aside) + " and starting with no saved state";
  return {};
}

std::string StateStore::save(const SavedState& state) const { return writeAtomically(dir_, "state.json", toJson(state, &cache_)); }

}  // namespace medic::recovery
