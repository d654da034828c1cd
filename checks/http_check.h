#pragma once
/// http: one request to a URL (http or https): plain http:// over medic's own socket with
/// Debian's http_parser reading the answer, the rest through libcurl's multi interface. TLS is
/// verified unless `insecure: true`; redirects are not followed unless asked; the body is
/// read up to a cap. The status must be in the expected set; response headers and the body
/// may have to match (and the body may have to not match).
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "runtime/regex.h"
#include "checks/check.h"
#include "checks/tls_options.h"
#include "runtime/map_reader.h"
#include "runtime/tcp_client.h"

namespace medic::checks {

struct HttpSpec {
  std::string url;
  bool https = false;  ///< the URL's scheme is https (as libcurl reads it, any case)
  std::string method = "GET";
  std::map<std::string, std::string> headers;
  std::string body;
  std::vector<std::pair<int, int>> expectStatus = {{200, 399}};  ///< inclusive ranges
  std::optional<Regex> bodyMatch;
  std::optional<Regex> bodyNotMatch;  ///< e.g. "maintenance mode": the body must not match it
  std::vector<std::pair<std::string, Regex>> expectHeaders;  ///< response header name -> regex its value must match
  Status onMismatch = Status::unhealthy;  ///< for a wrong status or body; connection errors stay unhealthy
  TlsOptions tls;  ///< for https:// URLs
  bool followRedirects = false;
  /// Keep the connection open between runs when the server allows it. Off by default: each
  /// run opens a fresh connection, so a pass proves the server still accepts new ones.
  bool reuseConnection = false;
  size_t bodyCap = 64 * 1024;
  CertThresholds cert;  ///< https only: the earliest expiry in the server's chain
  std::string server;   ///< the URL's host and port, "host:port" (as TcpEndpoint::text)

  /// Worked out at load: the request medic sends itself, over its own socket, for an
  /// http:// URL when redirects are not followed and the connection is not kept. Without
  /// it (https and the rest), libcurl does the transfer.
  struct PlainRequest {
    TcpEndpoint peer;     ///< where to connect: the URL's host and port
    std::string request;  ///< the bytes sent: request line, headers, body
    std::vector<std::string> headerNames;  ///< expectHeaders' names, for the reader
  };
  std::optional<PlainRequest> plain;
};

class HttpCheck : public Check {
 public:
  explicit HttpCheck(HttpSpec spec) : spec_(std::move(spec)) {}
  const HttpSpec& spec() const { return spec_; }
  std::string target() const override { return spec_.method + " " + spec_.url; }
  std::string server() const override { return spec_.server; }
  std::vector<ValueInfo> values() const override;
  std::unique_ptr<Probe> start(ProbeEnv& env, TimePoint deadline, ResultCallback done) const override;

 private:
  HttpSpec spec_;
};

std::unique_ptr<Check> parseHttpCheck(MapReader& keys, const CheckContext&);

}  // namespace medic::checks
