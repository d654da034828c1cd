// medic's systemd client against a stand-in for systemd's manager on a private dbus-daemon:
// what it asks of systemd gets there even when the bus or medic goes at the wrong moment.
// (Everything else it does is proven against the real systemd: tests/system/.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sdbus-c++/sdbus-c++.h>

#include <mutex>

#include "harness.h"
#include "runtime/event_loop.h"
#include "strategies/dbus_systemd_client.h"

using namespace medic;
using namespace medic::test;
using namespace std::chrono_literals;

namespace {

// The manager's StopUnit and Subscribe, answered on a thread of its own; the units it was
// asked to stop, in order.
class StandInManager {
 public:
  explicit StandInManager(const std::string& address)
      : connection_(sdbus::createSessionBusConnectionWithAddress(address)) {
    connection_->requestName("org.freedesktop.systemd1");
    object_ = sdbus::createObject(*connection_, "/org/freedesktop/systemd1");
    const char* manager = "org.freedesktop.systemd1.Manager";
    object_->registerMethod("StopUnit").onInterface(manager).implementedAs([this](const std::string& unit, const std::string&) {
      std::lock_guard lock(mutex_);
      stopped_.push_back(unit);
      return sdbus::ObjectPath("/org/freedesktop/systemd1/job/1");
    });
    object_->registerMethod("Subscribe").onInterface(manager).implementedAs([] {});
    object_->finishRegistration();
    connection_->enterEventLoopAsync();
  }
  ~StandInManager() {
    connection_->leaveEventLoop();
    object_.reset();
  }
  std::vector<std::string> stopped() {
    std::lock_guard lock(mutex_);
    return stopped_;
  }

 private:
  std::unique_ptr<sdbus::IConnection> connection_;
  std::unique_ptr<sdbus::IObject> object_;
  std::mutex mutex_;
  std::vector<std::string> stopped_;
};

// A scope's stop asked just before medic goes is not left to a message that may never be
// routed (dbus-daemon drops what a peer sent but it had not yet routed when the peer went):
// by the time the client is gone, systemd has answered it.
TEST(DbusSystemdClient, AStopNotYetAnsweredIsAnsweredBeforeTheClientIsGone) {
  TempDir dir;
  PrivateBus bus(dir);
  StandInManager systemd(bus.address());
  EventLoop loop;
  auto client = std::make_unique<strategies::DbusSystemdClient>(loop, strategies::DbusEndpoint{bus.address()});
  ASSERT_TRUE(client->connect());
  client->stopScope("medic-exec-1.scope");
  client.reset();  // (medic exits: the loop does not run again)
  EXPECT_THAT(systemd.stopped(), testing::Contains("medic-exec-1.scope"));
}

// A stop asked while systemd is out of reach is owed, and asked once the bus is back.
TEST(DbusSystemdClient, AStopAskedWhileSystemdIsOutOfReachIsAskedOnceItIsBack) {
  TempDir dir;
  EventLoop loop;
  strategies::DbusSystemdClient client(loop, strategies::DbusEndpoint{"unix:path=" + dir.file("bus")});
  ASSERT_FALSE(client.connect());  // (no bus yet: it retries in the background)
  client.stopScope("medic-exec-2.scope");
  PrivateBus bus(dir);
  StandInManager systemd(bus.address());
  bool asked = false;
  for (auto deadline = std::chrono::steady_clock::now() + 20s; !asked && std::chrono::steady_clock::now() < deadline;) {
    loop.runOnce(100ms);
    asked = !systemd.stopped().empty();
  }
  EXPECT_THAT(systemd.stopped(), testing::ElementsAre("medic-exec-2.scope"));
}

}  // namespace
