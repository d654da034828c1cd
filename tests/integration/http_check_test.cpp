// The http check against a real HTTP and HTTPS server on loopback.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "checks/probe_host.h"
#include "harness.h"

using namespace medic;
using namespace medic::test;
using checks::Status;

namespace {

LoopbackPeers& peers() { return sharedPeers(); }

std::string http(const std::string& url, const std::string& extra = "") {
  return "- name: h\n  type: http\n  url: " + url + "\n" + extra;
}

TEST(HttpCheck, HealthyOnAnExpectedStatus) {
  auto r = runCheck(http(peers().url("/ok")));
  EXPECT_EQ(r.status, Status::healthy) << r.message;
  EXPECT_EQ(r.message, "HTTP 200");
  EXPECT_GT(r.duration.count(), 0);
}

TEST(HttpCheck, UnhealthyOnAServerErrorUnlessMappedToDegraded) {
  auto r = runCheck(http(peers().url("/status/500")));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_EQ(r.message, "HTTP 500 is not an expected status");
  EXPECT_EQ(runCheck(http(peers().url("/status/500"), "  on_mismatch: degraded\n")).status, Status::degraded);
  EXPECT_EQ(runCheck(http(peers().url("/status/503"), "  expect_status: [\"500-503\"]\n")).status, Status::healthy);
}

TEST(HttpCheck, BodyMustMatchWhenAsked) {
  EXPECT_EQ(runCheck(http(peers().url("/ok"), "  body_match: '\"ok\": *true'\n")).status, Status::healthy);
  auto r = runCheck(http(peers().url("/ok"), "  body_match: '\"ok\": *false'\n"));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_EQ(r.message, "HTTP 200, body does not match /\"ok\": *false/");
}

TEST(HttpCheck, ResponseHeadersMustMatchWhenAsked) {
  EXPECT_EQ(runCheck(http(peers().url("/ok"), "  expect_headers: {content-type: '^application/json'}\n")).status, Status::healthy)
      << "header names are case-insensitive";
  auto r = runCheck(http(peers().url("/ok"), "  expect_headers: {Content-Type: '^application/json', X-Backend: blue}\n"));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_EQ(r.message, "HTTP 200, no 'X-Backend' header");
  r = runCheck(http(peers().url("/maintenance"), "  expect_headers: {X-Backend: '^green-'}\n  on_mismatch: degraded\n"));
  EXPECT_EQ(r.status, Status::degraded);
  EXPECT_EQ(r.message, "HTTP 200, header 'X-Backend' is 'blue-3', which does not match /^green-/");
  EXPECT_EQ(runCheck(http(peers().url("/maintenance"), "  expect_headers: {X-Backend: '^blue-[0-9]+$', Cache-Control: no-store}\n")).status,
            Status::healthy);
}

TEST(HttpCheck, ABodyThatMustNotMatchMakesItFail) {
  auto r = runCheck(http(peers().url("/maintenance"), "  body_not_match: 'maintenance mode|degraded'\n"));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_EQ(r.message, "HTTP 200, body matches /maintenance mode|degraded/, which it must not");
  EXPECT_EQ(runCheck(http(peers().url("/ok"), "  body_not_match: 'maintenance mode'\n")).status, Status::healthy);
  // Searched in the same cut body as body_match: 1025 x's never fit in the first 1 KiB.
  r = runCheck(http(peers().url("/big"), "  body_not_match: 'x{1000}'\n  body_limit_kib: 1\n"));
  EXPECT_EQ(r.status, Status::unhealthy) << "1000 x's fit in 1 KiB";
  r = runCheck(http(peers().url("/big"), "  body_not_match: 'x{1000}x{25}'\n  body_limit_kib: 1\n"));
  EXPECT_EQ(r.status, Status::healthy);
  EXPECT_EQ(r.message, "HTTP 200 (body cut at 1 KiB)");
}

TEST(HttpCheck, RedirectsAreNotFollowedUnlessAsked) {
  auto r = runCheck(http(peers().url("/redirect"), "  expect_status: [200]\n"));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_EQ(r.message, "HTTP 302 is not an expected status");
  EXPECT_EQ(runCheck(http(peers().url("/redirect"), "  expect_status: [200]\n  follow_redirects: true\n")).status,
            Status::healthy);
}

TEST(HttpCheck, SendsMethodHeadersAndBody) {
  auto r = runCheck(http(peers().url("/echo"),
                         "  method: POST\n  headers: {X-Token: abc}\n  body: hello\n"
                         "  body_match: '\"method\": \"POST\".*\"X-Token\": \"abc\".*\"body\": \"hello\"'\n"));
  EXPECT_EQ(r.status, Status::healthy) << r.message;
}

// libcurl handles are reused from one run to the next: nothing one check set carries over.
TEST(HttpCheck, ACheckAfterAnotherSendsOnlyWhatItsOwnConfigSays) {
  auto echo = peers().url("/echo");
  auto r = runInTurn("- {name: a, type: http, url: '" + echo + "', method: POST, headers: {X-Token: abc}, body: hello,"
                     "   body_match: 'X-Token'}\n"
                     "- {name: b, type: http, url: '" + echo + "', body_match: '\"method\": \"GET\"',"
                     "   body_not_match: 'X-Token|hello|Content-Length'}\n"
                     "- {name: c, type: http, url: '" + peers().url("/redirect") + "', follow_redirects: true}\n"
                     "- {name: d, type: http, url: '" + peers().url("/redirect") + "', expect_status: [302]}\n"
                     "- {name: e, type: http, url: '" + peers().url("/big") + "', body_limit_kib: 1}\n"
                     "- {name: f, type: http, url: '" + peers().url("/big") + "', body_limit_kib: 2}\n");
  ASSERT_EQ(r.size(), 6u);
  for (const auto& x : r) EXPECT_EQ(x.status, Status::healthy) << x.message;
  EXPECT_EQ(r[4].message, "HTTP 200 (body cut at 1 KiB)");
  EXPECT_EQ(r[5].message, "HTTP 200 (body cut at 2 KiB)");
}

// Each run opens a fresh connection (it proves the server still accepts), even to a server
// that keeps connections alive; reuse_connection: true keeps one open between runs.
TEST(HttpCheck, EachRunOpensAFreshConnectionUnlessToldToReuseIt) {
  checks::CheckResult r;
  RepeatedCheck fresh(http(peers().url("/fresh")));
  for (int i = 0; i < 3; ++i) {
    r = fresh.run();
    EXPECT_EQ(r.status, Status::healthy) << "run " << i << ": " << r.message;
  }
  RepeatedCheck reused(http(peers().url("/fresh"), "  reuse_connection: true\n"));
  EXPECT_EQ(reused.run().status, Status::healthy);
  r = reused.run();
  EXPECT_EQ(r.message, "HTTP 500 is not an expected status") << "the second run went over the first's connection";
}

TEST(HttpCheck, ATenMegabyteBodyIsCutAtTheCap) {
  auto r = runCheck(http(peers().url("/big")));
  EXPECT_EQ(r.status, Status::healthy);
  EXPECT_EQ(r.message, "HTTP 200 (body cut at 64 KiB)");
}

TEST(HttpCheck, BinaryBodyGivesAReadableMessage) {
  auto r = runCheck(http(peers().url("/binary"), "  body_match: 'text'\n"));
  EXPECT_EQ(r.status, Status::healthy) << "the match runs on raw bytes: " << r.message;
  r = runCheck(http(peers().url("/binary"), "  body_match: '^OK'\n"));
  EXPECT_EQ(r.message, "HTTP 200, body does not match /^OK/");
}

TEST(HttpCheck, ConnectionRefusedNamesTheReason) {
  auto r = runCheck(http("http://127.0.0.1:1/health"));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_EQ(r.message, "connect to 127.0.0.1:1 failed: Connection refused");
  r = runCheck(http("https://127.0.0.1:1/health"));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_NE(r.message.find("Couldn't connect to server"), std::string::npos) << "libcurl's reason: " << r.message;
}

TEST(HttpCheck, AServerThatNeverAnswersTimesOut) {
  auto r = runCheck(http(peers().url("/slow"), "  timeout: 300ms\n  interval: 1s\n"));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_EQ(r.message, "timed out after 300ms waiting for the response");
  r = runCheck(http("http://127.0.0.1:" + std::to_string(peers().port("backlog")) + "/", "  timeout: 300ms\n  interval: 1s\n"));
  EXPECT_EQ(r.message, "timed out after 300ms waiting for the response") << "connected by the kernel, never served";
}

TEST(HttpCheck, DnsFailureIsUnhealthyWithTheResolverMessage) {
  std::string name = std::string(70, 'a') + ".invalid";
  auto r = runCheck(http("http://" + name + "/"));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_EQ(r.message.rfind("cannot resolve '" + name + "': ", 0), 0u) << r.message;
  r = runCheck(http("https://" + name + "/"));
  EXPECT_NE(r.message.find("Could not resolve host"), std::string::npos) << "libcurl's reason: " << r.message;
}

// Plain http:// is read by medic itself (http_parser); https, redirects followed and kept
// connections go through libcurl. follow_redirects: true (no redirect comes) makes the
// same check take libcurl's way, so each answer below must mean the same on both.
std::pair<checks::CheckResult, checks::CheckResult> bothWays(const std::string& path, const std::string& extra = "") {
  return {runCheck(http(peers().url(path), extra)), runCheck(http(peers().url(path), extra + "  follow_redirects: true\n"))};
}

// Plain http:// is medic's own work: libcurl, and the TLS library it starts (some 2 MB of
// memory), are set up only by a check that needs them.
TEST(HttpCheck, PlainHttpLeavesLibcurlUnstarted) {
  RepeatedCheck plain(http(peers().url("/ok")));
  EXPECT_EQ(plain.run().status, Status::healthy);
  EXPECT_FALSE(plain.host().curl.started());
  RepeatedCheck viaCurl(http(peers().url("/ok"), "  follow_redirects: true\n"));
  EXPECT_EQ(viaCurl.run().status, Status::healthy);
  EXPECT_TRUE(viaCurl.host().curl.started());
}

TEST(HttpCheck, EveryWayOfEndingABodyIsReadTheSameWithOrWithoutLibcurl) {
  struct Case {
    std::string path, body, pattern;
  };
  for (const auto& [path, body, pattern] : std::vector<Case>{{"/chunked", "hello, world", "^hello, world$"},
                                                             {"/until-close", "until the end\n", "^until the end$"},
                                                             {"/ok", "{\"ok\": true}\n", "\"ok\": true"}}) {
    std::string match = "  body_match: '" + pattern + "'\n  body_not_match: '[0-9a-f]\\r\\n'\n";
    auto [own, curl] = bothWays(path, match);
    EXPECT_EQ(own.status, Status::healthy) << path << ": " << own.message;
    EXPECT_EQ(own.message, curl.message) << path;
    EXPECT_EQ(valuesOf(own)["size"], double(body.size())) << path << ": the body's bytes, without chunk framing";
    EXPECT_EQ(valuesOf(curl)["size"], double(body.size())) << path;
  }
  auto [own, curl] = bothWays("/chunked", "  expect_headers: {x-backend: '^green-1$'}\n  body_match: 'hello, world$'\n");
  EXPECT_EQ(own.status, Status::healthy) << "a header and a body split across reads: " << own.message;
  EXPECT_EQ(curl.status, Status::healthy) << curl.message;
}

TEST(HttpCheck, AnInterimResponseIsSkippedForTheRealOne) {
  auto [own, curl] = bothWays("/continue", "  expect_status: [200]\n  expect_headers: {X-Stage: '^final$'}\n  body_match: '^ok'\n");
  EXPECT_EQ(own.status, Status::healthy) << own.message;
  EXPECT_EQ(own.message, "HTTP 200");
  EXPECT_EQ(curl.message, own.message);
}

TEST(HttpCheck, AHeadRequestExpectsNoBodyWhateverItsLengthSays) {
  auto [own, curl] = bothWays("/ok", "  method: HEAD\n  timeout: 5s\n  interval: 10s\n  expect_headers: {Content-Length: '^13$'}\n");
  EXPECT_EQ(own.status, Status::healthy) << own.message;
  EXPECT_EQ(valuesOf(own)["size"], 0);
  EXPECT_EQ(curl.message, own.message);
}

TEST(HttpCheck, AnAnswerThatIsNotHttpOrNoAnswerAtAllIsUnhealthyWithTheReason) {
  auto r = runCheck(http("http://127.0.0.1:" + std::to_string(peers().port("garbage")) + "/"));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_EQ(r.message.rfind("invalid HTTP response: ", 0), 0u) << r.message;
  r = runCheck(http("http://127.0.0.1:" + std::to_string(peers().port("banner")) + "/"));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_EQ(r.message.rfind("invalid HTTP response: ", 0), 0u) << "an SSH banner: " << r.message;
  auto [own, curl] = bothWays("/empty");
  EXPECT_EQ(own.status, Status::unhealthy);
  EXPECT_EQ(own.message, "empty reply from server");
  EXPECT_EQ(curl.status, Status::unhealthy);
  EXPECT_NE(curl.message.find("Empty reply"), std::string::npos) << curl.message;
}

TEST(HttpCheck, ABodyIsPostedUnlessAMethodIsNamed) {
  auto [own, curl] = bothWays("/echo", "  body: x=1\n  body_match: '\"method\": \"POST\".*\"Content-Type\": \"application/x-www-form-urlencoded\"'\n");
  EXPECT_EQ(own.status, Status::healthy) << own.message;
  EXPECT_EQ(curl.status, Status::healthy) << curl.message;
  std::tie(own, curl) = bothWays("/echo", "  method: PUT\n  body: x=1\n  body_match: '\"method\": \"PUT\".*\"body\": \"x=1\"'\n");
  EXPECT_EQ(own.status, Status::healthy) << own.message;
  EXPECT_EQ(curl.status, Status::healthy) << curl.message;
  std::tie(own, curl) = bothWays("/echo", "  headers: {User-Agent: probe/2, Accept: ''}\n"
                                         "  body_match: '\"User-Agent\": \"probe/2\"'\n  body_not_match: '\"Accept\"'\n");
  EXPECT_EQ(own.status, Status::healthy) << "a header replaces medic's own; an empty one removes it: " << own.message;
  EXPECT_EQ(curl.status, Status::healthy) << curl.message;
}

TEST(HttpsCheck, VerifiesTheCertificateAgainstTheGivenCa) {
  auto r = runCheck(http(peers().url("/ok", true), "  ca_file: " + peers().caFile() + "\n"));
  EXPECT_EQ(r.status, Status::healthy) << r.message;
}

TEST(HttpsCheck, RejectsAnUnknownCaByDefault) {
  auto r = runCheck(http(peers().url("/ok", true)));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_NE(r.message.find("certificate"), std::string::npos) << r.message;
}

TEST(HttpsCheck, RejectsANameTheCertificateDoesNotCover) {
  std::string url = "https://localhost:" + std::to_string(peers().port("https")) + "/ok";
  auto r = runCheck(http(url, "  ca_file: " + peers().caFile() + "\n"));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_NE(r.message.find("localhost"), std::string::npos) << r.message;
}

TEST(HttpsCheck, PresentsAClientCertificateWhenTheServerDemandsOne) {
  std::string ca = "  ca_file: " + peers().caFile() + "\n";
  auto without = runCheck(http(peers().mtlsUrl("/ok"), ca));
  EXPECT_EQ(without.status, Status::unhealthy) << "the server refuses a client without a certificate";
  auto with = runCheck(http(peers().mtlsUrl("/ok"), ca + "  client_cert: " + peers().clientCert() +
                                                       "\n  client_key: " + peers().clientKey() + "\n"));
  EXPECT_EQ(with.status, Status::healthy) << with.message;
}

TEST(HttpsCheck, InsecureSkipsVerificationOnlyWhenSaidExplicitly) {
  EXPECT_EQ(runCheck(http(peers().url("/ok", true), "  insecure: true\n")).status, Status::healthy);
}

TEST(HttpValues, TimingsStatusAndSizeAreReported) {
  auto plain = valuesOf(runCheck(http(peers().url("/ok"))));
  EXPECT_EQ(plain["status"], 200);
  EXPECT_EQ(plain["size"], 13) << "the body's bytes";
  EXPECT_GT(plain["time"], 0);
  EXPECT_GE(plain["time"], plain["ttfb"]);
  EXPECT_GE(plain["ttfb"], plain["connect"]);
  EXPECT_EQ(plain.count("tls"), 0u);
  EXPECT_EQ(plain.count("cert_days"), 0u) << "no certificate on plain http";
  auto tls = valuesOf(runCheck(http(peers().url("/ok", true), "  ca_file: " + peers().caFile() + "\n")));
  EXPECT_GT(tls["tls"], 0) << "the handshake takes time";
  EXPECT_GT(tls["cert_days"], 398);
  EXPECT_LE(tls["cert_days"], 400);
}

TEST(HttpValues, ACertificateNearItsEndIsUnhealthyWithItsSubjectAndDate) {
  std::string url = "https://127.0.0.1:" + std::to_string(peers().port("https-expiring")) + "/ok";
  std::string ca = "  ca_file: " + peers().caFile() + "\n";
  auto r = runCheck(http(url, ca));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_THAT(r.message, testing::MatchesRegex("HTTP 200, certificate /CN=expiring.test expires 20[0-9-]+ [0-9:]+ UTC "
                                               "\\(in 3 days\\), less than cert_crit_days 7"));
  EXPECT_NEAR(valuesOf(r)["cert_days"], 3, 0.1);
  auto warned = runCheck(http(url, ca + "  cert_crit_days: 2\n"));
  EXPECT_EQ(warned.status, Status::degraded) << warned.message;
  EXPECT_NE(warned.message.find("less than cert_warn_days 30"), std::string::npos) << warned.message;
  EXPECT_EQ(runCheck(http(url, ca + "  cert_warn_days: 0\n  cert_crit_days: 0\n")).status, Status::healthy) << "0 turns it off";
  auto upper = runCheck(http("HTTPS" + url.substr(5), ca + "  cert_crit_days: 7\n"));
  EXPECT_EQ(upper.status, Status::unhealthy) << "a scheme in capitals is https all the same: " << upper.message;
  EXPECT_NEAR(valuesOf(upper)["cert_days"], 3, 0.1);
}

}  // namespace

