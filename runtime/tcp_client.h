#pragma once
/// A non-blocking TCP connection to host:port, driven by the loop. A numeric address is
/// connected to at once; a name goes to the resolver first. Each address is tried in turn
/// and the last failure reported. Once connected, one watch on the socket serves every
/// later wait (its events changed in place, never removed and added again).
#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <string>

#include "runtime/duration.h"
#include "runtime/event_loop.h"
#include "runtime/resolver.h"

namespace medic {

/// "[::1]:80" or "127.0.0.1:80" or "example.org:80".
std::string hostPort(const std::string& host, int port);

class TcpClient {
 public:
  /// Connected (`error` empty), or not, with the reason.
  using Connected = std::function<void(const std::string& error)>;

  TcpClient(EventLoop& loop, Resolver& resolver) : loop_(loop), resolver_(resolver) {}
  ~TcpClient();
  TcpClient(const TcpClient&) = delete;
  TcpClient& operator=(const TcpClient&) = delete;

  /// Starts connecting. `connected` may run before connect() returns: a numeric address the
  /// kernel connects (or refuses) at once. Once connected, `ready` runs on the loop each time
  /// the socket has one of the events last asked for by wait().
  void connect(const std::string& host, int port, Connected connected, std::function<void()> ready = nullptr);
  /// Once connected: watch for `events` (EPOLLIN, EPOLLOUT) instead of the earlier ones.
  void wait(uint32_t events);
  /// Hands the connected socket over: this client no longer watches nor closes it.
  int release();
  void close();

  int fd() const { return fd_; }
  bool resolving() const { return lookup_ != 0; }
  bool connected() const { return connected_; }
  /// From connect() until connected, on the monotonic clock.
  Duration connectTime() const { return connectTime_; }

 private:
  void resolved(ResolvedAddresses r);
  void tryNext(const std::string& lastError);
  void established();

  EventLoop& loop_;
  Resolver& resolver_;
  std::string target_;  // host:port, for messages
  Connected onConnected_;
  std::function<void()> onReady_;
  uint64_t lookup_ = 0;
  ResolvedAddresses addresses_;
  size_t next_ = 0;
  int fd_ = -1;
  EventSource watch_;
  bool connected_ = false;
  std::chrono::steady_clock::time_point started_;
  Duration connectTime_{};
};

}  // namespace medic
