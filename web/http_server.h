#pragma once
/// medic's read-only HTTP endpoints, served by libmicrohttpd on the agent's own event loop
/// (its external epoll mode: one fd watched by sd-event, no thread per request):
///   /                       the status page (HTML, no script)
///   /metrics                Prometheus text exposition
///   /api/v1/status          the JSON of `medic status --json` (docs/status.schema.json)
///   /api/v1/services/NAME   the JSON of `medic status NAME --json`
///   /-/healthy, /-/ready    liveness (the loop answers) and readiness (a config is running)
/// GET and HEAD only; everything that changes anything stays on the D-Bus control interface.
/// Optionally TLS (a certificate and key) and basic auth (crypt(3) hashes, as Prometheus'
/// web.config.file has them).
#include <cstdint>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "runtime/background.h"
#include "runtime/duration.h"
#include "runtime/event_loop.h"

struct MHD_Daemon;
struct MHD_Connection;

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
  /// A request must arrive whole within this long of its connection (or of the answer before
  /// it): a client trickling a byte at a time is closed, whatever its idle time says.
  Duration requestTimeout = std::chrono::seconds(10);
  size_t requestMemory = 32 * 1024;    ///< per connection, request line and headers included
};

/// Where and how to serve.
struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;                          ///< 0: any free one
  std::string certPem, keyPem;                ///< TLS when set (PEM text)
  std::map<std::string, std::string> users;   ///< basic auth when not empty: name -> crypt(3) hash
  ServerLimits limits;
};

class HttpServer {
 public:
  /// Listens as `options` say; throws std::runtime_error when it cannot. Passwords are
  /// checked on `background` (a bcrypt hash costs tens of milliseconds: never on the loop);
  /// one that passed is remembered (as a SHA-256) so a scraper costs one check, not one per scrape.
  HttpServer(EventLoop& loop, BackgroundTasks& background, WebHandler& handler, ServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  /// The port it listens on (the one chosen, for port 0).
  uint16_t port() const { return port_; }

  // (libmicrohttpd's callbacks come in through these)
  struct Request;
  int onRequest(MHD_Connection* connection, const char* url, const char* method, size_t* uploadSize, void** state);
  void onConnection(MHD_Connection* connection, bool opened);
  void onAnswered(MHD_Connection* connection, bool keptOpen);

 private:
  void run();  // lets libmicrohttpd do what is ready, then waits for its next timeout
  unsigned connections() const;
  /// Closes the connections whose request has not arrived whole in time, and re-arms for the next.
  void closeLate();
  /// At the connection limit with a client waiting: the connection waiting longest for its
  /// request makes room (a slot for new clients, so slow ones cannot hold them all).
  void makeRoom();
  void hangUp(MHD_Connection* connection);
  /// Basic auth: true when the request may go on now; false when it was answered (401, 503)
  /// or is suspended while its password is checked.
  bool authorised(MHD_Connection* connection, Request& request);
  EventLoop& loop_;
  BackgroundTasks& background_;
  WebHandler& handler_;
  ServerOptions options_;
  MHD_Daemon* daemon_ = nullptr;
  uint16_t port_ = 0;
  EventSource io_, timer_;
  // Connections that owe a whole request, since when (opened, or last answered). They are
  // closed at limits.requestTimeout; at the limit, the oldest makes room for a new client.
  std::map<MHD_Connection*, TimePoint> awaiting_;
  EventSource lateTimer_;
  std::optional<TimePoint> lateAt_;
  int listenFd_ = -1;
  EventSource listenWatch_;  // while at the limit: a new client is waiting
  std::map<std::string, std::string> verified_;  // user -> SHA-256 of the password that passed
  std::set<MHD_Connection*> suspended_;          // waiting for their password check
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace medic::web
