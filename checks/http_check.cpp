#include "checks/http_check.h"

#include <curl/curl.h>

#include <cmath>
#include <cstdlib>
#include <ctime>
#include <utility>

#include "runtime/curl_multi.h"
#include "runtime/event_loop.h"
#include "runtime/text.h"
#include "checks/probe_env.h"

namespace medic::checks {

std::vector<ValueInfo> HttpCheck::values() const {
  std::vector<ValueInfo> v = {{"time", "s"}, {"connect", "s"}, {"tls", "s"}, {"ttfb", "s"}, {"status", ""}, {"size", "B"}};
  if (spec_.url.rfind("https:", 0) == 0) v.push_back({"cert_days", ""});
  return v;
}

namespace {

class HttpProbe : public Probe {
 public:
  HttpProbe(const HttpSpec& spec, ProbeEnv& env, TimePoint deadline, ResultCallback done)
      : spec_(spec), env_(env), done_(std::move(done)) {
    easy_ = env_.curl.takeHandle();
    configure(deadline);
    env_.curl.add(easy_, [this](CURLcode code) { finished(code); });
  }

  ~HttpProbe() override {
    env_.curl.remove(easy_);
    env_.curl.giveBack(easy_);
    curl_slist_free_all(headers_);
  }

  std::string stage() const override {
    curl_off_t connected = 0;
    curl_easy_getinfo(easy_, CURLINFO_CONNECT_TIME_T, &connected);
    return connected > 0 ? "waiting for the response" : "connecting";
  }

