#pragma once
/// medic's read-only HTTP endpoints, served by libmicrohttpd on the agent's own event loop
/// (its external epoll mode: one fd watched by sd-event, no thread per request):
///   /                       the status page (HTML, no script)
///   /metrics                Prometheus text exposition
///   /api/v1/status          the JSON of `medic status --json` (docs/status.schema.json)
///   /api/v1/services/NAME   the JSON of `medic status NAME --json`
///   /-/healthy, /-/ready    liveness (the loop answers) and readiness (a config is running)
/// GET and HEAD only; everything that changes anything stays on the D-Bus control interface.
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "runtime/duration.h"
#include "runtime/event_loop.h"

struct MHD_Daemon;

namespace medic::web {

/// What the agent answers. Each runs on the loop and returns at once.
class WebHandler {
 public:
  virtual ~WebHandler() = default;
  virtual std::string metrics() = 0;
  /// The status page (HTML).
  virtual std::string page() = 0;
  /// Every service (`service` empty) or one; nullopt when there is no such service.
  virtual std::optional<std::string> statusOf(const std::string& service) = 0;
  /// A configuration is running and the agent is checking.
  virtual bool ready() = 0;
};

struct ServerLimits {
  unsigned maxConnections = 64;        ///< at once; more are refused
  unsigned perAddress = 16;            ///< at once from one client address
  Duration idleTimeout = std::chrono::seconds(10);  ///< a connection idle this long is closed
  size_t requestMemory = 32 * 1024;    ///< per connection, request line and headers included
};

class HttpServer {
 public:
  /// Listens on address:port (port 0: any free one); throws std::runtime_error when it cannot.
  HttpServer(EventLoop& loop, WebHandler& handler, const std::string& address, uint16_t port, ServerLimits limits = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  /// The port it listens on (the one chosen, for port 0).
  uint16_t port() const { return port_; }

 private:
  void run();  // lets libmicrohttpd do what is ready, then waits for its next timeout
  EventLoop& loop_;
  WebHandler& handler_;
  MHD_Daemon* daemon_ = nullptr;
  uint16_t port_ = 0;
  EventSource io_, timer_;
};

}  // namespace medic::web
