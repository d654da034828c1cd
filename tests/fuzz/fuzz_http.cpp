// medic's HTTP server (status page, /metrics, the status API) given any bytes from a client
// on its port: each input is one connection's bytes. The server must answer or close, never
// crash, hang the loop, or leak the connection.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_support.h"
#include "runtime/background.h"
#include "runtime/event_loop.h"
#include "web/http_server.h"

using namespace medic;
using namespace std::chrono_literals;

namespace {

struct Handler : web::WebHandler {
  std::string metrics() override { return "# TYPE medic_up gauge\nmedic_up 1\n"; }
  std::string page() override { return "<html>ok</html>"; }
  std::optional<std::string> statusOf(const std::string& service) override {
    if (service.empty() || service == "web") return std::string(R"({"services":[]})");
    return std::nullopt;
  }
  bool ready() override { return true; }
};

struct Server {
  EventLoop loop;
  BackgroundTasks background{loop};
  Handler handler;
  web::HttpServer server{loop, background, handler, [] {
                           web::ServerOptions o;
                           o.limits.idleTimeout = 2s;
                           return o;
                         }()};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Server* s = [] {
    spdlog::set_level(spdlog::level::off);
    return new Server;  // lives as long as the fuzzer
  }();
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(s->server.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fuzz::broken("cannot connect");
  // Written while the loop serves, so a server that answers early cannot block the writer.
  // Done when the server closed, or has been quiet for 20 ms after the last byte went (it
  // answered, and keeps the connection for the next request): the client then goes away.
  size_t sent = 0;
  bool closed = false;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  auto quietSince = std::chrono::steady_clock::now();
  char buf[65536];
  while (!closed) {
    auto now = std::chrono::steady_clock::now();
    if (now > deadline) fuzz::broken("the server neither answered nor let go in 5 s");
    if (sent < size) {
      ssize_t n = send(fd, data + sent, size - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) sent += size_t(n), quietSince = now;
      else if (n < 0 && errno != EAGAIN) sent = size;  // the server closed first: fine
    } else if (now - quietSince > 20ms) {
      break;
    }
    s->loop.runOnce(1ms);
    pollfd p{fd, POLLIN, 0};
    while (poll(&p, 1, 0) == 1) {
      ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) {
        closed = true;
        break;
      }
      quietSince = std::chrono::steady_clock::now();
    }
  }
  close(fd);
  for (int i = 0; i < 3; ++i) s->loop.runOnce(0ms);  // the server sees the close and lets the connection go
  return 0;
}
