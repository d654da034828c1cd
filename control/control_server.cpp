#include "control/control_server.h"

#include "runtime/duration.h"

#include <pwd.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-login.h>

#include <cstdlib>

namespace medic::control {

std::string Caller::describe() const {
  std::string name = "uid " + std::to_string(uid);
  struct passwd pw {};
  struct passwd* found = nullptr;
  char buf[1024];
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found)
    return std::string(found->pw_name) + " (uid " + std::to_string(uid) + ", pid " + std::to_string(pid) + ")";
  return name + " (pid " + std::to_string(pid) + ")";
}

ControlServer::ControlServer(EventLoop& loop, const std::string& busAddress, ControlHandler& handler)
    : handler_(handler),
      bus_(loop, {busAddress, kControlBusName, "the control interface " + std::string(kControlBusName)},
           [this](sdbus::IConnection& c) { setUp(c); }, [this](const std::string&) { object_.reset(); }) {}

ControlServer::~ControlServer() { object_.reset(); }

Caller ControlServer::caller() const {
  const sdbus::Message* m = object_->getCurrentlyProcessedMessage();
  Caller c;
  c.uid = m->getCredsUid();
  c.pid = m->getCredsPid();
  char* unit = nullptr;
  if (c.pid > 0 && sd_pid_get_unit(c.pid, &unit) >= 0 && unit) c.unit = unit;
  free(unit);
  return c;
}

Caller ControlServer::requireRoot(const char* what) const {
  Caller c = caller();
  if (c.uid != 0) {
    spdlog::warn("control: refused {} to {}: only root may change what medic does", what, c.describe());
    throw sdbus::Error(kErrorAccessDenied, std::string("only root may ") + what);
  }
  return c;
}

namespace {
// Runs one call's work, turning a refusal into the D-Bus error the caller sees.
template <typename F>
auto answer(F&& work) {
  try {
    return work();
  } catch (const ControlError& e) {
    throw sdbus::Error(e.name, e.what());
  }
}
}  // namespace

void ControlServer::setUp(sdbus::IConnection& connection) {
  object_ = sdbus::createObject(connection, kControlObjectPath);
  object_->registerMethod("Status")
      .onInterface(kControlInterface)
      .withOutputParamNames("json")
      .implementedAs([this]() { return answer([&] { return handler_.status(""); }); });
  object_->registerMethod("ServiceStatus")
      .onInterface(kControlInterface)
      .withInputParamNames("service")
      .withOutputParamNames("json")
      .implementedAs([this](const std::string& service) { return answer([&] { return handler_.status(service); }); });
  object_->registerMethod("Pause")
      .onInterface(kControlInterface)
      .withInputParamNames("service", "seconds", "reason")
      .withOutputParamNames("message")
      .implementedAs([this](const std::string& service, uint64_t seconds, const std::string& reason) {
        Caller who = requireRoot("pause a service's recovery");
        return answer([&] {
          // What medic accepts is what it can keep: its state file holds a pause up to the
          // longest duration medic reads (a longer one was once accepted, then cost the file).
          constexpr uint64_t kMaxSeconds = uint64_t(std::chrono::duration_cast<std::chrono::seconds>(kMaxDuration).count());
          if (seconds > kMaxSeconds)
            throw ControlError(kErrorInvalidArgs, "a pause may last at most " + std::string(kMaxDurationText) + " (" +
                                                      std::to_string(kMaxSeconds) + " s), not " + std::to_string(seconds) + " s");
          return handler_.pause(service, std::chrono::seconds(seconds), reason, who);
        });
      });
  object_->registerMethod("Resume")
      .onInterface(kControlInterface)
      .withInputParamNames("service")
      .withOutputParamNames("message")
      .implementedAs([this](const std::string& service) {
        Caller who = requireRoot("resume a service's recovery");
        return answer([&] { return handler_.resume(service, who); });
      });
  object_->registerMethod("Reset")
      .onInterface(kControlInterface)
      .withInputParamNames("service")
      .withOutputParamNames("message")
      .implementedAs([this](const std::string& service) {
        Caller who = requireRoot("reset a service's recovery");
        return answer([&] { return handler_.reset(service, who); });
      });
  object_->registerMethod("Recover")
      .onInterface(kControlInterface)
      .withInputParamNames("service", "step")
      .withOutputParamNames("healed", "message")
      .implementedAs([this](sdbus::Result<bool, std::string>&& result, const std::string& service, const std::string& step) {
        Caller who = requireRoot("run a recovery step");
        auto reply = std::make_shared<sdbus::Result<bool, std::string>>(std::move(result));
        try {
          handler_.recover(service, step, who, [reply, alive = std::weak_ptr<int>(alive_)](bool healed, const std::string& message) {
            if (alive.expired()) return;
            try {
              reply->returnResults(healed, message);
            } catch (const sdbus::Error& e) {  // the caller (or the bus) went away meanwhile
              spdlog::warn("control: could not answer Recover: {}", e.getMessage());
            }
          });
        } catch (const ControlError& e) {
          reply->returnError(sdbus::Error(e.name, e.what()));
        }
      });
  object_->registerMethod("Drill")
      .onInterface(kControlInterface)
      .withInputParamNames("service", "fault", "within_ms")
      .withOutputParamNames("passed", "report")
      .implementedAs([this](sdbus::Result<bool, std::string>&& result, const std::string& service, const std::string& fault,
                            uint64_t withinMs) {
        Caller who = requireRoot("run a drill");
        auto reply = std::make_shared<sdbus::Result<bool, std::string>>(std::move(result));
        try {
          handler_.drill(service, fault, std::chrono::milliseconds(std::min<uint64_t>(withinMs, 24ull * 3600 * 1000)), who,
                         [reply, alive = std::weak_ptr<int>(alive_)](bool passed, const std::string& report) {
                           if (alive.expired()) return;
                           try {
                             reply->returnResults(passed, report);
                           } catch (const sdbus::Error& e) {
                             spdlog::warn("control: could not answer Drill: {}", e.getMessage());
                           }
                         });
        } catch (const ControlError& e) {
          reply->returnError(sdbus::Error(e.name, e.what()));
        }
      });
  object_->registerMethod("Heartbeat")
      .onInterface(kControlInterface)
      .withInputParamNames("service", "check", "status", "message")
      .withOutputParamNames("message")
      .implementedAs([this](const std::string& service, const std::string& check, const std::string& status,
                            const std::string& message) {
        Caller who = caller();
        return answer([&] { return handler_.heartbeat(service, check, status, message, who); });
      });
  object_->finishRegistration();
}

}  // namespace medic::control
