#pragma once
/// Puts one notification on the wire with libcurl, on the agent's loop: an HTTP(S) POST
/// (webhook, Alertmanager) or an SMTP submission (plain, STARTTLS or implicit TLS, with
/// optional login). Secrets (header_files, password_file) are read from their files at
/// each send and never logged. TLS peers are always verified.
#include <curl/curl.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "runtime/curl_multi.h"
#include "config/spec.h"

namespace medic::alerts {

struct Delivery {
  bool ok = false;
  bool permanent = false;  ///< the receiver refused it for good (HTTP 4xx): retrying cannot help
  std::string message;     ///< "HTTP 202" or what went wrong
  Duration took{};
};

class AlertTransport {
 public:
  using Done = std::function<void(Delivery)>;
  AlertTransport(EventLoop& loop, CurlMulti& curl);
  ~AlertTransport();
  AlertTransport(const AlertTransport&) = delete;
  AlertTransport& operator=(const AlertTransport&) = delete;

  void postJson(const config::SinkSpec& sink, const std::string& url, std::string body, uint64_t notification, Done done);
  void sendMail(const config::SinkSpec& sink, std::string message, Done done);

 private:
  struct Transfer;
  void start(std::unique_ptr<Transfer> t, const config::SinkSpec& sink);
  EventLoop& loop_;
  CurlMulti& curl_;
  std::map<CURL*, std::unique_ptr<Transfer>> transfers_;
};

}  // namespace medic::alerts
