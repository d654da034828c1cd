#pragma once
/// What medic tells the alert sinks about each service: what should be firing now (from its
/// checks, its unit and its recovery phase), and the recovery events worth a notification,
/// each with its severity and, when it is about a failure, the failure's cause and the
/// unit's own journal lines around it.
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/supervisor.h"
#include "alerts/alerter.h"

namespace medic::agent {

class AlertPolicy {
 public:
  /// Reads a unit's last journal lines off the loop; `done` gets them on the loop.
  using JournalReader = std::function<void(const std::string& unit, std::function<void(std::vector<std::string>)> done)>;
  /// How long a failure's first alerts wait for the journal read before they go without it.
  static constexpr Duration kJournalWait = std::chrono::seconds(2);

  AlertPolicy(Supervisor& supervisor, alerts::Alerter& alerter, Clock& clock, JournalReader journal)
      : supervisor_(supervisor), alerter_(alerter), clock_(clock), journal_(std::move(journal)) {}
  /// A recorded event: a notification when it is worth one.
  void event(const std::string& service, const recovery::Decision& d);
  /// Makes what fires for the service match what is true of it now.
  void reconcile(const std::string& service);
  /// The supervised services changed (a reload): forgets those no longer supervised.
  void servicesChanged();

 private:
  // What the alerter is told, as it was decided; `journal` fills in the lines read since.
  using Call = std::function<void(const std::vector<std::string>& journal)>;
  // A new failure's alerts wait, in order and as decided, until its journal lines are read.
  // (no default member initializer here: clang judges an optional<Reading> not
  // default-constructible inside the enclosing class, before such initializers are parsed)
  struct Reading {
    uint64_t failure;  // the machine's failures() it is for (set by readJournalIfNew)
    std::deque<Call> calls;
    Timer deadline;
  };
  void readJournalIfNew(const std::string& name, const Supervisor::Service& s);
  void journalRead(const std::string& name, uint64_t failure, std::vector<std::string> lines);
  void tell(const std::string& name, Call call);
  alerts::Why why(const std::string& name, const strategies::Cause& cause) const;

  // What the policy keeps of one service: what each event last said (a lasting alert
  // repeats it), and the journal read for its latest failure.
  struct Memory {
    std::map<recovery::Event, std::string> said;
    uint64_t readFor = 0;            // the failure whose lines were read (or are being read)
    std::optional<Reading> reading;  // the read under way
  };

  Supervisor& supervisor_;  // (the lines read are kept in its saved state, for `medic status`)
  alerts::Alerter& alerter_;
  Clock& clock_;
  JournalReader journal_;
  std::map<std::string, Memory> services_;  // by service name
};

}  // namespace medic::agent
