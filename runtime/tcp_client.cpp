#include "runtime/tcp_client.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace medic {

std::string hostPort(const std::string& host, int port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

TcpClient::~TcpClient() { close(); }

void TcpClient::close() {
  if (lookup_) resolver_.cancel(std::exchange(lookup_, 0));
  watch_.reset();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  connected_ = false;
}

int TcpClient::release() {
  watch_.reset();
  connected_ = false;
  return std::exchange(fd_, -1);
}

void TcpClient::connect(const std::string& host, int port, Connected connected, std::function<void()> ready) {
  close();
  started_ = std::chrono::steady_clock::now();
  target_ = hostPort(host, port);
  onConnected_ = std::move(connected);
  onReady_ = std::move(ready);
  addresses_ = {};
  next_ = 0;
  ResolvedAddresses numeric = lookup(host, port, true);
  if (numeric.error.empty()) return resolved(std::move(numeric));
  lookup_ = resolver_.resolve(host, port, [this](ResolvedAddresses r) {
    lookup_ = 0;
    resolved(std::move(r));
  });
}

void TcpClient::resolved(ResolvedAddresses r) {
  if (!r.error.empty()) return onConnected_(r.error);
  addresses_ = std::move(r);
  tryNext(std::string());
}

// Tries the addresses in order; the last failure is what we report.
void TcpClient::tryNext(const std::string& lastError) {
  watch_.reset();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (next_ >= addresses_.addresses.size()) return onConnected_("connect to " + target_ + " failed: " + lastError);
  const auto& addr = addresses_.addresses[next_];
  socklen_t len = addresses_.lengths[next_];
  ++next_;
  fd_ = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return tryNext(std::strerror(errno));
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), len) == 0) return established();
  if (errno != EINPROGRESS) return tryNext(std::strerror(errno));
  watch_ = loop_.addIo(fd_, EPOLLOUT, [this](uint32_t) {
    if (connected_) return onReady_();
    int err = 0;
    socklen_t errLen = sizeof err;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &errLen);
    if (err != 0) return tryNext(std::strerror(err));
    established();
  });
}

void TcpClient::established() {
  connected_ = true;
  connectTime_ = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - started_);
  onConnected_(std::string());
}

void TcpClient::wait(uint32_t events) {
  if (watch_) return watch_.setIoEvents(events);
  watch_ = loop_.addIo(fd_, events, [this](uint32_t) { onReady_(); });
}

}  // namespace medic
