#include "checks/tcp_check.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <utility>

#include "runtime/curl_multi.h"
#include "runtime/event_loop.h"
#include "runtime/tcp_client.h"
#include "runtime/text.h"
#include "checks/probe_env.h"

namespace medic::checks {

std::string TcpCheck::target() const { return (spec_.tls ? "tls " : "tcp ") + spec_.peer.text(); }

std::vector<ValueInfo> TcpCheck::values() const {
  if (spec_.tls) return {{"connect", "s"}, {"tls", "s"}, {"time", "s"}, {"cert_days", ""}};
  return {{"connect", "s"}, {"time", "s"}};
}

namespace {

/// What a probe does once its request is sent, the same over a plain socket and over TLS:
/// read until the reply matches `expect`, the peer closes, or the read cap is reached.
/// Subclasses connect, send `send` and move bytes.
class Exchange : public Probe {
 public:
  Exchange(const TcpSpec& spec, ProbeEnv& env, ResultCallback done)
      : spec_(spec), env_(env), done_(std::move(done)) {}
  ~Exchange() override { closeSocket(); }
  std::string stage() const override { return stage_; }

 protected:
  enum class Io { moved, again, closed, failed };
  /// Like recv(2) on a non-blocking socket: `n` bytes moved, or again, closed, failed.
  virtual Io recvSome(char* buf, size_t len, size_t& n, std::string& error) = 0;
  virtual std::string connectedMessage() const = 0;

  /// The request is out (`fd_` is the socket to wait on): healthy now, or read the reply.
  void expectReply() {
    if (!spec_.expect) return finish(CheckResult::healthy(connectedMessage()));
    stage_ = "waiting for a reply";
    readReply();
  }

  /// A probe that sends through the exchange's socket itself (TLS) goes on sending here when
  /// the socket has room again.
  virtual void sendMore() {}

  enum class Waiting { toSend, forReply };
  /// Waits for `events` on fd_, then goes on with what was waited for. One watch per fd, its
  /// events changed in place.
  void wait(uint32_t events, Waiting what) {
    waiting_ = what;
    if (io_) return io_.setIoEvents(events);
    io_ = env_.loop.addIo(fd_, events, [this](uint32_t) { waiting_ == Waiting::toSend ? sendMore() : readReply(); });
  }

  void closeSocket() {
    io_.reset();
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  void finish(CheckResult r) {
    closeSocket();
    stage_ = "done";
    if (cert_) {
      r.perfdata.push_back({"cert_days", std::round(cert_->days * 10) / 10, ""});
      if (r.status == Status::healthy)
        if (auto expiring = spec_.cert.judge(*cert_, r.message)) r = {expiring->status, expiring->message, {}, std::move(r.perfdata)};
    }
    auto seconds = [](Duration d) { return std::chrono::duration<double>(d).count(); };
    if (connectTime_) r.perfdata.push_back({"connect", seconds(*connectTime_), "s"});
    if (tlsTime_) r.perfdata.push_back({"tls", seconds(*tlsTime_), "s"});
    r.perfdata.push_back({"time", seconds(std::chrono::steady_clock::now() - started_), "s"});
    if (done_) std::exchange(done_, nullptr)(std::move(r));
  }

  const TcpSpec& spec_;
  ProbeEnv& env_;
  std::string stage_;
  int fd_ = -1;     ///< owned; closed when the probe ends
  // Measured on the monotonic clock itself, not the loop's time of this iteration: the
  // values must add up with libcurl's own timings.
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::optional<Duration> connectTime_, tlsTime_;  ///< measured, once connected
  std::optional<CertExpiry> cert_;                 ///< with TLS, once the handshake is done

 private:
  void readReply() {
    char buf[4096];
    for (;;) {
      size_t n = 0;
      std::string error;
      switch (recvSome(buf, sizeof buf, n, error)) {
        case Io::moved:
          reply_.append(buf, std::min(n, spec_.readCap - reply_.size()));
          if (spec_.expect->search(reply_)) return finish(CheckResult::healthy("reply matches /" + spec_.expect->pattern() + "/"));
          if (reply_.size() >= spec_.readCap)
            return finish(CheckResult::unhealthy("no match for /" + spec_.expect->pattern() + "/ in the first " +
                                                 formatBytes(spec_.readCap) + ": '" + excerpt(reply_) + "'"));
          break;
        case Io::again: return wait(EPOLLIN, Waiting::forReply);
        case Io::closed:
          return finish(CheckResult::unhealthy("connection closed without a reply matching /" + spec_.expect->pattern() +
                                               "/; got '" + excerpt(reply_) + "'"));
        case Io::failed: return finish(CheckResult::unhealthy("read failed: " + error));
      }
    }
  }

  ResultCallback done_;
  EventSource io_;  ///< the one watch on fd_
  Waiting waiting_ = Waiting::forReply;
  std::string reply_;
};

/// Plain TCP: our own non-blocking socket (TcpClient) connects and sends, then the reply is
/// read from it.
class TcpProbe : public Exchange {
 public:
  TcpProbe(const TcpSpec& spec, ProbeEnv& env, ResultCallback done)
      : Exchange(spec, env, std::move(done)), client_(env.loop, env.resolver) {
    stage_ = "connecting";
    client_.connect(spec_.peer, spec_.send, [this](const std::string& error) { sent(error); });
  }

