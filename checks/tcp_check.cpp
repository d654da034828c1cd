#include "checks/tcp_check.h"

#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "runtime/event_loop.h"
#include "runtime/resolver.h"
#include "runtime/text.h"
#include "checks/probe_env.h"

namespace medic::checks {

std::string hostPort(const std::string& host, int port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string TcpCheck::target() const { return "tcp " + hostPort(spec_.host, spec_.port); }

namespace {

class TcpProbe : public Probe {
 public:
  TcpProbe(const TcpSpec& spec, ProbeEnv& env, ResultCallback done) : spec_(spec), env_(env), done_(std::move(done)) {
    stage_ = "resolving";
    lookup_ = env_.resolver.resolve(spec_.host, spec_.port, [this](ResolvedAddresses r) { resolved(std::move(r)); });
  }

  ~TcpProbe() override {
    env_.resolver.cancel(lookup_);
    closeSocket();
  }

  std::string stage() const override { return stage_; }

 private:
  void resolved(ResolvedAddresses r) {
    if (!r.error.empty()) return finish(CheckResult::unhealthy(r.error));
    addresses_ = std::move(r);
    tryNext(std::string());
  }

  // Tries the addresses in order; the last failure is what we report.
  void tryNext(const std::string& lastError) {
    closeSocket();
    if (next_ >= addresses_.addresses.size())
      return finish(CheckResult::unhealthy("connect to " + hostPort(spec_.host, spec_.port) + " failed: " + lastError));
    const auto& addr = addresses_.addresses[next_];
    socklen_t len = addresses_.lengths[next_];
    ++next_;
    fd_ = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return tryNext(std::strerror(errno));
    stage_ = "connecting";
    if (connect(fd_, reinterpret_cast<const sockaddr*>(&addr), len) == 0) return connected();
    if (errno != EINPROGRESS) return tryNext(std::strerror(errno));
    io_ = env_.loop.addIo(fd_, EPOLLOUT, [this](uint32_t) {
      int err = 0;
      socklen_t errLen = sizeof err;
      getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &errLen);
      if (err != 0) return tryNext(std::strerror(err));
      connected();
    });
  }

  void connected() {
    if (!spec_.send.empty()) {
      stage_ = "sending";
      ssize_t n = ::send(fd_, spec_.send.data(), spec_.send.size(), MSG_NOSIGNAL);
      if (n < 0) return finish(CheckResult::unhealthy(std::string("send failed: ") + std::strerror(errno)));
      // Probe payloads are small; a partial send into an empty socket buffer is not expected.
      if (static_cast<size_t>(n) < spec_.send.size()) return finish(CheckResult::unhealthy("send was cut short"));
    }
    if (!spec_.expect) return finish(CheckResult::healthy("connected to " + hostPort(spec_.host, spec_.port)));
    stage_ = "waiting for a reply";
    io_.reset();  // one watch per fd: drop the connect watch before adding the read watch
    io_ = env_.loop.addIo(fd_, EPOLLIN, [this](uint32_t) { readable(); });
  }

  void readable() {
    char buf[4096];
    for (;;) {
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        reply_.append(buf, std::min<size_t>(n, spec_.readCap - reply_.size()));
        if (spec_.expect->search(reply_)) return finish(CheckResult::healthy("reply matches /" + spec_.expect->pattern() + "/"));
        if (reply_.size() >= spec_.readCap)
          return finish(CheckResult::unhealthy("no match for /" + spec_.expect->pattern() + "/ in the first " +
                                               formatBytes(spec_.readCap) + ": '" + excerpt(reply_) + "'"));
        continue;
      }
      if (n == 0)
        return finish(CheckResult::unhealthy("connection closed without a reply matching /" + spec_.expect->pattern() +
                                             "/; got '" + excerpt(reply_) + "'"));
      if (errno == EAGAIN || errno == EINTR) return;
      return finish(CheckResult::unhealthy(std::string("read failed: ") + std::strerror(errno)));
    }
  }

  void closeSocket() {
    io_.reset();
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  void finish(CheckResult r) {
    closeSocket();
    stage_ = "done";
    if (done_) std::exchange(done_, nullptr)(std::move(r));
  }

  const TcpSpec& spec_;
  ProbeEnv& env_;
  ResultCallback done_;
  uint64_t lookup_ = 0;
  ResolvedAddresses addresses_;
  size_t next_ = 0;
  int fd_ = -1;
  EventSource io_;
  std::string reply_;
  std::string stage_;
};

}  // namespace

std::unique_ptr<Probe> TcpCheck::start(ProbeEnv& env, TimePoint, ResultCallback done) const {
  return std::make_unique<TcpProbe>(spec_, env, std::move(done));
}

std::unique_ptr<Check> parseTcpCheck(MapReader& keys) {
  TcpSpec spec;
  if (keys.require("host") && keys.read("host", spec.host)) {
    if (spec.host.size() > 2 && spec.host.front() == '[' && spec.host.back() == ']')
      spec.host = spec.host.substr(1, spec.host.size() - 2);
    if (spec.host.empty()) keys.error("host", "'host' must not be empty");
  }
  if (keys.require("port")) keys.read("port", spec.port, 1, 65535);
  keys.read("send", spec.send);
  std::string pattern;
  if (keys.read("expect", pattern)) {
    std::string error;
    spec.expect = Regex::compile(pattern, error);
    if (!spec.expect) keys.error("expect", "invalid regex " + quoteValue(pattern) + ": " + error);
  }
  return std::make_unique<TcpCheck>(std::move(spec));
}

}  // namespace medic::checks
