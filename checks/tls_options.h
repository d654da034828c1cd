#pragma once
/// How a check verifies a TLS peer and proves itself to one: the same keys, the same
/// defaults and the same libcurl settings for every check that speaks TLS (http's https://
/// URLs, tcp with `tls: true`). Verification is on unless `insecure: true` says otherwise.
#include <curl/curl.h>

#include <string>

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

}  // namespace medic::checks
