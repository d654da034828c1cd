#pragma once
/// tcp: connects to host:port (name, IPv4 or IPv6) without blocking; optionally sends a
/// string and expects a reply matching a regex within the timeout. With `tls: true` the
/// connection is TLS from its first byte (SMTPS, IMAPS, LDAPS, Redis over TLS), made and
/// verified by libcurl exactly as an https:// http check is, and the exchange runs over it.
#include <optional>

#include "runtime/regex.h"
#include "checks/check.h"
#include "checks/tls_options.h"
#include "runtime/map_reader.h"
#include "runtime/tcp_client.h"

namespace medic::checks {

struct TcpSpec {
  TcpEndpoint peer;  ///< host (a name, IPv4 or IPv6) and port
  std::string send;
  std::optional<Regex> expect;
  size_t readCap = 64 * 1024;
  bool tls = false;
  TlsOptions tlsOptions;  ///< only with tls
  CertThresholds cert;    ///< only with tls: the earliest expiry in the server's chain
};

class TcpCheck : public Check {
 public:
  explicit TcpCheck(TcpSpec spec) : spec_(std::move(spec)) {}
  const TcpSpec& spec() const { return spec_; }
  std::string target() const override;
  std::string server() const override { return spec_.peer.text(); }
  std::vector<ValueInfo> values() const override;
  std::unique_ptr<Probe> start(ProbeEnv& env, TimePoint deadline, ResultCallback done) const override;

 private:
  TcpSpec spec_;
};

std::unique_ptr<Check> parseTcpCheck(MapReader& keys, const CheckContext&);

}  // namespace medic::checks
