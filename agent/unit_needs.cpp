#include "agent/unit_needs.h"

#include <systemd/sd-bus.h>

#include <sdbus-c++/sdbus-c++.h>

namespace medic::agent {

namespace {

struct Bus {
  strategies::DbusEndpoint endpoint;
  Duration timeout;
  std::unique_ptr<sdbus::IConnection> connection;
  std::string unreachable;  // why it could not be connected, once tried

  sdbus::IConnection* connect() {
    if (connection || !unreachable.empty()) return connection.get();
    try {
      connection = endpoint.busAddress.empty() ? sdbus::createSystemBusConnection()
                                               : sdbus::createSessionBusConnectionWithAddress(endpoint.busAddress);
    } catch (const sdbus::Error& e) {
      unreachable = e.getMessage();
    }
    return connection.get();
  }

  config::UnitNeeds read(const std::string& unit) {
    if (!connect() || !unreachable.empty()) return {{}, "cannot reach systemd: " + unreachable};
    char* encoded = nullptr;
    sd_bus_path_encode((endpoint.managerPath + "/unit").c_str(), unit.c_str(), &encoded);
    std::string path = encoded ? encoded : "";
    free(encoded);
    std::map<std::string, sdbus::Variant> props;
    try {
      auto proxy = sdbus::createProxy(*connection, endpoint.service, path);
      proxy->callMethod("GetAll")
          .onInterface("org.freedesktop.DBus.Properties")
          .withArguments(std::string("org.freedesktop.systemd1.Unit"))
          .withTimeout(timeout)
          .storeResultsTo(props);
    } catch (const sdbus::Error& e) {
      // No answer in time: systemd is busy or stuck; the next question would wait as long.
      if (e.getName() == "org.freedesktop.DBus.Error.Timeout" || e.getName() == "org.freedesktop.DBus.Error.NoReply")
        unreachable = "no answer within " + formatDuration(timeout);
      return {{}, e.getMessage()};
    }
    auto strings = [&](const char* name) {
      auto it = props.find(name);
      return it != props.end() && it->second.containsValueOfType<std::vector<std::string>>() ? it->second.get<std::vector<std::string>>()
                                                                                          : std::vector<std::string>{};
    };
    auto load = props.find("LoadState");
    std::string loadState = load != props.end() && load->second.containsValueOfType<std::string>() ? load->second.get<std::string>() : "";
    if (loadState != "loaded") return {{}, "its LoadState is " + (loadState.empty() ? std::string("unknown") : loadState)};
    config::UnitNeeds out;
    for (const char* property : {"Requires", "BindsTo", "Requisite"})
      for (auto& need : strings(property)) out.needs.push_back({property, std::move(need)});
    return out;
  }
};

}  // namespace

config::UnitNeedsReader systemdUnitNeeds(const strategies::DbusEndpoint& endpoint, Duration timeout) {
  auto bus = std::make_shared<Bus>(Bus{endpoint, timeout, nullptr, ""});
  return [bus](const std::string& unit) { return bus->read(unit); };
}

}  // namespace medic::agent
