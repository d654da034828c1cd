#pragma once
/// Name lookups that never block the loop: names go to a small pool of worker threads
/// running getaddrinfo and come back through an eventfd. A numeric address needs none of
/// this: lookup(host, port, true) answers it at once, without a system call.
#include <netdb.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/event_loop.h"

namespace medic {

struct ResolvedAddresses {
  std::vector<sockaddr_storage> addresses;  ///< in getaddrinfo's preference order
  std::vector<socklen_t> lengths;
  std::string error;                        ///< set when the lookup failed
};

class Resolver {
 public:
  using Callback = std::function<void(ResolvedAddresses)>;

  explicit Resolver(EventLoop& loop, int workers = 2);
  ~Resolver();

  /// Looks up host:port (TCP). The callback runs on the loop, never inside resolve(), unless
  /// cancel(id) came first.
  uint64_t resolve(const std::string& host, int port, Callback callback);
  void cancel(uint64_t id);

 private:
  struct Request {
    uint64_t id;
    std::string host;
    int port;
  };
  void work();
  void deliver();
  void answer(uint64_t id, ResolvedAddresses result);  // the callback, unless cancelled

  EventLoop& loop_;
  int workersWanted_;
  int eventFd_ = -1;
  EventSource eventSource_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Request> queue_;
  std::vector<std::pair<uint64_t, ResolvedAddresses>> results_;
  bool stopping_ = false;
  uint64_t nextId_ = 1;
  std::map<uint64_t, Callback> callbacks_;  // loop thread only
};

ResolvedAddresses lookup(const std::string& host, int port, bool numericOnly);

}  // namespace medic
