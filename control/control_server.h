#pragma once
/// medic's control interface: org.medic.Agent1 on the system bus, object /org/medic/Agent1,
/// interface org.medic.Agent1. `medic status/pause/resume/reset/recover` call it; so can
/// busctl. Who may call what is said twice: by the bus policy shipped with medic
/// (systemd/org.medic.Agent1.conf: root everything, group medic the reads) and here, where
/// every mutating call is refused unless the caller's uid is 0 — except Heartbeat, which
/// anyone may send and the agent allows per check (root, the check's `users`, or the
/// processes of the service's own unit). It runs on the agent's loop
/// and answers at once, except Recover, which answers when the step has been verified, and
/// Drill, when the rehearsed failure has healed or its time is up.
#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "runtime/bus_connection.h"

namespace medic::control {

inline constexpr const char* kControlBusName = "org.medic.Agent1";
inline constexpr const char* kControlObjectPath = "/org/medic/Agent1";
inline constexpr const char* kControlInterface = "org.medic.Agent1";

/// Who called, from the bus's own record of the sender.
struct Caller {
  uid_t uid = 0;
  pid_t pid = 0;
  std::optional<std::string> unit;  ///< the systemd unit whose cgroup the caller runs in
  std::string describe() const;  ///< "root (uid 0, pid 123)"
};

/// A refusal the caller reads: `name` is a D-Bus error name.
struct ControlError : std::runtime_error {
  ControlError(std::string name, const std::string& message) : std::runtime_error(message), name(std::move(name)) {}
  std::string name;
};
inline constexpr const char* kErrorNoSuchService = "org.medic.Agent1.Error.NoSuchService";
inline constexpr const char* kErrorNoSuchCheck = "org.medic.Agent1.Error.NoSuchCheck";
inline constexpr const char* kErrorRefused = "org.medic.Agent1.Error.Refused";
inline constexpr const char* kErrorInvalidArgs = "org.freedesktop.DBus.Error.InvalidArgs";
inline constexpr const char* kErrorAccessDenied = "org.freedesktop.DBus.Error.AccessDenied";
/// medic's own refusal of a heartbeat, apart from the bus's AccessDenied: its message says who may.
inline constexpr const char* kErrorHeartbeatDenied = "org.medic.Agent1.Error.HeartbeatDenied";

/// What the agent does for each call. Each returns the sentence to print, or throws ControlError.
class ControlHandler {
 public:
  virtual ~ControlHandler() = default;
  /// JSON (docs/status.schema.json): every service, or one with its checks and history.
  virtual std::string status(const std::string& service) = 0;
  virtual std::string pause(const std::string& service, Duration length, const std::string& reason, const Caller& who) = 0;
  virtual std::string resume(const std::string& service, const Caller& who) = 0;
  virtual std::string reset(const std::string& service, const Caller& who) = 0;
  using RecoverDone = std::function<void(bool healed, const std::string& message)>;
  /// Runs the step now; `done` is called once it has been verified (or could not run).
  virtual void recover(const std::string& service, const std::string& step, const Caller& who, RecoverDone done) = 0;
  using DrillDone = std::function<void(bool passed, const std::string& report)>;
  /// A rehearsal (`medic drill`): inject `fault` (kill, stop, check=NAME), wait up to
  /// `within` (zero: from the ladder's own timeouts) for the ladder to heal it; `done` gets
  /// whether it healed in time and the report (JSON).
  virtual void drill(const std::string& service, const std::string& fault, Duration within, const Caller& who, DrillDone done) = 0;
  /// A heartbeat pushed by a service (`medic heartbeat`): open to any caller the bus lets
  /// through; the handler decides who may push which check.
  virtual std::string heartbeat(const std::string& service, const std::string& check, const std::string& status,
                                const std::string& message, const Caller& who) = 0;
};

class ControlServer {
 public:
  /// `busAddress` empty: the system bus.
  ControlServer(EventLoop& loop, const std::string& busAddress, ControlHandler& handler);
  ~ControlServer();
  void start() { bus_.connect(); }

 private:
  void setUp(sdbus::IConnection& connection);
  Caller caller() const;
  Caller requireRoot(const char* what) const;

  ControlHandler& handler_;
  BusConnection bus_;  // declared before the object, so it outlives it
  std::unique_ptr<sdbus::IObject> object_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // answers to Recover outlive nothing
};

}  // namespace medic::control
