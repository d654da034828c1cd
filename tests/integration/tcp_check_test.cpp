// The tcp check against listeners that accept, refuse, hang and send garbage.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>

#include "harness.h"
#include "runtime/resolver.h"

using namespace medic;
using namespace medic::test;
using checks::Status;

namespace {

LoopbackPeers& peers() { return sharedPeers(); }

std::string tcp(const std::string& host, int port, const std::string& extra = "") {
  return "- name: t\n  type: tcp\n  host: \"" + host + "\"\n  port: " + std::to_string(port) + "\n" + extra;
}

TEST(TcpCheck, HealthyWhenTheConnectionIsAccepted) {
  auto r = runCheck(tcp("127.0.0.1", peers().port("banner")));
  EXPECT_EQ(r.status, Status::healthy);
  EXPECT_EQ(r.message, "connected to 127.0.0.1:" + std::to_string(peers().port("banner")));
}

TEST(TcpCheck, RefusedIsUnhealthy) {
  int port = freeLoopbackPort();
  auto r = runCheck(tcp("127.0.0.1", port));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_EQ(r.message, "connect to 127.0.0.1:" + std::to_string(port) + " failed: Connection refused");
}

TEST(TcpCheck, ExpectMatchesTheBanner) {
  EXPECT_EQ(runCheck(tcp("127.0.0.1", peers().port("banner"), "  expect: '^SSH-2\\.0'\n")).status, Status::healthy);
}

TEST(TcpCheck, SendThenExpect) {
  auto r = runCheck(tcp("127.0.0.1", peers().port("pingpong"), "  send: \"PING\\r\\n\"\n  expect: PONG\n"));
  EXPECT_EQ(r.status, Status::healthy) << r.message;
  EXPECT_EQ(r.message, "reply matches /PONG/");
}

TEST(TcpCheck, GarbageIsShownEscaped) {
  auto r = runCheck(tcp("127.0.0.1", peers().port("garbage"), "  expect: '^HELLO'\n"));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_EQ(r.message.rfind("connection closed without a reply matching /^HELLO/; got '\\x00\\x01\\x02", 0), 0u) << r.message;
}

TEST(TcpCheck, AServerThatNeverAnswersTimesOut) {
  auto r = runCheck(tcp("127.0.0.1", peers().port("silent"), "  expect: x\n  timeout: 200ms\n  interval: 1s\n"));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_EQ(r.message, "timed out after 200ms waiting for a reply");
}

TEST(TcpCheck, NamesAreResolvedWithoutBlocking) {
  EXPECT_EQ(runCheck(tcp("localhost", peers().port("banner"))).status, Status::healthy);
  auto r = runCheck(tcp(std::string(70, 'a') + ".invalid", 80));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_EQ(r.message.rfind("cannot resolve '", 0), 0u) << r.message;
}

// The resolver a TCP check asks for a name: the answer comes on the loop, never inside
// resolve(), and reaches no one once its lookup is cancelled. (One worker answers in order,
// so once the later lookup is answered the cancelled one has been delivered too.)
TEST(Resolver, ANameIsAnsweredOnTheLoopUnlessCancelled) {
  EventLoop loop;
  Resolver resolver(loop, 1);
  std::vector<std::string> answered;
  uint64_t cancelled = resolver.resolve("localhost", 80, [&](ResolvedAddresses) { answered.push_back("cancelled"); });
  resolver.resolve("localhost", 81, [&](ResolvedAddresses r) { answered.push_back("kept " + r.error); });
  EXPECT_TRUE(answered.empty()) << "answered inside resolve()";
  resolver.cancel(cancelled);
  runLoopUntil(loop, [&] { return !answered.empty(); });
  EXPECT_THAT(answered, testing::ElementsAre("kept "));
}

// A reload replaces the probe runner while the clean-up of a probe it has just finished may
// still wait its turn on the loop. Here each run has a runner of its own on one loop, as
// across reloads: the old runner's clean-up must not touch it once it is gone. (Before the
// fix, a heap use after free that AddressSanitizer, as dev/test runs this, reports.)
TEST(TcpCheck, RunsOnALoopWhoseEarlierRunnerIsGoneTouchNothingOfIt) {
  RepeatedCheck check(tcp("127.0.0.1", peers().port("banner")));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(check.run().status, Status::healthy);
}

TEST(TcpCheck, Ipv6Loopback) {
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) GTEST_SKIP() << "no IPv6 loopback here";
  listen(fd, 8);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  auto r = runCheck(tcp("::1", ntohs(a.sin6_port)));
  close(fd);
  EXPECT_EQ(r.status, Status::healthy) << r.message;
  EXPECT_EQ(r.message, "connected to [::1]:" + std::to_string(ntohs(a.sin6_port)));
}

// TLS on tcp: the same verification as an https:// check, then the exchange over TLS.
std::string tls(int port, const std::string& extra, const std::string& host = "127.0.0.1") {
  return tcp(host, port, "  tls: true\n  send: \"PING\\r\\n\"\n  expect: PONG\n" + extra);
}
std::string trusted() { return "  ca_file: " + peers().caFile() + "\n"; }

