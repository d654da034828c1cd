#pragma once
/// How a check verifies a TLS peer and proves itself to one: the same keys, the same
/// defaults and the same libcurl settings for every check that speaks TLS (http's https://
/// URLs, tcp with `tls: true`). Verification is on unless `insecure: true` says otherwise.
#include <curl/curl.h>

#include <optional>
#include <string>

#include "checks/check.h"

#include "runtime/map_reader.h"

namespace medic::checks {

struct TlsOptions {
  bool insecure = false;  ///< skip certificate and host name verification (said explicitly)
  std::string caFile;     ///< trust this CA bundle instead of the system's
  std::string clientCert, clientKey;  ///< a client certificate, for peers that demand one
};

/// Reads `insecure`, `ca_file`, `client_cert`, `client_key`; reports bad paths to the reader.
/// Returns whether any of them was given.
bool readTlsOptions(MapReader& keys, TlsOptions& out);
/// Sets verification, trust and the client certificate on a libcurl handle.
void applyTlsOptions(CURL* easy, const TlsOptions& tls);

/// The certificate of the peer's chain that expires first, read from the TLS session libcurl
/// holds for `easy` (while its connection is live: during a transfer, or after a CONNECT_ONLY
/// connect). nullopt when there is none to read.
struct CertExpiry {
  double days = 0;  ///< from now; negative once expired
  std::string subject, date;
};
std::optional<CertExpiry> earliestExpiry(CURL* easy);
/// For a connection libcurl detaches from its handle once up (CONNECT_ONLY): called from
/// CURLOPT_SSL_CTX_FUNCTION with its SSL_CTX, fills `*into` when the handshake is done.
/// `into` must outlive the connection.
void expiryAfterHandshake(void* sslCtx, std::optional<CertExpiry>* into);

/// Thresholds in days on CertExpiry (https checks, tcp with TLS); 0 turns one off.
struct CertThresholds {
  int warnDays = 30, critDays = 7;
  /// Reads `cert_warn_days`, `cert_crit_days`; returns whether either was given.
  bool read(MapReader& keys);
  /// Degraded or unhealthy with `head, certificate … expires …`, or nullopt when neither is crossed.
  std::optional<CheckResult> judge(const CertExpiry& cert, const std::string& head) const;
};

}  // namespace medic::checks
