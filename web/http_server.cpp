#include "web/http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cstring>
#include <string_view>

namespace medic::web {

namespace {

constexpr std::string_view kHtml = "text/html; charset=utf-8";

enum MHD_Result reply(MHD_Connection* connection, unsigned status, std::string_view contentType, const std::string& body,
                      bool head, const char* allow = nullptr) {
  // HEAD: the same headers, no body (libmicrohttpd sends the length of the body it was given).
  MHD_Response* response = MHD_create_response_from_buffer(head ? 0 : body.size(), const_cast<char*>(body.data()),
                                                           MHD_RESPMEM_MUST_COPY);
  if (!response) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, std::string(contentType).c_str());
  MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  if (allow) MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, allow);
  if (contentType == kHtml) {
    // The page runs no script and loads nothing: a message that smuggled markup past the
    // escaping could still do nothing.
    MHD_add_response_header(response, "Content-Security-Policy",
                            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    MHD_add_response_header(response, "Referrer-Policy", "no-referrer");
  }
  enum MHD_Result r = MHD_queue_response(connection, status, response);
  MHD_destroy_response(response);
  return r;
}

constexpr std::string_view kText = "text/plain; charset=utf-8";
constexpr std::string_view kJson = "application/json";
// Prometheus' text exposition format, version 0.0.4.
constexpr std::string_view kMetrics = "text/plain; version=0.0.4; charset=utf-8";

enum MHD_Result route(WebHandler& handler, MHD_Connection* connection, const char* url, bool head);

enum MHD_Result onRequest(void* cls, MHD_Connection* connection, const char* url, const char* method, const char*,
                          const char*, size_t* uploadSize, void** state) {
  auto& handler = *static_cast<WebHandler*>(cls);
  const std::string_view m = method;
  const bool head = m == MHD_HTTP_METHOD_HEAD;
  if (m != MHD_HTTP_METHOD_GET && !head)
    return reply(connection, MHD_HTTP_METHOD_NOT_ALLOWED, kText, "medic's HTTP endpoints are read-only: GET or HEAD\n", false,
                 "GET, HEAD");
  // The first call brings the headers only; a body (a GET may have one) is read and dropped;
  // the answer goes with the last call.
  if (*state == nullptr) {
    *state = connection;
    return MHD_YES;
  }
  if (*uploadSize != 0) {
    *uploadSize = 0;
    return MHD_YES;
  }
  try {
    return route(handler, connection, url, head);
  } catch (const std::exception& e) {
    return reply(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, kText, std::string("medic could not answer: ") + e.what() + "\n", head);
  }
}

enum MHD_Result route(WebHandler& handler, MHD_Connection* connection, const char* url, bool head) {
  const std::string_view path = url;
  if (path == "/" || path == "/index.html") return reply(connection, MHD_HTTP_OK, kHtml, handler.page(), head);
  if (path == "/metrics") return reply(connection, MHD_HTTP_OK, kMetrics, handler.metrics(), head);
  if (path == "/-/healthy") return reply(connection, MHD_HTTP_OK, kText, "medic is healthy\n", head);
  if (path == "/-/ready") {
    bool ready = handler.ready();
    return reply(connection, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, kText,
                 ready ? "medic is ready\n" : "medic is not ready: no configuration running yet\n", head);
  }
  if (path == "/api/v1/status") return reply(connection, MHD_HTTP_OK, kJson, *handler.statusOf(""), head);
  constexpr std::string_view kService = "/api/v1/services/";
  if (path.substr(0, kService.size()) == kService && path.size() > kService.size()) {
    std::string name(path.substr(kService.size()));
    if (auto json = handler.statusOf(name)) return reply(connection, MHD_HTTP_OK, kJson, *json, head);
    return reply(connection, MHD_HTTP_NOT_FOUND, kJson, R"({"error":"no such service"})" "\n", head);
  }
  return reply(connection, MHD_HTTP_NOT_FOUND, kText,
               "not found; medic serves /, /metrics, /api/v1/status, /api/v1/services/NAME, /-/healthy, /-/ready\n", head);
}

}  // namespace

HttpServer::HttpServer(EventLoop& loop, WebHandler& handler, const std::string& address, uint16_t port, ServerLimits limits)
    : loop_(loop), handler_(handler) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    length = sizeof *v4;
  } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    length = sizeof *v6;
    flags |= MHD_USE_IPv6;
  } else {
    throw std::runtime_error("cannot listen on '" + address + "': not an IPv4 or IPv6 address");
  }
  (void)length;
  daemon_ = MHD_start_daemon(
      flags, port, nullptr, nullptr, &onRequest, &handler_,                                 //
      MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&storage),                           //
      MHD_OPTION_CONNECTION_LIMIT, limits.maxConnections,                                    //
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, limits.perAddress,                                 //
      MHD_OPTION_CONNECTION_TIMEOUT, unsigned(std::chrono::ceil<std::chrono::seconds>(limits.idleTimeout).count()),
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, limits.requestMemory,                              //
      MHD_OPTION_LISTEN_BACKLOG_SIZE, 128u,                                                  //
      MHD_OPTION_END);
  if (!daemon_)
    throw std::runtime_error("cannot listen on " + address + ":" + std::to_string(port) +
                             " (in use, or not an address of this host)");
  const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
  port_ = info ? info->port : port;
  int epollFd = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_EPOLL_FD)->epoll_fd;
  io_ = loop_.addIo(epollFd, EPOLLIN, [this](uint32_t) { run(); });
  run();
}

HttpServer::~HttpServer() {
  io_.reset();
  timer_.reset();
  if (daemon_) MHD_stop_daemon(daemon_);
}

void HttpServer::run() {
  MHD_run(daemon_);
  MHD_UNSIGNED_LONG_LONG ms = 0;
  if (MHD_get_timeout(daemon_, &ms) != MHD_YES) {
    timer_.reset();
    return;
  }
  TimePoint when = loop_.now() + std::chrono::milliseconds(ms);
  if (timer_) timer_.rearm(when);
  else timer_ = loop_.addTimer(when, std::chrono::milliseconds(10), [this] { run(); });
}

}  // namespace medic::web