 private:
  void configure(TimePoint deadline) {
    curl_easy_setopt(easy_, CURLOPT_URL, spec_.url.c_str());
    curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy_, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_USERAGENT, "medic-healthcheck");
    curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_);
    // The runner enforces the deadline; curl's own limit is a backstop just after it.
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - env_.loop.now()).count();
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<long long>(1, left) + 1000));
    if (spec_.method == "HEAD") curl_easy_setopt(easy_, CURLOPT_NOBODY, 1L);
    else if (spec_.method != "GET") curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, spec_.method.c_str());
    if (!spec_.body.empty()) {
      curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE, static_cast<long>(spec_.body.size()));
      curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, spec_.body.c_str());
    }
    for (const auto& [name, value] : spec_.headers) headers_ = curl_slist_append(headers_, (name + ": " + value).c_str());
    if (headers_) curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
    applyTlsOptions(easy_, spec_.tls);
    if (spec_.followRedirects) {
      curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 1L);
      curl_easy_setopt(easy_, CURLOPT_MAXREDIRS, 5L);
    }
    if (!spec_.reuseConnection) {
      // Monit's and Kubernetes' semantics: a new connection every run, closed after it.
      curl_easy_setopt(easy_, CURLOPT_FRESH_CONNECT, 1L);
      curl_easy_setopt(easy_, CURLOPT_FORBID_REUSE, 1L);
    }
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &HttpProbe::onBody);
    curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &HttpProbe::onHeader);
  }

  // Each response's status line: the connection is live here, so its certificates can be
  // read (after the transfer it may be back in the pool). The final response's count.
  static size_t onHeader(char* data, size_t, size_t n, void* self) {
    auto* me = static_cast<HttpProbe*>(self);
    if (n >= 5 && std::string_view(data, 5) == "HTTP/" && me->https_) me->cert_ = earliestExpiry(me->easy_);
    return n;
  }

  std::vector<PerfDatum> measured(long status) const {
    curl_off_t total = 0, connect = 0, tls = 0, ttfb = 0, size = 0;
    curl_easy_getinfo(easy_, CURLINFO_TOTAL_TIME_T, &total);
    curl_easy_getinfo(easy_, CURLINFO_CONNECT_TIME_T, &connect);
    curl_easy_getinfo(easy_, CURLINFO_APPCONNECT_TIME_T, &tls);
    curl_easy_getinfo(easy_, CURLINFO_STARTTRANSFER_TIME_T, &ttfb);
    curl_easy_getinfo(easy_, CURLINFO_SIZE_DOWNLOAD_T, &size);
    std::vector<PerfDatum> v = {{"time", total / 1e6, "s"}, {"connect", connect / 1e6, "s"}};
    if (https_) v.push_back({"tls", std::max<curl_off_t>(0, tls - connect) / 1e6, "s"});
    if (status > 0) {
      v.push_back({"ttfb", ttfb / 1e6, "s"});
      v.push_back({"status", double(status), ""});
      v.push_back({"size", double(size), "B"});
    }
    if (cert_) v.push_back({"cert_days", std::round(cert_->days * 10) / 10, ""});
    return v;
  }

  static size_t onBody(char* data, size_t, size_t n, void* self) {
    auto* me = static_cast<HttpProbe*>(self);
    size_t room = me->spec_.bodyCap - me->body_.size();
    me->body_.append(data, std::min(n, room));
    if (n > room) {
      me->truncated_ = true;
      return 0;  // stop the transfer: we have all we will look at
    }
    return n;
  }

  void finished(CURLcode code) {
    long status = 0;
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
    values_ = measured(status);
    bool cut = code == CURLE_WRITE_ERROR && truncated_;
    if (code != CURLE_OK && !cut) {
      std::string reason = error_[0] ? error_ : curl_easy_strerror(code);
      return report(CheckResult::unhealthy(sanitizeUtf8(reason)));
    }
    std::string note = cut ? " (body cut at " + formatBytes(spec_.bodyCap) + ")" : "";
    bool statusOk = false;
    for (auto [lo, hi] : spec_.expectStatus) statusOk = statusOk || (status >= lo && status <= hi);
    std::string head = "HTTP " + std::to_string(status);
    if (!statusOk)
      return report({spec_.onMismatch, head + " is not an expected status" + note, {}, {}});
    if (auto why = headerMismatch()) return report({spec_.onMismatch, head + ", " + *why, {}, {}});
    if (spec_.bodyMatch && !spec_.bodyMatch->search(body_))
      return report({spec_.onMismatch, head + ", body does not match /" + spec_.bodyMatch->pattern() + "/" + note, {}, {}});
    if (spec_.bodyNotMatch && spec_.bodyNotMatch->search(body_))
      return report({spec_.onMismatch, head + ", body matches /" + spec_.bodyNotMatch->pattern() + "/, which it must not" + note, {}, {}});
    if (cert_)
      if (auto expiring = spec_.cert.judge(*cert_, head)) return report(*expiring);
    report(CheckResult::healthy(head + note));
  }

  // The first expected header missing or not matching, from the final response (after
  // redirects, when followed). libcurl keeps the response's headers (curl_easy_header).
  std::optional<std::string> headerMismatch() const {
    for (const auto& [name, pattern] : spec_.expectHeaders) {
      curl_header* h = nullptr;
      if (curl_easy_header(easy_, name.c_str(), 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h)
        return "no '" + name + "' header";
      if (!pattern.search(h->value))
        return "header '" + name + "' is " + quoteValue(escapeText(h->value, 200)) + ", which does not match /" + pattern.pattern() + "/";
    }
    return std::nullopt;
  }

  void report(CheckResult r) {
    r.perfdata = std::move(values_);
    if (done_) std::exchange(done_, nullptr)(std::move(r));
  }

  const HttpSpec& spec_;
  ProbeEnv& env_;
  ResultCallback done_;
  CURL* easy_ = nullptr;
  curl_slist* headers_ = nullptr;
  std::string body_;
  bool truncated_ = false;
  bool https_ = spec_.url.rfind("https:", 0) == 0;
  std::optional<CertExpiry> cert_;
  std::vector<PerfDatum> values_;
  char error_[CURL_ERROR_SIZE] = {};
};

// "200", 200, "200-299" or "2xx".
bool parseStatusRange(const std::string& text, std::pair<int, int>& out) {
  if (text.size() == 3 && text[1] == 'x' && text[2] == 'x' && text[0] >= '1' && text[0] <= '5') {
    int base = (text[0] - '0') * 100;
    out = {base, base + 99};
    return true;
  }
  char* end = nullptr;
  long lo = std::strtol(text.c_str(), &end, 10);
  long hi = lo;
  if (*end == '-') hi = std::strtol(end + 1, &end, 10);
  if (*end != '\0' || lo < 100 || hi > 599 || lo > hi) return false;
  out = {static_cast<int>(lo), static_cast<int>(hi)};
  return true;
}

}  // namespace

