#pragma once
/// libcurl's multi interface driven by the agent's event loop (socket and timer callbacks),
/// so thousands of HTTP probes share one thread and one connection cache.
#include <curl/curl.h>

#include <functional>
#include <map>
#include <memory>

#include "runtime/event_loop.h"

namespace medic {

class CurlMulti {
 public:
  explicit CurlMulti(EventLoop& loop);
  ~CurlMulti();
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;

  /// Starts a configured easy handle; `done` runs on the loop with curl's result code.
  /// The caller keeps owning the handle and must remove() it before cleaning it up.
  void add(CURL* easy, std::function<void(CURLcode)> done);
  void remove(CURL* easy);

 private:
  static int onSocket(CURL* easy, curl_socket_t fd, int what, void* self, void* socketData);
  static int onTimer(CURLM* multi, long timeoutMs, void* self);
  void action(curl_socket_t fd, int events);
  void collectDone();

  EventLoop& loop_;
  CURLM* multi_;
  EventSource timer_;
  std::map<curl_socket_t, EventSource> sockets_;
  std::map<CURL*, std::function<void(CURLcode)>> transfers_;
};

}  // namespace medic
