#pragma once
/// medic's read-only HTTP endpoints: the status page, /metrics, /api/v1/status and
/// /-/healthy. Owns the server: started, moved or stopped as the running configuration says.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/metrics.h"
#include "agent/supervisor.h"
#include "alerts/alerter.h"
#include "config/spec.h"
#include "runtime/background.h"
#include "web/http_server.h"

namespace medic::agent {

class WebEndpoints : private web::WebHandler {
 public:
  /// What the answers read besides the supervisor, asked per request.
  struct Sources {
    std::function<AgentFigures()> figures;                      ///< the agent's own, for /metrics
    std::function<std::vector<alerts::Notification>()> firing;  ///< alerts firing, for the page
    std::function<bool()> ready;                                ///< a configuration runs and checks
  };
  WebEndpoints(EventLoop& loop, BackgroundTasks& background, const Supervisor& supervisor, Sources sources);
  ~WebEndpoints() override;
  /// Serves as `want` says: starts, moves (a new address, port or users) or stops the server.
  /// A TLS server starts afresh each time, so that a renewed certificate is taken. A server
  /// that cannot start is logged; medic checks and recovers without it.
  void serve(const config::WebSpec& want);

 private:
  std::string metrics() override;
  std::string page() override;
  std::optional<std::string> statusOf(const std::string& service) override;
  bool ready() override;

  EventLoop& loop_;
  BackgroundTasks& background_;
  const Supervisor& supervisor_;
  Sources sources_;
  std::unique_ptr<web::HttpServer> server_;
  config::WebSpec at_;  // where server_ listens
};

}  // namespace medic::agent