TEST(TcpTls, SendAndExpectOverAVerifiedConnection) {
  auto r = runCheck(tls(peers().port("tls-pingpong"), trusted()));
  EXPECT_EQ(r.status, Status::healthy) << r.message;
  EXPECT_EQ(r.message, "reply matches /PONG/");
  auto v = valuesOf(r);
  EXPECT_GT(v["tls"], 0) << "the handshake's time";
  EXPECT_GE(v["time"], v["connect"] + v["tls"]);
}

TEST(TcpCheck, ReportsConnectAndTotalTime) {
  auto v = valuesOf(runCheck(tcp("127.0.0.1", peers().port("pingpong"), "  send: \"PING\\r\\n\"\n  expect: PONG\n")));
  ASSERT_EQ(v.count("connect"), 1u);
  EXPECT_GE(v["time"], v["connect"]);
  EXPECT_EQ(v.count("tls"), 0u);
}

TEST(TcpTls, ACertificateNearItsEndIsJudgedAsForHttps) {
  auto r = runCheck(tls(peers().port("tls-expiring"), trusted()));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_THAT(r.message, testing::MatchesRegex("reply matches /PONG/, certificate /CN=expiring.test expires 20[0-9-]+ [0-9:]+ UTC "
                                               "\\(in 3 days\\), less than cert_crit_days 7"));
  EXPECT_NEAR(valuesOf(r)["cert_days"], 3, 0.15);
  EXPECT_NEAR(valuesOf(runCheck(tls(peers().port("tls-pingpong"), trusted())))["cert_days"], 400, 1.5);
  EXPECT_EQ(runCheck(tls(peers().port("tls-expiring"), trusted() + "  cert_crit_days: 0\n  cert_warn_days: 0\n")).status,
            Status::healthy);
}

TEST(TcpTls, ConnectOnlyNamesTheVerification) {
  int port = peers().port("tls-pingpong");
  auto r = runCheck(tcp("127.0.0.1", port, "  tls: true\n" + trusted()));
  EXPECT_EQ(r.status, Status::healthy) << r.message;
  EXPECT_EQ(r.message, "TLS connection to 127.0.0.1:" + std::to_string(port) + ", certificate verified");
}

TEST(TcpTls, AnUntrustedCertificateIsRefused) {
  // No ca_file: the test CA is not in the system's store, so the chain is self-signed to us.
  int port = peers().port("tls-pingpong");
  auto r = runCheck(tls(port, ""));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_EQ(r.message.rfind("TLS connection to 127.0.0.1:" + std::to_string(port) + " failed: SSL certificate problem: ", 0), 0u)
      << r.message;
}

TEST(TcpTls, AWrongHostNameIsRefused) {
  // The server's certificate names 127.0.0.1 only.
  auto r = runCheck(tls(peers().port("tls-pingpong"), trusted(), "localhost"));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_NE(r.message.find("failed: SSL: no alternative certificate subject name matches target host name 'localhost'"),
            std::string::npos) << r.message;
}

TEST(TcpTls, InsecureSaidExplicitlySkipsVerification) {
  auto r = runCheck(tls(peers().port("tls-pingpong"), "  insecure: true\n", "localhost"));
  EXPECT_EQ(r.status, Status::healthy) << r.message;
}

TEST(TcpTls, AClientCertificateWhenThePeerDemandsOne) {
  int port = peers().port("mtls-pingpong");
  auto without = runCheck(tls(port, trusted()));
  EXPECT_EQ(without.status, Status::unhealthy) << without.message;
  auto with = runCheck(tls(port, trusted() + "  client_cert: " + peers().clientCert() + "\n  client_key: " +
                                     peers().clientKey() + "\n"));
  EXPECT_EQ(with.status, Status::healthy) << with.message;
}

TEST(TcpTls, APlainServerIsNotTakenForTls) {
  int port = peers().port("banner");  // answers the handshake with an SSH banner
  auto r = runCheck(tls(port, trusted()));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_EQ(r.message.rfind("TLS connection to 127.0.0.1:" + std::to_string(port) + " failed: ", 0), 0u) << r.message;
}

TEST(TcpTls, ATlsServerThatNeverAnswersTimesOutInTheExchange) {
  // The handshake completes; the reply never comes (pingpong waits for PING, we send nothing).
  auto r = runCheck(tcp("127.0.0.1", peers().port("tls-pingpong"), "  tls: true\n  expect: PONG\n  timeout: 300ms\n  interval: 1s\n" + trusted()));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_EQ(r.message, "timed out after 300ms waiting for a reply");
}

TEST(TcpTls, APeerThatNeverShakesHandsTimesOutInTheHandshake) {
  auto r = runCheck(tcp("127.0.0.1", peers().port("silent"), "  tls: true\n  timeout: 300ms\n  interval: 1s\n" + trusted()));
  EXPECT_EQ(r.status, Status::unhealthy);
  EXPECT_EQ(r.message, "timed out after 300ms in the TLS handshake");
}

}  // namespace
