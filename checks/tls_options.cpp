#include "checks/tls_options.h"

#include <utility>

#include "runtime/path_rules.h"

namespace medic::checks {

bool readTlsOptions(MapReader& keys, TlsOptions& out) {
  bool any = keys.read("insecure", out.insecure);
  for (auto [key, field] : {std::pair{"ca_file", &out.caFile}, {"client_cert", &out.clientCert}, {"client_key", &out.clientKey}}) {
    if (!keys.read(key, *field)) continue;
    any = true;
    if (auto e = checkAbsolutePath(*field)) keys.error(key, std::string("'") + key + "' " + *e);
  }
  if (out.clientCert.empty() != out.clientKey.empty()) keys.error("'client_cert' and 'client_key' go together");
  return any;
}

void applyTlsOptions(CURL* easy, const TlsOptions& tls) {
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, tls.insecure ? 0L : 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, tls.insecure ? 0L : 2L);
  if (!tls.caFile.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, tls.caFile.c_str());
  if (!tls.clientCert.empty()) curl_easy_setopt(easy, CURLOPT_SSLCERT, tls.clientCert.c_str());
  if (!tls.clientKey.empty()) curl_easy_setopt(easy, CURLOPT_SSLKEY, tls.clientKey.c_str());
}

}  // namespace medic::checks
