#include "runtime/event_loop.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace medic {

namespace {

using std::chrono::duration_cast;
using std::chrono::microseconds;

uint64_t toUsec(TimePoint t) {
  auto us = duration_cast<microseconds>(t.time_since_epoch()).count();
  return us < 0 ? 0 : static_cast<uint64_t>(us);
}

void check(int r, const char* what) {
  if (r < 0) throw std::runtime_error(std::string(what) + ": " + std::strerror(-r));
}

// Callbacks live on the heap as the source's userdata and die with the source.
template <typename F>
void attach(sd_event_source* s, F&& callback) {
  using Fn = std::decay_t<F>;
  auto* fn = new Fn(std::forward<F>(callback));
  sd_event_source_set_userdata(s, fn);
  sd_event_source_set_destroy_callback(s, [](void* p) { delete static_cast<Fn*>(p); });
}

}  // namespace

EventSource& EventSource::operator=(EventSource&& o) noexcept {
  if (this != &o) {
    reset();
    source_ = o.source_;
    o.source_ = nullptr;
  }
  return *this;
}

void EventSource::reset() {
  if (source_) source_ = sd_event_source_disable_unref(source_);
}

void EventSource::rearm(TimePoint when) {
  if (!source_) return;
  sd_event_source_set_time(source_, toUsec(when));
  sd_event_source_set_enabled(source_, SD_EVENT_ONESHOT);
}

void EventSource::disable() {
  if (source_) sd_event_source_set_enabled(source_, SD_EVENT_OFF);
}

void EventSource::setIoEvents(uint32_t events) {
  if (source_) sd_event_source_set_io_events(source_, events);
}

EventLoop::EventLoop() { check(sd_event_new(&event_), "sd_event_new"); }

EventLoop::~EventLoop() {
  for (sd_event_source* s : posted_) sd_event_source_disable_unref(s);
  sd_event_unref(event_);
}

TimePoint EventLoop::now() const {
  uint64_t usec = 0;
  sd_event_now(event_, CLOCK_MONOTONIC, &usec);
  return TimePoint(microseconds(usec));
}

EventSource EventLoop::addTimer(TimePoint when, Duration accuracy, std::function<void()> callback) {
  sd_event_source* s = nullptr;
  uint64_t acc = std::max<uint64_t>(1, duration_cast<microseconds>(accuracy).count());
  check(sd_event_add_time(
            event_, &s, CLOCK_MONOTONIC, toUsec(when), acc,
            [](sd_event_source*, uint64_t, void* p) {
              (*static_cast<std::function<void()>*>(p))();
              return 0;
            },
            nullptr),
        "sd_event_add_time");
  attach(s, std::move(callback));
  return EventSource(s);
}

EventSource EventLoop::addIo(int fd, uint32_t events, std::function<void(uint32_t)> callback) {
  sd_event_source* s = nullptr;
  check(sd_event_add_io(
            event_, &s, fd, events,
            [](sd_event_source*, int, uint32_t revents, void* p) {
              (*static_cast<std::function<void(uint32_t)>*>(p))(revents);
              return 0;
            },
            nullptr),
        "sd_event_add_io");
  attach(s, std::move(callback));
  return EventSource(s);
}

bool EventLoop::finished() const {
  int state = sd_event_get_state(event_);
  return state == SD_EVENT_FINISHED || state == SD_EVENT_EXITING;
}

EventSource EventLoop::addChild(pid_t pid, std::function<void(const siginfo_t&)> callback) {
  sd_event_source* s = nullptr;
  check(sd_event_add_child(
            event_, &s, pid, WEXITED,
            [](sd_event_source*, const siginfo_t* si, void* p) {
              (*static_cast<std::function<void(const siginfo_t&)>*>(p))(*si);
              return 0;
            },
            nullptr),
        "sd_event_add_child");
  attach(s, std::move(callback));
  return EventSource(s);
}

EventSource EventLoop::addSignal(int signal, std::function<void()> callback) {
  sd_event_source* s = nullptr;
  check(sd_event_add_signal(
            event_, &s, signal,
            [](sd_event_source*, const struct signalfd_siginfo*, void* p) {
              (*static_cast<std::function<void()>*>(p))();
              return 0;
            },
            nullptr),
        "sd_event_add_signal");
  attach(s, std::move(callback));
  return EventSource(s);
}

EventSource EventLoop::addExit(std::function<void()> callback) {
  sd_event_source* s = nullptr;
  check(sd_event_add_exit(
            event_, &s,
            [](sd_event_source*, void* p) {
              (*static_cast<std::function<void()>*>(p))();
              return 0;
            },
            nullptr),
        "sd_event_add_exit");
  attach(s, std::move(callback));
  return EventSource(s);
}

void EventLoop::post(std::function<void()> callback) {
  sd_event_source* s = nullptr;
  struct Posted {
    EventLoop* loop;
    std::function<void()> fn;
  };
  check(sd_event_add_defer(
            event_, &s,
            [](sd_event_source* self, void* p) {
              auto* posted = static_cast<Posted*>(p);
              EventLoop* loop = posted->loop;
              sd_event_source_set_enabled(self, SD_EVENT_OFF);
              posted->fn();
              // One shot: release it (sd-event frees it once this dispatch ends).
              loop->posted_.erase(self);
              sd_event_source_disable_unref(self);
              return 0;
            },
            nullptr),
        "sd_event_add_defer");
  attach(s, Posted{this, std::move(callback)});
  posted_.insert(s);
}

void OwnedPosts::post(std::function<void()> callback) {
  loop_.post([owner = std::weak_ptr<char>(alive_), callback = std::move(callback)] {
    if (!owner.expired()) callback();
  });
}

void EventLoop::enableWatchdog() { sd_event_set_watchdog(event_, 1); }

int EventLoop::run() { return sd_event_loop(event_); }

bool EventLoop::runOnce(Duration timeout) {
  int r = sd_event_run(event_, duration_cast<microseconds>(timeout).count());
  return r >= 0 && sd_event_get_state(event_) != SD_EVENT_FINISHED;
}

void EventLoop::exit(int code) { sd_event_exit(event_, code); }

void blockChildSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a probe writing to a closed socket gets EPIPE, not death
}

void blockAgentSignals() {
  blockChildSignals();
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

}  // namespace medic
