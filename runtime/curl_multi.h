#pragma once
/// libcurl's multi interface driven by the agent's event loop (socket and timer callbacks),
/// so thousands of HTTP probes share one thread and one connection cache.
#include <curl/curl.h>

#include <functional>
#include <map>
#include <memory>
#include <vector>

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
  /// Starts a handle set up with CURLOPT_CONNECT_ONLY: `connected` runs once the connection
  /// (and its TLS handshake) is up, or has failed. The handle then stays in the multi, since
  /// libcurl closes such a connection when its handle leaves, and the caller talks over it
  /// with curl_easy_send/curl_easy_recv until it calls remove().
  void connect(CURL* easy, std::function<void(CURLcode)> connected);
  void remove(CURL* easy);

  /// An easy handle as curl_easy_init() makes it, but reused: one given back is reset
  /// (curl_easy_reset) and kept for the next transfer, so a check does not pay for a handle's
  /// allocations on every run. Its TLS session cache stays off: a reused handle never resumes
  /// a session a fresh one would not have. Give it back after remove(); never clean it up.
  CURL* takeHandle();
  void giveBack(CURL* easy);

  /// Whether libcurl has been set up: not until a transfer needed it.
  bool started() const { return multi_ != nullptr; }

 private:
  static int onSocket(CURL* easy, curl_socket_t fd, int what, void* self, void* socketData);
  static int onTimer(CURLM* multi, long timeoutMs, void* self);
  CURLM* multi();  // made at the first use
  void action(curl_socket_t fd, int events);
  void collectDone();

  EventLoop& loop_;
  CURLM* multi_ = nullptr;
  EventSource timer_;
  std::map<curl_socket_t, EventSource> sockets_;
  struct Transfer {
    std::function<void(CURLcode)> done;  ///< empty once called
    bool stays = false;                  ///< a CONNECT_ONLY handle: leaves only by remove()
  };
  std::map<CURL*, Transfer> transfers_;
  static constexpr size_t kIdleHandles = 64;  ///< a few are in flight at once, even at 1,000 checks/s
  std::vector<CURL*> idle_;
};

}  // namespace medic
