#include "alerts/alert_transport.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include "runtime/text.h"
#include "version.h"

namespace medic::alerts {

struct AlertTransport::Transfer {
  CURL* easy = curl_easy_init();
  curl_slist* headers = nullptr;
  curl_slist* recipients = nullptr;
  std::string body;         // POST body, or the message read by onRead
  size_t sent = 0;
  std::string response;     // the first KiB, for the log
  std::string password;
  char error[CURL_ERROR_SIZE] = {};
  bool smtp = false;
  TimePoint started;
  Done done;

  ~Transfer() {
    curl_slist_free_all(headers);
    curl_slist_free_all(recipients);
    curl_easy_cleanup(easy);
  }
  static size_t onResponse(char* data, size_t size, size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    t->response.append(data, std::min(size * n, size_t(1024) - std::min<size_t>(1024, t->response.size())));
    return size * n;
  }
  static size_t onRead(char* buffer, size_t size, size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    size_t len = std::min(size * n, t->body.size() - t->sent);
    std::memcpy(buffer, t->body.data() + t->sent, len);
    t->sent += len;
    return len;
  }
};

namespace {

// A secret's file: its first line, without the line end.
std::optional<std::string> readSecret(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

}  // namespace

AlertTransport::AlertTransport(EventLoop& loop, CurlMulti& curl) : loop_(loop), curl_(curl) {}

AlertTransport::~AlertTransport() {
  for (auto& [easy, t] : transfers_) curl_.remove(easy);
}

void AlertTransport::postJson(const config::SinkSpec& sink, const std::string& url, std::string body,
                              uint64_t notification, Done done) {
  auto t = std::make_unique<Transfer>();
  t->body = std::move(body);
  t->done = std::move(done);
  t->headers = curl_slist_append(t->headers, "Content-Type: application/json");
  t->headers = curl_slist_append(t->headers, ("X-Medic-Notification-Id: " + std::to_string(notification)).c_str());
  for (const auto& [name, value] : sink.headers) t->headers = curl_slist_append(t->headers, (name + ": " + value).c_str());
  for (const auto& [name, path] : sink.headerFiles) {
    auto secret = readSecret(path);
    if (!secret) {
      Delivery d{false, false, "cannot read the header file for " + name + ": " + path, {}};
      return loop_.post([d, done = std::move(t->done)] { done(d); });
    }
    t->headers = curl_slist_append(t->headers, (name + ": " + *secret).c_str());
  }
  curl_easy_setopt(t->easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers);
  curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(t->body.size()));
  curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, t->body.c_str());
  start(std::move(t), sink);
}

void AlertTransport::sendMail(const config::SinkSpec& sink, std::string message, Done done) {
  auto t = std::make_unique<Transfer>();
  t->smtp = true;
  t->body = std::move(message);
  t->done = std::move(done);
  for (const auto& to : sink.to) t->recipients = curl_slist_append(t->recipients, ("<" + to + ">").c_str());
  curl_easy_setopt(t->easy, CURLOPT_URL, sink.url.c_str());
  curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(t->easy, CURLOPT_MAIL_FROM, ("<" + sink.from + ">").c_str());
  curl_easy_setopt(t->easy, CURLOPT_MAIL_RCPT, t->recipients);
  curl_easy_setopt(t->easy, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(t->easy, CURLOPT_READFUNCTION, &Transfer::onRead);
  curl_easy_setopt(t->easy, CURLOPT_READDATA, t.get());
  curl_easy_setopt(t->easy, CURLOPT_INFILESIZE, static_cast<long>(t->body.size()));
  // smtp:// with STARTTLS required (the default): never send an alert, or a password, in clear.
  if (sink.url.rfind("smtp://", 0) == 0 && sink.starttls == "required")
    curl_easy_setopt(t->easy, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  if (!sink.username.empty()) {
    curl_easy_setopt(t->easy, CURLOPT_USERNAME, sink.username.c_str());
    if (!sink.passwordFile.empty()) {
      auto secret = readSecret(sink.passwordFile);
      if (!secret) {
        Delivery d{false, false, "cannot read the password file " + sink.passwordFile, {}};
        return loop_.post([d, done = std::move(t->done)] { done(d); });
      }
      t->password = *secret;
      curl_easy_setopt(t->easy, CURLOPT_PASSWORD, t->password.c_str());
    }
  }
  start(std::move(t), sink);
}

void AlertTransport::start(std::unique_ptr<Transfer> t, const config::SinkSpec& sink) {
  CURL* easy = t->easy;
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "medic/" MEDIC_VERSION);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->error);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(sink.timeout).count()));
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!sink.caFile.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, sink.caFile.c_str());
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Transfer::onResponse);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, t.get());
  t->started = loop_.now();
  transfers_[easy] = std::move(t);
  curl_.add(easy, [this, easy](CURLcode code) {
    auto node = transfers_.extract(easy);
    Transfer& t = *node.mapped();
    Delivery d;
    d.took = loop_.now() - t.started;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (code != CURLE_OK) {
      d.message = t.error[0] ? t.error : curl_easy_strerror(code);
      // A login refused will not be accepted on the next try either.
      d.permanent = code == CURLE_LOGIN_DENIED;
    } else if (t.smtp) {
      d.ok = true;
      d.message = "SMTP " + std::to_string(status);
    } else {
      d.ok = status >= 200 && status < 300;
      d.message = "HTTP " + std::to_string(status);
      if (!d.ok && !t.response.empty()) d.message += ": " + excerpt(t.response, 200);
      d.permanent = status >= 400 && status < 500 && status != 408 && status != 429;
    }
    t.done(std::move(d));
  });
}

}  // namespace medic::alerts
