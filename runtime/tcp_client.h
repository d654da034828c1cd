#pragma once
/// A non-blocking TCP connection to host:port that sends its request, driven by the loop.
/// A numeric address is connected to at once; a name goes to the resolver first. Each
/// address is tried in turn and the last failure reported. The request goes out as soon as
/// connect() returns, without waiting to hear that the connection is up: on loopback it
/// nearly always is, and when it is not the send says so (EAGAIN: wait; an error: that
/// address failed). With nothing to send, a zero-length send asks the same. One watch on
/// the socket serves the whole exchange, its events changed in place.
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "runtime/duration.h"
#include "runtime/event_loop.h"
#include "runtime/resolver.h"

namespace medic {

/// "[::1]:80" or "127.0.0.1:80" or "example.org:80".
std::string hostPort(const std::string& host, int port);
/// A host as written in a URL or beside a port, "[::1]", without its brackets: "::1".
/// Any other host is returned as it is.
std::string unbracketed(std::string host);

/// Where a connection goes: the configured host (a name, or a numeric address, IPv6 without
/// brackets) and port. A numeric host is parsed once, here (at load), so connecting to it
/// needs no lookup and no allocation on each run.
class TcpEndpoint {
 public:
  TcpEndpoint() = default;
  TcpEndpoint(std::string host, int port);
  const std::string& host() const { return host_; }
  int port() const { return port_; }
  /// "[::1]:80", "db.internal:5432": for messages and targets.
  std::string text() const { return hostPort(host_, port_); }
  /// The address, when the host is numeric; null for a name.
  const sockaddr* address() const { return length_ ? &address_.any : nullptr; }
  socklen_t addressLength() const { return length_; }

 private:
  std::string host_;
  int port_ = 0;
  union {
    sockaddr any;
    sockaddr_in v4;
    sockaddr_in6 v6;
  } address_{};
  socklen_t length_ = 0;
};

class TcpClient {
 public:
  /// The request is sent (`error` empty), or the connection or the send failed, with why.
  using Sent = std::function<void(const std::string& error)>;

  TcpClient(EventLoop& loop, Resolver& resolver) : loop_(loop), resolver_(resolver) {}
  ~TcpClient();
  TcpClient(const TcpClient&) = delete;
  TcpClient& operator=(const TcpClient&) = delete;

  /// Connects to `to` and sends `request` (both kept by the caller until `sent` runs;
  /// an empty request: connect only). `sent` may run before connect() returns. Then
  /// `readable` runs on the loop each time the socket has bytes, an end or an error to read.
  void connect(const TcpEndpoint& to, std::string_view request, Sent sent, std::function<void()> readable = nullptr);
  /// Hands the socket over once sent: this client no longer watches nor closes it.
  int release();
  void close();

  int fd() const { return fd_; }
  bool resolving() const { return lookup_ != 0; }
  bool connected() const { return phase_ >= Phase::sending; }
  bool sent() const { return phase_ == Phase::sent; }
  /// From connect() until the connection was known to be up, on the monotonic clock.
  Duration connectTime() const { return connectTime_; }

 private:
  enum class Phase { idle, connecting, sending, sent };
  void resolved(ResolvedAddresses r);
  void tryNext(const std::string& lastError);
  void connectedNow();
  void markConnected();
  void closeSocket();
  void sendRest();
  void writable(uint32_t revents);
  void watch(uint32_t events);

  EventLoop& loop_;
  Resolver& resolver_;
  const TcpEndpoint* to_ = nullptr;
  std::string_view request_;
  size_t sentBytes_ = 0;
  Sent onSent_;
  std::function<void()> onReadable_;
  uint64_t lookup_ = 0;
  ResolvedAddresses addresses_;
  size_t next_ = 0;
  int fd_ = -1;
  EventSource watch_;
  Phase phase_ = Phase::idle;
  std::chrono::steady_clock::time_point started_;
  Duration connectTime_{};
};

}  // namespace medic
