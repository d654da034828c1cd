#include "checks/tls_options.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cmath>
#include <ctime>
#include <utility>
#include <vector>

#include "runtime/path_rules.h"
#include "runtime/text.h"

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

namespace {

std::optional<CertExpiry> earliestExpiryOf(const SSL* ssl) {
  std::vector<X509*> certs;
  if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl))
    for (int i = 0; i < sk_X509_num(chain); ++i) certs.push_back(sk_X509_value(chain, i));
  if (certs.empty())  // a resumed session carries only the server's own certificate
    if (X509* leaf = SSL_get0_peer_certificate(ssl)) certs.push_back(leaf);
  std::optional<CertExpiry> first;
  for (X509* cert : certs) {
    const ASN1_TIME* notAfter = X509_get0_notAfter(cert);
    int days = 0, seconds = 0;
    if (!notAfter || !ASN1_TIME_diff(&days, &seconds, nullptr, notAfter)) continue;
    double left = days + seconds / 86400.0;
    if (first && first->days <= left) continue;
    char subject[256];
    X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
    struct tm tm {};
    char date[32] = "?";
    if (ASN1_TIME_to_tm(notAfter, &tm)) std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", &tm);
    first = CertExpiry{left, escapeText(subject, 200), date};  // (a hostile server chooses its subject)
  }
  return first;
}

int expiryIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

}  // namespace

std::optional<CertExpiry> earliestExpiry(CURL* easy) {
  curl_tlssessioninfo* info = nullptr;
  if (curl_easy_getinfo(easy, CURLINFO_TLS_SSL_PTR, &info) != CURLE_OK || !info || info->backend != CURLSSLBACKEND_OPENSSL ||
      !info->internals)
    return std::nullopt;
  return earliestExpiryOf(static_cast<SSL*>(info->internals));
}

void expiryAfterHandshake(void* sslCtx, std::optional<CertExpiry>* into) {
  auto* ctx = static_cast<SSL_CTX*>(sslCtx);
  SSL_CTX_set_ex_data(ctx, expiryIndex(), into);
  SSL_CTX_set_info_callback(ctx, [](const SSL* ssl, int where, int) {
    if (!(where & SSL_CB_HANDSHAKE_DONE)) return;
    auto* out = static_cast<std::optional<CertExpiry>*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), expiryIndex()));
    if (out) *out = earliestExpiryOf(ssl);
  });
}

bool CertThresholds::read(MapReader& keys) {
  // Both are read (each may add its own error), then either counts as given.
  bool warnGiven = keys.read("cert_warn_days", warnDays, 0, 3650);
  bool critGiven = keys.read("cert_crit_days", critDays, 0, 3650);
  bool given = warnGiven || critGiven;
  if (critDays > 0 && warnDays > 0 && critDays > warnDays)
    keys.error("cert_crit_days", "'cert_crit_days' (" + std::to_string(critDays) + ") cannot exceed 'cert_warn_days' (" +
                                     std::to_string(warnDays) + ")");
  return given;
}

std::optional<CheckResult> CertThresholds::judge(const CertExpiry& cert, const std::string& head) const {
  long days = std::lround(cert.days);
  std::string when = cert.days < 0 ? "expired " + cert.date
                                   : "expires " + cert.date + " (in " + std::to_string(days) + (days == 1 ? " day)" : " days)");
  std::string what = head + ", certificate " + cert.subject + " " + when;
  if (critDays > 0 && cert.days < critDays) return CheckResult::unhealthy(what + ", less than cert_crit_days " + std::to_string(critDays));
  if (warnDays > 0 && cert.days < warnDays) return CheckResult::degraded(what + ", less than cert_warn_days " + std::to_string(warnDays));
  return std::nullopt;
}

void applyTlsOptions(CURL* easy, const TlsOptions& tls) {
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, tls.insecure ? 0L : 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, tls.insecure ? 0L : 2L);
  if (!tls.caFile.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, tls.caFile.c_str());
  if (!tls.clientCert.empty()) curl_easy_setopt(easy, CURLOPT_SSLCERT, tls.clientCert.c_str());
  if (!tls.clientKey.empty()) curl_easy_setopt(easy, CURLOPT_SSLKEY, tls.clientKey.c_str());
}

}  // namespace medic::checks
