// HttpResponseReader: what a plain http check reads from its socket, fed as the network may
// deliver it (all at once, or a byte at a time).
#include <gtest/gtest.h>

#include "checks/http_response.h"

using medic::checks::HttpResponseReader;
using State = HttpResponseReader::State;

namespace {

struct Read {
  State state;
  int status;
  std::string body;
  bool truncated;
  std::optional<std::string> backend;
  std::string error;
};

// Feeds `bytes` in pieces of `step` bytes, then the close when `close` says so.
Read read(const std::string& bytes, size_t step, bool close = false, size_t cap = 64, bool head = false) {
  const std::vector<std::string> wanted = {"x-backend"};
  HttpResponseReader r(wanted, cap, head);
  for (size_t i = 0; i < bytes.size() && r.state() == State::reading; i += step)
    r.feed(bytes.data() + i, std::min(step, bytes.size() - i));
  if (close) r.closed();
  return {r.state(), r.status(), r.body(), r.truncated(), r.header(0), r.error()};
}

// Every answer must read the same whether it comes at once or a byte at a time.
void expectSameInPieces(const std::string& bytes, bool close = false, size_t cap = 64, bool head = false) {
  Read whole = read(bytes, bytes.size() + 1, close, cap, head);
  Read bytewise = read(bytes, 1, close, cap, head);
  EXPECT_EQ(whole.state, bytewise.state);
  EXPECT_EQ(whole.status, bytewise.status);
  EXPECT_EQ(whole.body, bytewise.body);
  EXPECT_EQ(whole.backend, bytewise.backend);
  EXPECT_EQ(whole.error, bytewise.error);
}

TEST(HttpResponseReader, AResponseWithALengthIsCompleteAtItsLastByte) {
  std::string answer = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\nX-Backend:  blue-3 \r\n\r\ndown\n";
  Read r = read(answer, answer.size());
  EXPECT_EQ(r.state, State::complete);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "down\n");
  EXPECT_EQ(r.backend, "blue-3") << "the value without the whitespace around it";
  EXPECT_EQ(read(answer.substr(0, answer.size() - 1), 1).state, State::reading) << "one byte short: still reading";
  expectSameInPieces(answer);
}

TEST(HttpResponseReader, AChunkedBodyIsReadWithoutItsFraming) {
  std::string answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nx-BACKEND: green-1\r\n\r\n"
                       "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: t\r\n\r\n";
  Read r = read(answer, answer.size());
  EXPECT_EQ(r.state, State::complete);
  EXPECT_EQ(r.body, "hello, world");
  EXPECT_EQ(r.backend, "green-1") << "header names in any case";
  expectSameInPieces(answer);
}

TEST(HttpResponseReader, ABodyWithoutALengthEndsWhenThePeerCloses) {
  std::string answer = "HTTP/1.0 200 OK\r\n\r\nall of it";
  EXPECT_EQ(read(answer, answer.size()).state, State::reading);
  Read r = read(answer, answer.size(), true);
  EXPECT_EQ(r.state, State::complete);
  EXPECT_EQ(r.body, "all of it");
  expectSameInPieces(answer, true);
}

TEST(HttpResponseReader, AClosedConnectionBeforeTheEndIsAFailureThatSaysSo) {
  Read cut = read("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", 100, true);
  EXPECT_EQ(cut.state, State::failed);
  EXPECT_EQ(cut.error, "the connection closed before the response was complete");
  Read none = read("", 1, true);
  EXPECT_EQ(none.state, State::failed);
  EXPECT_EQ(none.error, "empty reply from server");
}

TEST(HttpResponseReader, InterimResponsesAreSkippedAndTheirHeadersForgotten) {
  std::string answer = "HTTP/1.1 100 Continue\r\nX-Backend: interim\r\n\r\n"
                       "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
                       "HTTP/1.1 204 No Content\r\n\r\n";
  Read r = read(answer, answer.size());
  EXPECT_EQ(r.state, State::complete);
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.backend, std::nullopt) << "the final response has no X-Backend";
  expectSameInPieces(answer);
}

// Found by fuzz_response (tests/fuzz/regressions/response/): each of these read differently
// whole and split, or ended "complete" on an answer that was none.
TEST(HttpResponseReader, WhatFollowsTheAnswerOnTheConnectionIsNotReadIntoIt) {
  std::string answer = "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 404 Not Found\r\nX-Backend: x\r\nContent-Length: 1\r\n\r\n?";
  Read r = read(answer, answer.size());
  EXPECT_EQ(r.state, State::complete);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.backend, std::nullopt);
  EXPECT_EQ(r.body, "");
  expectSameInPieces(answer);
}

TEST(HttpResponseReader, AnInterimResponseHasNoBodyAndAStatusHasThreeDigits) {
  std::string interim = "HTTP/1.1 111 Odd\r\nContent-Length: 3\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  Read r = read(interim, interim.size());
  EXPECT_EQ(r.state, State::complete) << "the 111's headers end it; the 200 follows";
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok");
  Read twoDigits = read("HTTP/1.1 10 OK\r\n\r\nbody until the close", 100, true);
  EXPECT_EQ(twoDigits.state, State::failed);
  EXPECT_EQ(twoDigits.error, "invalid HTTP response: status 10");
}

TEST(HttpResponseReader, TheBodyStopsAtTheCap) {
  std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x');
  Read r = read(answer, answer.size(), false, 10);
  EXPECT_EQ(r.state, State::complete);
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.body, std::string(10, 'x'));
  expectSameInPieces(answer, false, 10);
}

TEST(HttpResponseReader, TheAnswerToHeadHasNoBodyWhateverItsLengthSays) {
  std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
  EXPECT_EQ(read(answer, answer.size(), false, 64, true).state, State::complete);
  EXPECT_EQ(read(answer, answer.size(), false, 64, false).state, State::reading);
}

TEST(HttpResponseReader, BytesThatAreNotHttpFailWithTheParsersReason) {
  Read r = read("SSH-2.0-OpenSSH_9.2\r\n", 100);
  EXPECT_EQ(r.state, State::failed);
  EXPECT_EQ(r.error.rfind("invalid HTTP response: ", 0), 0u) << r.error;
  EXPECT_EQ(read("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 100).state, State::failed)
      << "two lengths: a smuggling attempt, not an answer";
  std::string endless = "HTTP/1.1 200 OK\r\nX-Pad: " + std::string(100 * 1024, 'p');
  Read big = read(endless, 4096);
  EXPECT_EQ(big.state, State::failed) << "headers have a size limit";
  expectSameInPieces("HTTP/1.1 2x0 OK\r\n\r\n");
}

}  // namespace
