#include "runtime/curl_multi.h"

#include <sys/epoll.h>

#include <stdexcept>
#include <utility>

namespace medic {

CurlMulti::CurlMulti(EventLoop& loop) : loop_(loop) {}

// libcurl, and the TLS library it starts, are set up at the first transfer, not before: an
// agent whose checks are all plain http, tcp or local never touches them (about 3 MB of
// libcrypto's pages stay out of its memory).
CURLM* CurlMulti::multi() {
  if (multi_) return multi_;
  static const bool initialized = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  if (!initialized) throw std::runtime_error("curl_global_init failed");
  multi_ = curl_multi_init();
  if (!multi_) throw std::runtime_error("curl_multi_init failed");
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlMulti::onSocket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlMulti::onTimer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  return multi_;
}

CurlMulti::~CurlMulti() {
  for (auto& [easy, transfer] : transfers_) curl_multi_remove_handle(multi_, easy);
  sockets_.clear();
  if (multi_) curl_multi_cleanup(multi_);
  for (CURL* easy : idle_) curl_easy_cleanup(easy);
}

CURL* CurlMulti::takeHandle() {
  CURL* easy = nullptr;
  multi();  // libcurl set up before its first handle
  if (idle_.empty()) {
    easy = curl_easy_init();
    if (!easy) throw std::runtime_error("curl_easy_init failed");
  } else {
    easy = idle_.back();
    idle_.pop_back();
  }
  curl_easy_setopt(easy, CURLOPT_SSL_SESSIONID_CACHE, 0L);
  return easy;
}

void CurlMulti::giveBack(CURL* easy) {
  if (!easy) return;
  if (idle_.size() >= kIdleHandles) return curl_easy_cleanup(easy);
  curl_easy_reset(easy);
  idle_.push_back(easy);
}

void CurlMulti::add(CURL* easy, std::function<void(CURLcode)> done) {
  transfers_[easy] = {std::move(done), false};
  curl_multi_add_handle(multi(), easy);
}

void CurlMulti::connect(CURL* easy, std::function<void(CURLcode)> connected) {
  transfers_[easy] = {std::move(connected), true};
  curl_multi_add_handle(multi(), easy);
}

void CurlMulti::remove(CURL* easy) {
  if (transfers_.erase(easy)) curl_multi_remove_handle(multi_, easy);
}

int CurlMulti::onSocket(CURL*, curl_socket_t fd, int what, void* self, void*) {
  auto* me = static_cast<CurlMulti*>(self);
  if (what == CURL_POLL_REMOVE) {
    me->sockets_.erase(fd);
    return 0;
  }
  uint32_t events = (what & CURL_POLL_IN ? uint32_t(EPOLLIN) : 0u) | (what & CURL_POLL_OUT ? uint32_t(EPOLLOUT) : 0u);
  auto it = me->sockets_.find(fd);
  if (it != me->sockets_.end()) {
    it->second.setIoEvents(events);
  } else {
    me->sockets_.emplace(fd, me->loop_.addIo(fd, events, [me, fd](uint32_t revents) {
      int flags = (revents & EPOLLIN ? CURL_CSELECT_IN : 0) | (revents & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                  (revents & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
      me->action(fd, flags);
    }));
  }
  return 0;
}

int CurlMulti::onTimer(CURLM*, long timeoutMs, void* self) {
  auto* me = static_cast<CurlMulti*>(self);
  if (timeoutMs < 0) {
    me->timer_.disable();
    return 0;
  }
  // Never call back into curl from here: fire from the loop instead.
  TimePoint when = me->loop_.now() + std::chrono::milliseconds(timeoutMs);
  if (me->timer_) me->timer_.rearm(when);
  else me->timer_ = me->loop_.addTimer(when, std::chrono::milliseconds(1), [me] { me->action(CURL_SOCKET_TIMEOUT, 0); });
  return 0;
}

void CurlMulti::action(curl_socket_t fd, int events) {
  int running = 0;
  curl_multi_socket_action(multi_, fd, events, &running);
  collectDone();
}

void CurlMulti::collectDone() {
  int pending = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &pending)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    CURLcode result = msg->data.result;
    auto it = transfers_.find(easy);
    if (it == transfers_.end() || !it->second.done) continue;
    auto done = std::exchange(it->second.done, nullptr);
    if (!it->second.stays) {
      transfers_.erase(it);
      curl_multi_remove_handle(multi_, easy);
    }
    done(result);  // may destroy the probe and clean up `easy`
  }
}

}  // namespace medic