  std::string stage() const override {
    if (client_.resolving()) return "resolving";
    if (client_.connected() && !client_.sent()) return "sending";
    return Exchange::stage();
  }

 private:
  void sent(const std::string& error) {
    if (!error.empty()) return finish(CheckResult::unhealthy(error));
    connectTime_ = client_.connectTime();
    fd_ = client_.release();
    expectReply();
  }

  Io recvSome(char* buf, size_t len, size_t& n, std::string& error) override {
    ssize_t r = ::recv(fd_, buf, len, 0);
    if (r > 0) return n = static_cast<size_t>(r), Io::moved;
    if (r == 0) return Io::closed;
    if (errno == EAGAIN || errno == EINTR) return Io::again;
    error = std::strerror(errno);
    return Io::failed;
  }

  std::string connectedMessage() const override { return "connected to " + spec_.peer.text(); }

  TcpClient client_;
};

/// TLS from the first byte: libcurl connects and shakes hands (CONNECT_ONLY on the shared
/// multi, verified by the same options as an https:// check), then the exchange runs through
/// curl_easy_send/curl_easy_recv. We wait on a duplicate of curl's socket, so our watch never
/// collides with curl's own bookkeeping of that descriptor.
class TlsProbe : public Exchange {
 public:
  TlsProbe(const TcpSpec& spec, ProbeEnv& env, TimePoint deadline, ResultCallback done) : Exchange(spec, env, std::move(done)) {
    stage_ = "connecting";
    easy_ = curl_easy_init();
    url_ = "https://" + spec_.peer.text() + "/";
    curl_easy_setopt(easy_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(easy_, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(easy_, CURLOPT_SSL_ENABLE_ALPN, 0L);  // not HTTP: offer no application protocol
    curl_easy_setopt(easy_, CURLOPT_PROXY, "");            // a tcp check talks to the peer itself, never via a proxy
    curl_easy_setopt(easy_, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_);
    // The runner enforces the deadline; curl's own limit is a backstop just after it.
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - env_.loop.now()).count();
    curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::max<long long>(1, left) + 1000));
    applyTlsOptions(easy_, spec_.tlsOptions);
    curl_easy_setopt(easy_, CURLOPT_SSL_CTX_FUNCTION, &TlsProbe::handshakeBegins);
    curl_easy_setopt(easy_, CURLOPT_SSL_CTX_DATA, this);
    env_.curl.connect(easy_, [this](CURLcode code) { connected(code); });
  }

  ~TlsProbe() override {
    closeSocket();
    env_.curl.remove(easy_);  // closes the connection
    curl_easy_cleanup(easy_);
  }


 private:
  // libcurl sets up the TLS context once the TCP connection is up, just before the handshake.
  static CURLcode handshakeBegins(CURL*, void* sslCtx, void* self) {
    auto* me = static_cast<TlsProbe*>(self);
    me->stage_ = "in the TLS handshake";
    expiryAfterHandshake(sslCtx, &me->cert_);  // the certificates, read as the handshake completes
    return CURLE_OK;
  }

