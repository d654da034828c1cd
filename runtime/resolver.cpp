#include "runtime/resolver.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>

namespace medic {

ResolvedAddresses lookup(const std::string& host, int port, bool numericOnly) {
  ResolvedAddresses out;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (numericOnly ? AI_NUMERICHOST : AI_ADDRCONFIG);
  addrinfo* list = nullptr;
  std::string service = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
  if (rc != 0) {
    out.error = std::string("cannot resolve '") + host + "': " + gai_strerror(rc);
    return out;
  }
  for (addrinfo* a = list; a; a = a->ai_next) {
    sockaddr_storage s{};
    std::memcpy(&s, a->ai_addr, a->ai_addrlen);
    out.addresses.push_back(s);
    out.lengths.push_back(a->ai_addrlen);
  }
  freeaddrinfo(list);
  return out;
}

Resolver::Resolver(EventLoop& loop, int workers) : loop_(loop), workersWanted_(workers) {
  eventFd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  eventSource_ = loop_.addIo(eventFd_, EPOLLIN, [this](uint32_t) { deliver(); });
}

Resolver::~Resolver() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
  eventSource_.reset();
  close(eventFd_);
}

uint64_t Resolver::resolve(const std::string& host, int port, Callback callback) {
  uint64_t id = nextId_++;
  callbacks_[id] = std::move(callback);
  {
    std::lock_guard lock(mutex_);
    queue_.push_back({id, host, port});
    // Threads start on first use: an agent with only numeric targets never has any.
    if (static_cast<int>(workers_.size()) < workersWanted_ && queue_.size() > 0)
      workers_.emplace_back([this] { work(); });
  }
  wake_.notify_one();
  return id;
}

void Resolver::cancel(uint64_t id) { callbacks_.erase(id); }

void Resolver::work() {
  for (;;) {
    Request r;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      r = std::move(queue_.front());
      queue_.pop_front();
    }
    ResolvedAddresses result = lookup(r.host, r.port, false);
    std::lock_guard lock(mutex_);
    results_.emplace_back(r.id, std::move(result));
    uint64_t one = 1;
    (void)!write(eventFd_, &one, sizeof one);
  }
}

void Resolver::deliver() {
  uint64_t count = 0;
  (void)!read(eventFd_, &count, sizeof count);
  std::vector<std::pair<uint64_t, ResolvedAddresses>> ready;
  {
    std::lock_guard lock(mutex_);
    ready.swap(results_);
  }
  for (auto& [id, result] : ready) answer(id, std::move(result));
}

void Resolver::answer(uint64_t id, ResolvedAddresses result) {
  auto it = callbacks_.find(id);
  if (it == callbacks_.end()) return;  // cancelled
  auto callback = std::move(it->second);
  callbacks_.erase(it);
  callback(std::move(result));
}

}  // namespace medic
