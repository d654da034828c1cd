#include "agent/web_endpoints.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "agent/status_page.h"
#include "agent/status_report.h"

namespace medic::agent {

WebEndpoints::WebEndpoints(EventLoop& loop, BackgroundTasks& background, const Supervisor& supervisor, Sources sources)
    : loop_(loop), background_(background), supervisor_(supervisor), sources_(std::move(sources)) {}

WebEndpoints::~WebEndpoints() = default;

std::string WebEndpoints::metrics() { return metricsText(supervisor_, sources_.figures()); }

std::string WebEndpoints::page() { return statusPage(supervisor_, sources_.firing()); }

std::optional<std::string> WebEndpoints::statusOf(const std::string& service) {
  if (!service.empty() && !supervisor_.find(service)) return std::nullopt;
  return statusJson(supervisor_, service, loop_.now());
}

bool WebEndpoints::ready() { return sources_.ready(); }

namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

}  // namespace

void WebEndpoints::serve(const config::WebSpec& want) {
  bool same = want.enabled && want.address == at_.address && want.port == at_.port && want.certFile.empty() &&
              at_.certFile.empty() && want.users == at_.users;
  if (server_ && !same) {
    server_.reset();
    spdlog::info("no longer serving HTTP on {}:{}", at_.address, at_.port);
  }
  if (!want.enabled || server_) return;
  try {
    web::ServerOptions options;
    options.address = want.address;
    options.port = want.port;
    options.users = want.users;
    if (!want.certFile.empty()) options.certPem = readFile(want.certFile), options.keyPem = readFile(want.keyFile);
    web::WebHandler& answers = *this;
    server_ = std::make_unique<web::HttpServer>(loop_, background_, answers, std::move(options));
    at_ = want;
    const bool v6 = want.address.find(':') != std::string::npos;
    spdlog::info("serving the status page, /metrics, /api/v1/status and /-/healthy on {}://{}{}{}:{}/{}", want.certFile.empty() ? "http" : "https",
                 v6 ? "[" : "", want.address, v6 ? "]" : "", server_->port(),
                 want.users.empty() ? "" : fmt::format(" (basic auth: {} user{})", want.users.size(), want.users.size() == 1 ? "" : "s"));
  } catch (const std::exception& e) {
    // Observability is not worth an outage: medic checks and recovers without it.
    spdlog::error("cannot serve HTTP: {}; medic runs on without its HTTP endpoints", e.what());
  }
}

}  // namespace medic::agent