  void connected(CURLcode code) {
    if (code != CURLE_OK)
      return finish(CheckResult::unhealthy("TLS connection to " + spec_.peer.text() + " failed: " + curlError(code)));
    curl_socket_t sock = CURL_SOCKET_BAD;
    curl_easy_getinfo(easy_, CURLINFO_ACTIVESOCKET, &sock);
    if (sock == CURL_SOCKET_BAD || (fd_ = fcntl(sock, F_DUPFD_CLOEXEC, 0)) < 0)
      return finish(CheckResult::unhealthy("TLS connection to " + spec_.peer.text() + " was lost"));
    curl_off_t tcpUs = 0, tlsUs = 0;
    curl_easy_getinfo(easy_, CURLINFO_CONNECT_TIME_T, &tcpUs);
    curl_easy_getinfo(easy_, CURLINFO_APPCONNECT_TIME_T, &tlsUs);
    connectTime_ = std::chrono::microseconds(tcpUs);
    tlsTime_ = std::chrono::microseconds(std::max<curl_off_t>(0, tlsUs - tcpUs));
    sendMore();
  }

  std::string curlError(CURLcode code) const { return sanitizeUtf8(error_[0] ? error_ : curl_easy_strerror(code)); }

  // Sends `send` through the TLS connection, waiting for room when the socket is full.
  void sendMore() override {
    stage_ = "sending";
    while (sent_ < spec_.send.size()) {
      size_t n = 0;
      error_[0] = '\0';
      CURLcode code = curl_easy_send(easy_, spec_.send.data() + sent_, spec_.send.size() - sent_, &n);
      if (code == CURLE_AGAIN) return wait(EPOLLOUT, Waiting::toSend);
      if (code != CURLE_OK) return finish(CheckResult::unhealthy("send failed: " + curlError(code)));
      sent_ += n;
    }
    expectReply();
  }

  Io recvSome(char* buf, size_t len, size_t& n, std::string& error) override {
    error_[0] = '\0';
    CURLcode code = curl_easy_recv(easy_, buf, len, &n);
    if (code == CURLE_OK) return n == 0 ? Io::closed : Io::moved;
    if (code == CURLE_AGAIN) return Io::again;
    error = curlError(code);
    return Io::failed;
  }

  std::string connectedMessage() const override {
    return "TLS connection to " + spec_.peer.text() + (spec_.tlsOptions.insecure ? " (not verified)" : ", certificate verified");
  }

  CURL* easy_ = nullptr;
  std::string url_;
  size_t sent_ = 0;
  char error_[CURL_ERROR_SIZE] = {};
};

}  // namespace

std::unique_ptr<Probe> TcpCheck::start(ProbeEnv& env, TimePoint deadline, ResultCallback done) const {
  if (spec_.tls) return std::make_unique<TlsProbe>(spec_, env, deadline, std::move(done));
  return std::make_unique<TcpProbe>(spec_, env, std::move(done));
}

std::unique_ptr<Check> parseTcpCheck(MapReader& keys, const CheckContext&) {
  TcpSpec spec;
  std::string host;
  int port = 0;
  if (keys.require("host") && keys.read("host", host)) {
    host = unbracketed(std::move(host));
    if (host.empty()) keys.error("host", "'host' must not be empty");
  }
  if (keys.require("port")) keys.read("port", port, 1, 65535);
  spec.peer = TcpEndpoint(std::move(host), port);
  keys.read("send", spec.send);
  std::string pattern;
  if (keys.read("expect", pattern)) {
    std::string error;
    spec.expect = Regex::compile(pattern, error);
    if (!spec.expect) keys.error("expect", "invalid regex " + quoteValue(pattern) + ": " + error);
  }
  keys.read("tls", spec.tls);
  bool tlsOptionKeys = readTlsOptions(keys, spec.tlsOptions);  // both read, so each reports its errors
  bool certKeys = spec.cert.read(keys);
  bool tlsKeys = tlsOptionKeys || certKeys;
  if (tlsKeys && !spec.tls)
    for (const char* key : {"insecure", "ca_file", "client_cert", "client_key", "cert_warn_days", "cert_crit_days"})
      if (keys.has(key)) keys.error(key, std::string("'") + key + "' needs 'tls: true'");
  return std::make_unique<TcpCheck>(std::move(spec));
}

}  // namespace medic::checks
