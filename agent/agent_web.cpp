// The agent's answers on its read-only HTTP endpoints (web/http_server.h).
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <fstream>

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

namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

}  // namespace

void Agent::serveHttp() {
  const config::WebSpec& want = config_->http;
  // A reload with TLS starts the server afresh, so a renewed certificate is taken.
  bool same = want.enabled && want.address == webAt_.address && want.port == webAt_.port && want.certFile.empty() &&
              webAt_.certFile.empty() && want.users == webAt_.users;
  if (web_ && !same) {
    web_.reset();
    spdlog::info("no longer serving HTTP on {}:{}", webAt_.address, webAt_.port);
  }
  if (!want.enabled || web_) return;
  try {
    web::ServerOptions options;
    options.address = want.address;
    options.port = want.port;
    options.users = want.users;
    if (!want.certFile.empty()) options.certPem = readFile(want.certFile), options.keyPem = readFile(want.keyFile);
    web::WebHandler& answers = *this;
    web_ = std::make_unique<web::HttpServer>(host_.loop, background_, answers, std::move(options));
    webAt_ = want;
    const bool v6 = want.address.find(':') != std::string::npos;
    spdlog::info("serving the status page, /metrics, /api/v1/status and /-/healthy on {}://{}{}{}:{}/{}", want.certFile.empty() ? "http" : "https",
                 v6 ? "[" : "", want.address, v6 ? "]" : "", web_->port(),
                 want.users.empty() ? "" : fmt::format(" (basic auth: {} user{})", want.users.size(), want.users.size() == 1 ? "" : "s"));
  } catch (const std::exception& e) {
    // Observability is not worth an outage: medic checks and recovers without it.
    spdlog::error("cannot serve HTTP: {}; medic runs on without its HTTP endpoints", e.what());
  }
}

}  // namespace medic::agent
