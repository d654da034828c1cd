#include "runtime/tcp_client.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <utility>

namespace medic {

std::string hostPort(const std::string& host, int port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string unbracketed(std::string host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
  return host;
}

TcpEndpoint::TcpEndpoint(std::string host, int port) : host_(std::move(host)), port_(port) {
  ResolvedAddresses numeric = lookup(host_, port_, true);
  if (!numeric.error.empty() || numeric.addresses.empty()) return;
  length_ = std::min<socklen_t>(numeric.lengths[0], sizeof address_);
  std::memcpy(&address_, &numeric.addresses[0], length_);
}

TcpClient::~TcpClient() { close(); }

void TcpClient::close() {
  if (lookup_) resolver_.cancel(std::exchange(lookup_, 0));
  closeSocket();
  phase_ = Phase::idle;
}

void TcpClient::closeSocket() {
  watch_.reset();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

int TcpClient::release() {
  watch_.reset();
  phase_ = Phase::idle;
  return std::exchange(fd_, -1);
}

void TcpClient::connect(const TcpEndpoint& to, std::string_view request, Sent sent, std::function<void()> readable) {
  close();
  started_ = std::chrono::steady_clock::now();
  to_ = &to;
  request_ = request;
  onSent_ = std::move(sent);
  onReadable_ = std::move(readable);
  addresses_ = {};
  next_ = 0;
  if (to.address()) return tryNext(std::string());
  lookup_ = resolver_.resolve(to.host(), to.port(), [this](ResolvedAddresses r) {
    lookup_ = 0;
    resolved(std::move(r));
  });
}

void TcpClient::resolved(ResolvedAddresses r) {
  if (!r.error.empty()) return onSent_(r.error);
  addresses_ = std::move(r);
  tryNext(std::string());
}

// Tries the addresses in order; the last failure is what we report.
void TcpClient::tryNext(const std::string& lastError) {
  closeSocket();
  phase_ = Phase::connecting;
  sentBytes_ = 0;
  // A numeric endpoint is its one address; a name has what the resolver found.
  size_t count = to_->address() ? 1 : addresses_.addresses.size();
  if (next_ >= count) return onSent_("connect to " + to_->text() + " failed: " + lastError);
  const sockaddr* addr = to_->address() ? to_->address() : reinterpret_cast<const sockaddr*>(&addresses_.addresses[next_]);
  socklen_t len = to_->address() ? to_->addressLength() : addresses_.lengths[next_];
  ++next_;
  fd_ = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return tryNext(std::strerror(errno));
  if (::connect(fd_, addr, len) == 0) return connectedNow();
  if (errno != EINPROGRESS) return tryNext(std::strerror(errno));
  sendRest();  // the send tells whether the connection is up
}

void TcpClient::connectedNow() {
  markConnected();
  sendRest();
}

void TcpClient::markConnected() {
  phase_ = Phase::sending;
  connectTime_ = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - started_);
}

// While connecting, a send tells whether the connection is up: bytes (or, with nothing to
// send, a zero-length send) went out, EAGAIN (not yet: wait), or the error that failed it. On
// loopback the handshake is over by the time connect() returns, so a check gets its answer
// with no wait on the loop at all.
void TcpClient::sendRest() {
  while (sentBytes_ < request_.size() || phase_ == Phase::connecting) {
    ssize_t n = ::send(fd_, request_.data() + sentBytes_, request_.size() - sentBytes_, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return watch(EPOLLOUT);  // not up yet, or no room: wait
    if (n < 0 && phase_ == Phase::connecting) return tryNext(std::strerror(errno));  // this address failed
    if (n < 0) return onSent_(std::string("send failed: ") + std::strerror(errno));
    if (phase_ == Phase::connecting) markConnected();  // bytes went out: the connection is up
    sentBytes_ += static_cast<size_t>(n);
  }
  phase_ = Phase::sent;
  if (onReadable_) watch(EPOLLIN);
  else watch_.reset();
  onSent_(std::string());
}

// The socket is writable, or in error. Only an error needs asking which (SO_ERROR).
void TcpClient::writable(uint32_t revents) {
  if (phase_ == Phase::connecting) {
    int err = 0;
    socklen_t errLen = sizeof err;
    if (revents & (EPOLLERR | EPOLLHUP)) getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &errLen);
    return err ? tryNext(std::strerror(err)) : connectedNow();
  }
  sendRest();
}

void TcpClient::watch(uint32_t events) {
  if (watch_) return watch_.setIoEvents(events);
  watch_ = loop_.addIo(fd_, events, [this](uint32_t revents) {
    if (phase_ == Phase::sent) return onReadable_();
    writable(revents);
  });
}

}  // namespace medic
