#include "checks/http_check.h"

#include <curl/curl.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <utility>

#include "runtime/curl_multi.h"
#include "runtime/event_loop.h"
#include "runtime/tcp_client.h"
#include "runtime/text.h"
#include "checks/http_response.h"
#include "checks/probe_env.h"

namespace medic::checks {

std::vector<ValueInfo> HttpCheck::values() const {
  std::vector<ValueInfo> v = {{"time", "s"}, {"connect", "s"}, {"tls", "s"}, {"ttfb", "s"}, {"status", ""}, {"size", "B"}};
  if (spec_.https) v.push_back({"cert_days", ""});
  return v;
}

namespace {

/// What an answer means for the check, whichever way it came. `headerOf(i)`: the final
/// response's value of spec.expectHeaders[i], or none when it had no such header.
template <class HeaderOf>
CheckResult judge(const HttpSpec& spec, long status, std::string_view body, bool truncated,
                  const std::optional<CertExpiry>& cert, HeaderOf headerOf) {
  std::string note = truncated ? " (body cut at " + formatBytes(spec.bodyCap) + ")" : "";
  bool statusOk = false;
  for (auto [lo, hi] : spec.expectStatus) statusOk = statusOk || (status >= lo && status <= hi);
  std::string head = "HTTP " + std::to_string(status);
  if (!statusOk) return {spec.onMismatch, head + " is not an expected status" + note, {}, {}};
  for (size_t i = 0; i < spec.expectHeaders.size(); ++i) {
    const auto& [name, pattern] = spec.expectHeaders[i];
    std::optional<std::string_view> value = headerOf(i);
    if (!value) return {spec.onMismatch, head + ", no '" + name + "' header", {}, {}};
    if (!pattern.search(*value))
      return {spec.onMismatch, head + ", header '" + name + "' is " + quoteValue(escapeText(*value, 200)) +
                                   ", which does not match /" + pattern.pattern() + "/", {}, {}};
  }
  if (spec.bodyMatch && !spec.bodyMatch->search(body))
    return {spec.onMismatch, head + ", body does not match /" + spec.bodyMatch->pattern() + "/" + note, {}, {}};
  if (spec.bodyNotMatch && spec.bodyNotMatch->search(body))
    return {spec.onMismatch, head + ", body matches /" + spec.bodyNotMatch->pattern() + "/, which it must not" + note, {}, {}};
  if (cert)
    if (auto expiring = spec.cert.judge(*cert, head)) return *expiring;
  return CheckResult::healthy(head + note);
}

/// https://, redirects followed, or a kept connection: libcurl does the transfer.
class CurlProbe : public Probe {
 public:
  CurlProbe(const HttpSpec& spec, ProbeEnv& env, TimePoint deadline, ResultCallback done)
      : spec_(spec), env_(env), done_(std::move(done)) {
    easy_ = env_.curl.takeHandle();
    configure(deadline);
    env_.curl.add(easy_, [this](CURLcode code) { finished(code); });
  }

