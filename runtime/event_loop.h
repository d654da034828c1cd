#pragma once
/// A thin C++ face on sd-event: timers (with an accuracy window so nearby deadlines share
/// one wake-up), fd watches, child watches, signals. One loop runs the whole agent; every
/// callback runs on it, so nothing inside needs locks.
#include <systemd/sd-event.h>
#include <sys/types.h>
#include <signal.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <set>

#include "runtime/duration.h"

namespace medic {

/// An event source; destroying it disables and releases it (its callback never runs after).
class EventSource {
 public:
  EventSource() = default;
  explicit EventSource(sd_event_source* s) : source_(s) {}
  EventSource(EventSource&& o) noexcept : source_(o.source_) { o.source_ = nullptr; }
  EventSource& operator=(EventSource&& o) noexcept;
  EventSource(const EventSource&) = delete;
  EventSource& operator=(const EventSource&) = delete;
  ~EventSource() { reset(); }

  void reset();
  explicit operator bool() const { return source_ != nullptr; }
  /// Re-arms a timer source for one more shot at `when`.
  void rearm(TimePoint when);
  void disable();
  /// Changes the events an io source waits for (EPOLLIN/EPOLLOUT).
  void setIoEvents(uint32_t events);
  sd_event_source* raw() const { return source_; }

 private:
  sd_event_source* source_ = nullptr;
};

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  /// The time of the current loop iteration (CLOCK_MONOTONIC, same as steady_clock): every
  /// callback of one iteration sees the same `now`.
  TimePoint now() const;

  /// One-shot timer; fires somewhere in [when, when + accuracy].
  EventSource addTimer(TimePoint when, Duration accuracy, std::function<void()> callback);
  EventSource addIo(int fd, uint32_t events, std::function<void(uint32_t revents)> callback);
  /// Watches a direct child (WEXITED); the loop reaps it after the callback returns.
  /// SIGCHLD must be blocked (blockChildSignals()).
  EventSource addChild(pid_t pid, std::function<void(const siginfo_t&)> callback);
  /// The signal must be blocked (blockAgentSignals()).
  EventSource addSignal(int signal, std::function<void()> callback);
  /// Runs callback when the loop exits (exit() called), before run() returns: the last
  /// moment the loop's owners are all still there. Nothing it queues is sent by the loop.
  EventSource addExit(std::function<void()> callback);
  /// Runs callback once on a later iteration (fire and forget). Use it to tear down an
  /// object from inside one of its own callbacks. A callback that uses an object which may
  /// be gone by then (it captures `this`) is posted through that object's OwnedPosts.
  void post(std::function<void()> callback);
  /// Enables systemd's watchdog keep-alive from inside the loop when WATCHDOG_USEC is set.
  void enableWatchdog();

  int run();
  /// Runs one iteration, waiting at most `timeout`; returns false once the loop has exited.
  bool runOnce(Duration timeout);
  void exit(int code = 0);
  /// The loop has finished running: it takes no new sources.
  bool finished() const;

  sd_event* raw() const { return event_; }

 private:
  sd_event* event_ = nullptr;
  std::set<sd_event_source*> posted_;  // posted one-shots not yet run
};

/// Posts made on behalf of one object, held as its member: a callback still waiting its
/// turn when the object is destroyed never runs. Every post that captures `this` goes
/// through one, since the loop may serve it after a reload or a reconnect replaced the object.
class OwnedPosts {
 public:
  explicit OwnedPosts(EventLoop& loop) : loop_(loop) {}
  OwnedPosts(const OwnedPosts&) = delete;
  OwnedPosts& operator=(const OwnedPosts&) = delete;

  void post(std::function<void()> callback);

 private:
  EventLoop& loop_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();  // posted callbacks hold it weakly
};

/// Blocks SIGCHLD (and ignores SIGPIPE) in the calling thread and every thread it creates
/// later, so the loop can watch children. Every command calls it before any thread starts.
void blockChildSignals();
/// blockChildSignals() and SIGTERM, SIGINT, SIGHUP too, which the agent takes as events.
/// Only the agent: a short-lived command must still die of SIGTERM or Ctrl-C.
void blockAgentSignals();

}  // namespace medic
