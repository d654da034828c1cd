#include "web/http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <vector>
#include <string_view>

namespace medic::web {

namespace {

constexpr std::string_view kHtml = "text/html; charset=utf-8";

enum MHD_Result reply(MHD_Connection* connection, unsigned status, std::string_view contentType, const std::string& body,
                      bool head, const char* allow = nullptr) {
  // HEAD: the same headers as GET, Content-Length included; libmicrohttpd sends no body for
  // a HEAD request whatever it was given.
  (void)head;
  MHD_Response* response = MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
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

enum MHD_Result trampoline(void* self, MHD_Connection* connection, const char* url, const char* method, const char*,
                           const char*, size_t* uploadSize, void** state) {
  return static_cast<HttpServer*>(self)->onRequest(connection, url, method, uploadSize, state) ? MHD_YES : MHD_NO;
}

std::string sha256(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), length);
}

bool sameBytes(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
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

struct HttpServer::Request {
  enum class Auth { unchecked, checking, passed, failed } auth = Auth::unchecked;
};

namespace {
void requestCompleted(void* self, MHD_Connection* connection, void** state, enum MHD_RequestTerminationCode how) {
  delete static_cast<HttpServer::Request*>(*state);
  *state = nullptr;
  static_cast<HttpServer*>(self)->onAnswered(connection, how == MHD_REQUEST_TERMINATED_COMPLETED_OK);
}
void connectionNotified(void* self, MHD_Connection* connection, void**, enum MHD_ConnectionNotificationCode code) {
  static_cast<HttpServer*>(self)->onConnection(connection, code == MHD_CONNECTION_NOTIFY_STARTED);
}
}  // namespace

void HttpServer::onConnection(MHD_Connection* connection, bool opened) {
  if (opened) awaiting_[connection] = loop_.now();
  else awaiting_.erase(connection);
}

void HttpServer::onAnswered(MHD_Connection* connection, bool keptOpen) {
  // Kept open for another request: it owes that one whole, in time, as a new connection does.
  if (keptOpen) awaiting_[connection] = loop_.now();
}

void HttpServer::hangUp(MHD_Connection* connection) {
  // libmicrohttpd has no call to close a connection from outside; a shut-down socket reads
  // as closed by the client, and it closes it on its next run.
  const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (info) shutdown(info->connect_fd, SHUT_RDWR);
  awaiting_.erase(connection);
}

void HttpServer::closeLate() {
  TimePoint now = loop_.now();
  std::vector<MHD_Connection*> late;
  for (const auto& [connection, since] : awaiting_)
    if (now - since >= options_.limits.requestTimeout) late.push_back(connection);
  for (MHD_Connection* c : late) hangUp(c);
  if (!late.empty()) MHD_run(daemon_);
}

void HttpServer::makeRoom() {
  auto oldest = std::min_element(awaiting_.begin(), awaiting_.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  if (oldest == awaiting_.end()) {
    listenWatch_.reset();  // every connection is being answered: the new client waits for one to end
    return;
  }
  hangUp(oldest->first);
  run();
}

int HttpServer::onRequest(MHD_Connection* connection, const char* url, const char* method, size_t* uploadSize, void** state) {
  const std::string_view m = method;
  const bool head = m == MHD_HTTP_METHOD_HEAD;
  if (m != MHD_HTTP_METHOD_GET && !head)
    return reply(connection, MHD_HTTP_METHOD_NOT_ALLOWED, kText, "medic's HTTP endpoints are read-only: GET or HEAD\n", false,
                 "GET, HEAD");
  // The first call brings the headers only; a body (a GET may have one) is read and dropped;
  // the answer goes with the last call.
  if (*state == nullptr) {
    awaiting_.erase(connection);  // its request has arrived whole (headers; a body is read and dropped)
    *state = new Request;
    authorised(connection, *static_cast<Request*>(*state));  // (a refusal is answered with the last call)
    return MHD_YES;
  }
  auto& request = *static_cast<Request*>(*state);
  if (*uploadSize != 0) {
    *uploadSize = 0;
    return MHD_YES;
  }
  if (request.auth == Request::Auth::failed) {
    MHD_Response* response = MHD_create_response_from_buffer(0, nullptr, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result r = MHD_queue_basic_auth_fail_response(connection, "medic", response);
    MHD_destroy_response(response);
    return r;
  }
  if (request.auth == Request::Auth::checking) return MHD_YES;  // (not yet: it answers once resumed)
  try {
    return route(handler_, connection, url, head);
  } catch (const std::exception& e) {
    return reply(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, kText, std::string("medic could not answer: ") + e.what() + "\n", head);
  }
}

bool HttpServer::authorised(MHD_Connection* connection, Request& request) {
  if (options_.users.empty()) {
    request.auth = Request::Auth::passed;
    return true;
  }
  char* password = nullptr;
  char* user = MHD_basic_auth_get_username_password(connection, &password);
  std::string name = user ? user : "", given = password ? password : "";
  if (user) MHD_free(user);
  if (password) MHD_free(password);
  auto known = options_.users.find(name);
  if (!user || known == options_.users.end()) {
    request.auth = Request::Auth::failed;
    return false;
  }
  if (auto v = verified_.find(name); v != verified_.end() && sameBytes(v->second, sha256(given))) {
    request.auth = Request::Auth::passed;
    return true;
  }
  // At most two password checks at once: a flood of guesses costs threads, not the loop.
  if (suspended_.size() >= 2) {
    request.auth = Request::Auth::failed;
    return false;
  }
  request.auth = Request::Auth::checking;
  suspended_.insert(connection);
  MHD_suspend_connection(connection);
  std::string hash = known->second;
  background_.run(
      [hash, given] {
        auto data = std::make_unique<crypt_data>();
        const char* out = crypt_r(given.c_str(), hash.c_str(), data.get());
        return std::string(out && out[0] != '*' && sameBytes(out, hash) ? "ok" : "no");
      },
      [this, alive = std::weak_ptr<bool>(alive_), connection, &request, name, given](std::string result) {
        if (alive.expired()) return;
        if (result == "ok") verified_[name] = sha256(given);
        request.auth = result == "ok" ? Request::Auth::passed : Request::Auth::failed;
        suspended_.erase(connection);
        MHD_resume_connection(connection);
        run();
      });
  return false;
}

HttpServer::HttpServer(EventLoop& loop, BackgroundTasks& background, WebHandler& handler, ServerOptions options)
    : loop_(loop), background_(background), handler_(handler), options_(std::move(options)) {
  const std::string& address = options_.address;
  const uint16_t port = options_.port;
  sockaddr_storage storage{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
  } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    flags |= MHD_USE_IPv6;
  } else {
    throw std::runtime_error("cannot listen on '" + address + "': not an IPv4 or IPv6 address");
  }
  const bool tls = !options_.certPem.empty();
  if (tls) flags |= MHD_USE_TLS;
  const ServerLimits& limits = options_.limits;
  // (libmicrohttpd takes its options as a varargs list; TLS's come last, when wanted)
  daemon_ = MHD_start_daemon(
      flags, port, nullptr, nullptr, &trampoline, this,                                      //
      MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&storage),                           //
      MHD_OPTION_NOTIFY_COMPLETED, &requestCompleted, this,                                  //
      MHD_OPTION_NOTIFY_CONNECTION, &connectionNotified, this,                               //
      MHD_OPTION_CONNECTION_LIMIT, limits.maxConnections,                                    //
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, limits.perAddress,                                 //
      MHD_OPTION_CONNECTION_TIMEOUT, unsigned(std::chrono::ceil<std::chrono::seconds>(limits.idleTimeout).count()),
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, limits.requestMemory,                              //
      MHD_OPTION_LISTEN_BACKLOG_SIZE, 128u,                                                  //
      tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, options_.keyPem.c_str(),              //
      MHD_OPTION_HTTPS_MEM_CERT, options_.certPem.c_str(),                                   //
      MHD_OPTION_END);
  if (!daemon_)
    throw std::runtime_error("cannot listen on " + address + ":" + std::to_string(port) +
                             (tls ? " (in use, not an address of this host, or the certificate and key do not load)"
                                  : " (in use, or not an address of this host)"));
  const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
  port_ = info ? info->port : port;
  listenFd_ = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_LISTEN_FD)->listen_fd;
  int epollFd = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_EPOLL_FD)->epoll_fd;
  io_ = loop_.addIo(epollFd, EPOLLIN, [this](uint32_t) { run(); });
  run();
}

