#include "runtime/bus_connection.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>

namespace medic {

using namespace std::chrono_literals;

namespace {
constexpr Duration kFirstBackoff = 500ms;
constexpr Duration kMaxBackoff = 30s;
}  // namespace

BusConnection::BusConnection(EventLoop& loop, Options options, Connected onConnected, Lost onLost)
    : loop_(loop),
      options_(std::move(options)),
      onConnected_(std::move(onConnected)),
      onLost_(std::move(onLost)),
      backoff_(kFirstBackoff) {}

BusConnection::~BusConnection() { close(); }

void BusConnection::close() {
  io_.reset();
  timer_.reset();
  connection_.reset();
}

bool BusConnection::connect() {
  try {
    connection_ = options_.address.empty() ? sdbus::createSystemBusConnection()
                                           : sdbus::createSessionBusConnectionWithAddress(options_.address);
    if (!options_.wellKnownName.empty()) connection_->requestName(options_.wellKnownName);
    onConnected_(*connection_);
    connected_ = true;
    backoff_ = kFirstBackoff;
    refreshWatches();
    spdlog::info("connected to {} on the {} bus", options_.purpose, options_.address.empty() ? "system" : options_.address);
    failedTries_ = 0;
    return true;
  } catch (const sdbus::Error& e) {
    std::string why = "cannot connect to " + options_.purpose + ": " + e.getMessage();
    if (!options_.wellKnownName.empty() && e.getMessage().find("Permission denied") != std::string::npos)
      why += " (the bus policy for " + options_.wellKnownName + " is not installed, or not read yet)";
    drop(why);
    return false;
  }
}

void BusConnection::drop(const std::string& why) {
  bool wasConnected = connected_;
  connected_ = false;
  // The owner's proxies and objects go before the connection they use.
  onLost_(why);
  close();
  // Said once; the retries that follow (backing off to every 30s) only at debug level.
  if (wasConnected) spdlog::error("lost the connection to {}: {}; reconnecting", options_.purpose, why);
  else spdlog::log(failedTries_++ == 0 ? spdlog::level::warn : spdlog::level::debug, "{}; retrying in {}", why,
                   formatDuration(backoff_));
  scheduleReconnect();
}

void BusConnection::scheduleReconnect() {
  reconnectTimer_ = loop_.addTimer(loop_.now() + backoff_, 50ms, [this] {
    reconnectTimer_.reset();
    backoff_ = std::min(backoff_ * 2, kMaxBackoff);
    connect();
  });
}

void BusConnection::pump() {
  if (!connection_) return;
  try {
    while (connection_ && connection_->processPendingRequest()) {
    }
  } catch (const sdbus::Error& e) {
    // Dropping the bus from inside one of its own callbacks is not safe; do it next turn,
    // and stop listening meanwhile (the fd would keep the loop spinning).
    io_.disable();
    timer_.disable();
    posts_.post([this, why = e.getMessage()] {
      if (connection_) drop(why);
    });
    return;
  }
  refreshWatches();
}

void BusConnection::refreshWatches() {
  if (!connection_) return;
  auto poll = connection_->getEventLoopPollData();
  uint32_t events = (poll.events & POLLIN ? uint32_t(EPOLLIN) : 0u) | (poll.events & POLLOUT ? uint32_t(EPOLLOUT) : 0u);
  if (!io_) io_ = loop_.addIo(poll.fd, events, [this](uint32_t revents) {
    if (revents & (EPOLLHUP | EPOLLERR)) {
      io_.disable();
      posts_.post([this] {
        if (connection_) drop("the bus closed the connection");
      });
      return;
    }
    pump();
  });
  else io_.setIoEvents(events);
  if (poll.timeout_usec == UINT64_MAX) {
    timer_.disable();
  } else {
    TimePoint when{std::chrono::microseconds(poll.timeout_usec)};
    if (timer_) timer_.rearm(when);
    else timer_ = loop_.addTimer(when, 1ms, [this] { pump(); });
  }
}

}  // namespace medic