std::unique_ptr<Probe> HttpCheck::start(ProbeEnv& env, TimePoint deadline, ResultCallback done) const {
  return std::make_unique<HttpProbe>(spec_, env, deadline, std::move(done));
}

std::unique_ptr<Check> parseHttpCheck(MapReader& keys, const CheckContext&) {
  HttpSpec spec;
  if (keys.require("url") && keys.read("url", spec.url)) {
    CURLU* u = curl_url();
    char* scheme = nullptr;
    if (curl_url_set(u, CURLUPART_URL, spec.url.c_str(), 0) != CURLUE_OK) {
      keys.error("url", "invalid URL " + quoteValue(spec.url));
    } else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
               std::string(scheme) != "http" && std::string(scheme) != "https") {
      keys.error("url", "'url' must be http:// or https://, got " + quoteValue(spec.url));
    }
    curl_free(scheme);
    curl_url_cleanup(u);
  }
  if (keys.read("method", spec.method)) {
    static const std::vector<std::string> methods = {"GET", "HEAD", "POST", "PUT", "OPTIONS", "PATCH", "DELETE"};
    if (std::find(methods.begin(), methods.end(), spec.method) == methods.end())
      keys.error("method", "'method' must be one of GET, HEAD, POST, PUT, OPTIONS, PATCH, DELETE; got " + quoteValue(spec.method));
  }
  keys.read("headers", spec.headers);
  keys.read("body", spec.body);
  std::vector<std::string> statuses;
  if (keys.read("expect_status", statuses)) {
    spec.expectStatus.clear();
    for (const auto& s : statuses) {
      std::pair<int, int> range;
      if (parseStatusRange(s, range)) spec.expectStatus.push_back(range);
      else keys.error("expect_status", "invalid status " + quoteValue(s) + ": use 200, \"200-299\" or \"2xx\"");
    }
  }
  auto regex = [&](const std::string& key, const std::string& pattern) {
    std::string error;
    auto re = Regex::compile(pattern, error);
    if (!re) keys.error(key, "invalid regex " + quoteValue(pattern) + ": " + error);
    return re;
  };
  std::string pattern;
  if (keys.read("body_match", pattern)) spec.bodyMatch = regex("body_match", pattern);
  if (keys.read("body_not_match", pattern)) spec.bodyNotMatch = regex("body_not_match", pattern);
  std::map<std::string, std::string> expectHeaders;
  if (keys.read("expect_headers", expectHeaders))
    for (const auto& [name, headerPattern] : expectHeaders) {
      // RFC 9110 token characters: a name with anything else could never be sent back.
      if (name.empty() || name.find_first_not_of("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != std::string::npos)
        keys.error("expect_headers", "invalid header name " + quoteValue(name));
      else if (auto re = regex("expect_headers", headerPattern))
        spec.expectHeaders.emplace_back(name, std::move(*re));
    }
  std::string onMismatch;
  if (keys.read("on_mismatch", onMismatch)) {
    if (onMismatch == "degraded") spec.onMismatch = Status::degraded;
    else if (onMismatch != "unhealthy") keys.error("on_mismatch", "'on_mismatch' must be unhealthy or degraded, got " + quoteValue(onMismatch));
  }
  readTlsOptions(keys, spec.tls);
  keys.read("follow_redirects", spec.followRedirects);
  keys.read("reuse_connection", spec.reuseConnection);
  bool https = spec.url.rfind("https:", 0) == 0;
  if (spec.cert.read(keys) && !https) keys.error("'cert_warn_days' and 'cert_crit_days' apply to https:// URLs");
  int capKiB = 64;
  if (keys.read("body_limit_kib", capKiB, 1, 16 * 1024)) spec.bodyCap = static_cast<size_t>(capKiB) * 1024;
  return std::make_unique<HttpCheck>(std::move(spec));
}

}  // namespace medic::checks
