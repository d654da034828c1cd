// The agent's answers on its read-only HTTP endpoints (web/http_server.h).
#include <spdlog/spdlog.h>

#include "agent/agent.h"
#include "agent/status_page.h"
#include "agent/status_report.h"

namespace medic::agent {

std::string Agent::metrics() {
  AgentFigures figures = figures_;
  if (alerter_) figures.sinks = alerter_->figures();
  figures.lateness = pastHistogram_;
  if (runner_) figures.lateness.add(runner_->latenessHistogram());
  return metricsText(supervisor_, figures);
}

std::string Agent::page() { return statusPage(supervisor_, alerter_ ? alerter_->firing() : std::vector<alerts::Notification>{}); }

std::optional<std::string> Agent::statusOf(const std::string& service) {
  if (!service.empty() && !supervisor_.find(service)) return std::nullopt;
  return statusJson(supervisor_, service, host_.loop.now());
}

bool Agent::ready() { return config_ != nullptr && runner_ != nullptr; }

void Agent::serveHttp() {
  const config::HttpSpec& want = config_->http;
  if (web_ && (!want.enabled || want.address != webAt_.address || want.port != webAt_.port)) {
    web_.reset();
    spdlog::info("no longer serving HTTP on {}:{}", webAt_.address, webAt_.port);
  }
  if (!want.enabled || web_) return;
  try {
    web::WebHandler& answers = *this;
    web_ = std::make_unique<web::HttpServer>(host_.loop, answers, want.address, want.port);
    webAt_ = want;
    spdlog::info("serving the status page, /metrics, /api/v1/status and /-/healthy on http://{}{}{}:{}/", want.address.find(':') != std::string::npos ? "[" : "",
                 want.address, want.address.find(':') != std::string::npos ? "]" : "", web_->port());
  } catch (const std::exception& e) {
    // Observability is not worth an outage: medic checks and recovers without it.
    spdlog::error("cannot serve HTTP: {}; medic runs on without its HTTP endpoints", e.what());
  }
}

}  // namespace medic::agent
