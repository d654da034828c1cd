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
// asked to stop, in order. A stand-in that does not answer keeps each StopUnit unanswered.
enum class Stops { answered, unanswered };

class StandInManager {
 public:
  explicit StandInManager(const std::string& address, Stops stops = Stops::answered)
      : connection_(sdbus::createSessionBusConnectionWithAddress(address)) {
    connection_->requestName("org.freedesktop.systemd1");
    object_ = sdbus::createObject(*connection_, "/org/freedesktop/systemd1");
    const char* manager = "org.freedesktop.systemd1.Manager";
    object_->registerMethod("StopUnit").onInterface(manager).implementedAs(
        [this, stops](sdbus::Result<sdbus::ObjectPath>&& result, const std::string& unit, const std::string&) {
          std::lock_guard lock(mutex_);
          stopped_.push_back(unit);
          if (stops == Stops::answered) result.returnResults(sdbus::ObjectPath("/org/freedesktop/systemd1/job/1"));
          else held_.push_back(std::move(result));
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
  std::vector<sdbus::Result<sdbus::ObjectPath>> held_;
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
  runLoopUntil(loop, [&] { return !systemd.stopped().empty(); }, 20s);
  EXPECT_THAT(systemd.stopped(), testing::ElementsAre("medic-exec-2.scope"));
}

// A stop that systemd never answered is still owed, even though its call ended: when
// systemd goes without answering, dbus-daemon answers for it (NoReply). When the client
// goes, it asks again, and the systemd that is there now answers.
TEST(DbusSystemdClient, AStopAnsweredByTheBusInsteadOfSystemdIsStillOwed) {
  TempDir dir;
  PrivateBus bus(dir);
  auto silent = std::make_unique<StandInManager>(bus.address(), Stops::unanswered);
  EventLoop loop;
  auto client = std::make_unique<strategies::DbusSystemdClient>(loop, strategies::DbusEndpoint{bus.address()});
  ASSERT_TRUE(client->connect());
  client->stopScope("medic-exec-3.scope");
  runLoopUntil(loop, [&] { return !silent->stopped().empty(); }, 20s);
  ASSERT_THAT(silent->stopped(), testing::ElementsAre("medic-exec-3.scope"));

  silent.reset();  // (systemd went without answering: the bus sends the client NoReply)
  // A question asked after that is answered after it too (by the bus: no systemd now), so
  // once its answer is in, the client has had the NoReply.
  bool answered = false;
  client->unitState("medic-exec-3.scope", [&](auto&&...) { answered = true; });
  runLoopUntil(loop, [&] { return answered; }, 20s);
  ASSERT_TRUE(answered);

  StandInManager systemd(bus.address());
  client.reset();  // (medic exits)
  EXPECT_THAT(systemd.stopped(), testing::ElementsAre("medic-exec-3.scope"));
}

}  // namespace