HttpServer::~HttpServer() {
  io_.reset();
  timer_.reset();
  lateTimer_.reset();
  listenWatch_.reset();
  alive_.reset();  // password checks still running answer no one
  // libmicrohttpd stops only with no connection suspended: those waiting are let go.
  for (MHD_Connection* c : suspended_) MHD_resume_connection(c);
  if (daemon_) MHD_stop_daemon(daemon_);
}

unsigned HttpServer::connections() const {
  const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
  return info ? info->num_connections : 0;
}

void HttpServer::run() {
  // At its connection limit libmicrohttpd stops watching its listening socket, and watches it
  // again only at the start of a later run: after a run that closed connections, another at
  // once, or clients left waiting in the backlog would wait for ever (nothing else wakes us).
  for (int i = 0; i < 8; ++i) {
    unsigned before = connections();
    MHD_run(daemon_);
    if (connections() >= before) break;
  }
  // Requests owed: the earliest deadline among them.
  if (awaiting_.empty()) {
    lateTimer_.reset();
    lateAt_.reset();
  } else {
    TimePoint first = std::min_element(awaiting_.begin(), awaiting_.end(), [](const auto& a, const auto& b) {
                        return a.second < b.second;
                      })->second + options_.limits.requestTimeout;
    if (lateAt_ != first) {
      lateAt_ = first;
      if (lateTimer_) lateTimer_.rearm(first);
      else lateTimer_ = loop_.addTimer(first, std::chrono::milliseconds(100), [this] {
        lateAt_.reset();
        closeLate();
        run();
      });
    }
  }
  // At the limit, with connections that owe their request: a new client makes room.
  if (connections() >= options_.limits.maxConnections && !awaiting_.empty()) {
    if (!listenWatch_) listenWatch_ = loop_.addIo(listenFd_, EPOLLIN, [this](uint32_t) { makeRoom(); });
  } else {
    listenWatch_.reset();
  }
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