  ~CurlProbe() override {
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
    curl_easy_setopt(easy_, CURLOPT_PROXY, "");  // as the plain way: the check talks to the service itself
    curl_easy_setopt(easy_, CURLOPT_USERAGENT, "medic-healthcheck");
    curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_);
    // The runner enforces the deadline; curl's own limit is a backstop just after it.
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - env_.loop.now()).count();
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<long long>(1, left) + 1000));
    if (spec_.method == "HEAD") curl_easy_setopt(easy_, CURLOPT_NOBODY, 1L);
    else if (spec_.method != "GET" || !spec_.body.empty()) curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, spec_.method.c_str());
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
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &CurlProbe::onBody);
    curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &CurlProbe::onHeader);
  }

  // Each response's status line: the connection is live here, so its certificates can be
  // read (after the transfer it may be back in the pool). The final response's count.
  static size_t onHeader(char* data, size_t, size_t n, void* self) {
    auto* me = static_cast<CurlProbe*>(self);
    if (n >= 5 && std::string_view(data, 5) == "HTTP/" && me->spec_.https) me->cert_ = earliestExpiry(me->easy_);
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
    if (spec_.https) v.push_back({"tls", std::max<curl_off_t>(0, tls - connect) / 1e6, "s"});
    if (status > 0) {
      v.push_back({"ttfb", ttfb / 1e6, "s"});
      v.push_back({"status", double(status), ""});
      v.push_back({"size", double(size), "B"});
    }
    if (cert_) v.push_back({"cert_days", std::round(cert_->days * 10) / 10, ""});
    return v;
  }

  static size_t onBody(char* data, size_t, size_t n, void* self) {
    auto* me = static_cast<CurlProbe*>(self);
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
    // libcurl keeps the final response's headers (after redirects, when followed).
    report(judge(spec_, status, body_, cut, cert_, [this](size_t i) -> std::optional<std::string_view> {
      curl_header* h = nullptr;
      if (curl_easy_header(easy_, spec_.expectHeaders[i].first.c_str(), 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h)
        return std::nullopt;
      return std::string_view(h->value);
    }));
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
  std::optional<CertExpiry> cert_;
  std::vector<PerfDatum> values_;
  char error_[CURL_ERROR_SIZE] = {};
};

/// Plain http:// that neither follows redirects nor keeps its connection: medic's own
/// non-blocking socket sends the request made at load, and HttpResponseReader (Debian's
/// http_parser) reads the answer: 7 system calls of its own where a libcurl transfer makes 20.
class PlainProbe : public Probe {
 public:
  PlainProbe(const HttpSpec& spec, ProbeEnv& env, ResultCallback done)
      : spec_(spec), done_(std::move(done)), client_(env.loop, env.resolver),
        reader_(spec.plain->headerNames, spec.bodyCap, spec.method == "HEAD") {
    client_.connect(spec_.plain->peer, spec_.plain->request,
                    [this](const std::string& error) { sent(error); }, [this] { readSome(); });
  }

  std::string stage() const override {
    if (client_.resolving()) return "resolving";
    return client_.connected() ? "waiting for the response" : "connecting";
  }

 private:
  void sent(const std::string& error) {
    if (!error.empty()) finish(CheckResult::unhealthy(error));
  }

  // A short read is all there was: the next bytes wake the watch again, so no read is made
  // only to hear EAGAIN. At most four reads per wake-up: a peer that never stops sending
  // (endless interim answers or chunk framing, which the body cap does not count) must not
  // keep the loop from its other work and from this probe's own deadline.
  void readSome() {
    char buf[16 * 1024];
    for (int reads = 0; reads < 4; ++reads) {
      ssize_t n = ::recv(client_.fd(), buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      if (n < 0) return finish(CheckResult::unhealthy(std::string("read failed: ") + std::strerror(errno)));
      if (n > 0 && !ttfb_) ttfb_ = std::chrono::steady_clock::now() - started_;
      auto state = n == 0 ? reader_.closed() : reader_.feed(buf, static_cast<size_t>(n));
      if (state == HttpResponseReader::State::failed) return finish(CheckResult::unhealthy(reader_.error()));
      if (state == HttpResponseReader::State::complete) return answered();
      if (static_cast<size_t>(n) < sizeof buf) return;
    }
  }

  void answered() {
    const auto& r = reader_;
    finish(judge(spec_, r.status(), r.body(), r.truncated(), std::nullopt, [&r](size_t i) -> std::optional<std::string_view> {
      if (const auto& v = r.header(i)) return std::string_view(*v);
      return std::nullopt;
    }));
  }

  void finish(CheckResult r) {
    bool connected = client_.connected();
    client_.close();
    auto seconds = [](auto d) { return std::chrono::duration<double>(d).count(); };
    r.perfdata = {{"time", seconds(std::chrono::steady_clock::now() - started_), "s"}};
    if (connected) r.perfdata.push_back({"connect", seconds(client_.connectTime()), "s"});
    if (reader_.state() == HttpResponseReader::State::complete) {
      r.perfdata.push_back({"ttfb", seconds(ttfb_.value_or(Duration::zero())), "s"});
      r.perfdata.push_back({"status", double(reader_.status()), ""});
      r.perfdata.push_back({"size", double(reader_.bodyBytes()), "B"});
    }
    if (done_) std::exchange(done_, nullptr)(std::move(r));
  }

  const HttpSpec& spec_;
  ResultCallback done_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  TcpClient client_;
  HttpResponseReader reader_;
  std::optional<std::chrono::steady_clock::duration> ttfb_;
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

constexpr std::string_view kTokenChars = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

std::string urlPart(CURLU* u, CURLUPart part, unsigned flags = 0) {
  char* text = nullptr;
  if (curl_url_get(u, part, &text, flags) != CURLUE_OK) return {};
  std::string out = text;
  curl_free(text);
  return out;
}

/// The URL's host (IPv6 without brackets) and port (the scheme's default when it has none).
std::pair<std::string, int> hostAndPort(CURLU* u) {
  return {unbracketed(urlPart(u, CURLUPART_HOST)), std::atoi(urlPart(u, CURLUPART_PORT, CURLU_DEFAULT_PORT).c_str())};
}

/// The request a PlainProbe sends, made once: what libcurl would send for this check (its
/// request line, Host, User-Agent, Accept, the body's Content-Length and Content-Type), and
/// Connection: close. A configured header replaces a default of the same name; one with an
/// empty value only removes it, as with libcurl. None when libcurl must do the transfer:
/// https, redirects followed, a kept connection, credentials or an IPv6 zone in the URL.
/// `u`: spec.url, parsed.
std::optional<HttpSpec::PlainRequest> plainRequest(const HttpSpec& spec, CURLU* u) {
  if (spec.followRedirects || spec.reuseConnection || spec.https) return std::nullopt;
  if (!urlPart(u, CURLUPART_USER).empty() || !urlPart(u, CURLUPART_PASSWORD).empty() || !urlPart(u, CURLUPART_ZONEID).empty())
    return std::nullopt;
  HttpSpec::PlainRequest plain;
  auto [host, port] = hostAndPort(u);
  if (host.empty() || port <= 0) return std::nullopt;
  plain.peer = TcpEndpoint(host, port);
  for (const auto& [name, pattern] : spec.expectHeaders) plain.headerNames.push_back(name);
  std::string target = urlPart(u, CURLUPART_PATH);
  if (target.empty()) target = "/";
  if (std::string query = urlPart(u, CURLUPART_QUERY); !query.empty()) target += "?" + query;

  auto given = [&](std::string_view name) {
    for (const auto& [key, value] : spec.headers)
      if (key.size() == name.size() && strncasecmp(key.data(), name.data(), name.size()) == 0) return true;
    return false;
  };
  std::string& r = plain.request;
  r = spec.method + " " + target + " HTTP/1.1\r\n";
  auto add = [&](std::string_view name, const std::string& value) {
    if (!given(name)) r.append(name).append(": ").append(value).append("\r\n");
  };
  add("Host", host + (port == 80 ? "" : ":" + std::to_string(port)));
  add("User-Agent", "medic-healthcheck");
  add("Accept", "*/*");
  add("Connection", "close");
  if (!spec.body.empty()) {
    add("Content-Length", std::to_string(spec.body.size()));
    add("Content-Type", "application/x-www-form-urlencoded");
  }
  for (const auto& [name, value] : spec.headers)
    if (!value.empty()) r.append(name).append(": ").append(value).append("\r\n");
  r += "\r\n";
  r += spec.body;
  return plain;
}

}  // namespace

std::unique_ptr<Probe> HttpCheck::start(ProbeEnv& env, TimePoint deadline, ResultCallback done) const {
  if (spec_.plain) return std::make_unique<PlainProbe>(spec_, env, std::move(done));
  return std::make_unique<CurlProbe>(spec_, env, deadline, std::move(done));
}

std::unique_ptr<Check> parseHttpCheck(MapReader& keys, const CheckContext&) {
  HttpSpec spec;
  std::unique_ptr<CURLU, void (*)(CURLU*)> url(nullptr, curl_url_cleanup);  // spec.url parsed, when valid
  if (keys.require("url") && keys.read("url", spec.url)) {
    url.reset(curl_url());
    if (curl_url_set(url.get(), CURLUPART_URL, spec.url.c_str(), 0) != CURLUE_OK) {
      keys.error("url", "invalid URL " + quoteValue(spec.url));
      url.reset();
    } else if (std::string scheme = urlPart(url.get(), CURLUPART_SCHEME); scheme != "http" && scheme != "https") {
      keys.error("url", "'url' must be http:// or https://, got " + quoteValue(spec.url));
      url.reset();
    } else {
      spec.https = scheme == "https";
      auto [host, port] = hostAndPort(url.get());
      spec.server = hostPort(host, port);
    }
  }
  bool methodGiven = keys.read("method", spec.method);
  if (methodGiven) {
    static const std::vector<std::string> methods = {"GET", "HEAD", "POST", "PUT", "OPTIONS", "PATCH", "DELETE"};
    if (std::find(methods.begin(), methods.end(), spec.method) == methods.end())
      keys.error("method", "'method' must be one of GET, HEAD, POST, PUT, OPTIONS, PATCH, DELETE; got " + quoteValue(spec.method));
  }
  if (keys.read("headers", spec.headers))
    for (const auto& [name, value] : spec.headers) {
      if (name.empty() || name.find_first_not_of(kTokenChars) != std::string::npos)
        keys.error("headers", "invalid header name " + quoteValue(name));
      else if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
        keys.error("headers", "the value of header '" + name + "' has a line break or NUL byte");
    }
  keys.read("body", spec.body);
  if (!spec.body.empty() && !methodGiven) spec.method = "POST";  // a body is posted unless a method is named
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
      if (name.empty() || name.find_first_not_of(kTokenChars) != std::string::npos)
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
  if (spec.cert.read(keys) && !spec.https) keys.error("'cert_warn_days' and 'cert_crit_days' apply to https:// URLs");
  int capKiB = 64;
  if (keys.read("body_limit_kib", capKiB, 1, 16 * 1024)) spec.bodyCap = static_cast<size_t>(capKiB) * 1024;
  if (url) spec.plain = plainRequest(spec, url.get());
  return std::make_unique<HttpCheck>(std::move(spec));
}

}  // namespace medic::checks
