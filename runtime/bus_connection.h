#pragma once
/// One D-Bus connection driven by the agent's event loop (no sdbus-c++ thread), that
/// survives the bus going away: it says why, tells its owner (who drops its proxies and
/// objects), and reconnects with backoff, calling `onConnected` again so the owner can
/// set them up anew. Used by the systemd client and by the control interface.
#include <sdbus-c++/sdbus-c++.h>

#include <functional>
#include <memory>
#include <string>

#include "runtime/event_loop.h"

namespace medic {

class BusConnection {
 public:
  struct Options {
    std::string address;      ///< empty: the system bus ($DBUS_SYSTEM_BUS_ADDRESS honoured)
    std::string wellKnownName;  ///< requested once connected, if not empty
    std::string purpose;      ///< for the log: "systemd", "the control interface"
  };
  using Connected = std::function<void(sdbus::IConnection&)>;
  using Lost = std::function<void(const std::string& why)>;

  BusConnection(EventLoop& loop, Options options, Connected onConnected, Lost onLost);
  ~BusConnection();
  BusConnection(const BusConnection&) = delete;
  BusConnection& operator=(const BusConnection&) = delete;

  /// Connects now; on failure keeps retrying in the background. Returns whether it connected.
  bool connect();
  sdbus::IConnection* get() const { return connection_.get(); }
  /// Call after queuing a message: sd-bus may now want to write, or wait for a reply.
  void flush() { refreshWatches(); }

 private:
  void drop(const std::string& why);
  void close();
  void scheduleReconnect();
  void pump();
  void refreshWatches();

  EventLoop& loop_;
  Options options_;
  Connected onConnected_;
  Lost onLost_;
  std::unique_ptr<sdbus::IConnection> connection_;
  EventSource io_, timer_, reconnectTimer_;
  Duration backoff_;
  bool connected_ = false;
  int failedTries_ = 0;
  OwnedPosts posts_{loop_};
};

}  // namespace medic
