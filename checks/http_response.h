#pragma once
/// An HTTP/1.1 response read from a connection's bytes, as an http check needs it: the
/// final response's status, the first value of each header asked for, and the body up to a
/// cap. Debian's http_parser does the parsing (chunked and EOF-delimited bodies, interim
/// 1xx responses, size limits); nothing here reads HTTP syntax itself.
#include <http_parser.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace medic::checks {

class HttpResponseReader {
 public:
  enum class State { reading, complete, failed };

  /// `wantedHeaders`: names (any case) whose first value to keep. `head`: the answer to a
  /// HEAD request, which has no body whatever its headers say.
  /// The names are made once per check and kept by the caller for the reader's life.
  HttpResponseReader(const std::vector<std::string>& wantedHeaders, size_t bodyCap, bool head);
  HttpResponseReader(std::vector<std::string>&&, size_t, bool) = delete;
  HttpResponseReader(const HttpResponseReader&) = delete;
  HttpResponseReader& operator=(const HttpResponseReader&) = delete;

  /// The next bytes from the connection.
  State feed(const char* data, size_t len);
  /// The peer closed the connection: completes a body that runs until then, or fails.
  State closed();

  State state() const { return state_; }
  bool anyBytes() const { return anyBytes_; }
  int status() const { return status_; }
  /// The value of wantedHeaders[i] in the final response; none when it had no such header.
  const std::optional<std::string>& header(size_t i) const { return values_[i]; }
  const std::string& body() const { return body_; }
  bool truncated() const { return truncated_; }
  /// Body bytes received, past the cap too.
  size_t bodyBytes() const { return bodyBytes_; }
  /// Why it failed, for the check's message.
  const std::string& error() const { return error_; }

 private:
  static int onMessageBegin(http_parser*);
  static int onHeaderField(http_parser*, const char*, size_t);
  static int onHeaderValue(http_parser*, const char*, size_t);
  static int onHeadersComplete(http_parser*);
  static int onBody(http_parser*, const char*, size_t);
  static int onMessageComplete(http_parser*);
  static const http_parser_settings kSettings;
  void keepHeader();
  State after();  // the state once the parser has taken the bytes

  http_parser parser_;
  const std::vector<std::string>& wanted_;
  std::vector<std::optional<std::string>> values_;
  std::string field_, value_;  // the header being read, when one is wanted
  bool inValue_ = false;
  size_t cap_;
  bool head_;
  int status_ = 0;
  std::string body_;
  bool truncated_ = false;
  size_t bodyBytes_ = 0;
  bool anyBytes_ = false;
  State state_ = State::reading;
  std::string error_;
};

}  // namespace medic::checks
