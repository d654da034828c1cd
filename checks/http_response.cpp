#include "checks/http_response.h"

#include <strings.h>

#include <utility>

namespace medic::checks {

const http_parser_settings HttpResponseReader::kSettings = [] {
  http_parser_settings s{};
  s.on_message_begin = &HttpResponseReader::onMessageBegin;
  s.on_header_field = &HttpResponseReader::onHeaderField;
  s.on_header_value = &HttpResponseReader::onHeaderValue;
  s.on_headers_complete = &HttpResponseReader::onHeadersComplete;
  s.on_body = &HttpResponseReader::onBody;
  s.on_message_complete = &HttpResponseReader::onMessageComplete;
  return s;
}();

HttpResponseReader::HttpResponseReader(const std::vector<std::string>& wantedHeaders, size_t bodyCap, bool head)
    : wanted_(wantedHeaders), values_(wanted_.size()), cap_(bodyCap), head_(head) {
  http_parser_init(&parser_, HTTP_RESPONSE);
  parser_.data = this;
}

// Each response starts afresh: an interim 1xx response is followed by the real one.
int HttpResponseReader::onMessageBegin(http_parser* p) {
  auto* me = static_cast<HttpResponseReader*>(p->data);
  for (auto& v : me->values_) v.reset();
  me->field_.clear(), me->value_.clear(), me->inValue_ = false;
  me->body_.clear(), me->bodyBytes_ = 0;
  return 0;
}

// A name or value may come in pieces, split across reads.
int HttpResponseReader::onHeaderField(http_parser* p, const char* at, size_t n) {
  auto* me = static_cast<HttpResponseReader*>(p->data);
  if (me->wanted_.empty()) return 0;
  if (me->inValue_) me->keepHeader();
  me->field_.append(at, n);
  return 0;
}

int HttpResponseReader::onHeaderValue(http_parser* p, const char* at, size_t n) {
  auto* me = static_cast<HttpResponseReader*>(p->data);
  if (me->wanted_.empty()) return 0;
  me->inValue_ = true;
  me->value_.append(at, n);
  return 0;
}

void HttpResponseReader::keepHeader() {
  value_.erase(value_.find_last_not_of(" \t") + 1);  // the parser drops the whitespace before a value, not after
  for (size_t i = 0; i < wanted_.size(); ++i)
    if (!values_[i] && field_.size() == wanted_[i].size() && strncasecmp(field_.data(), wanted_[i].data(), field_.size()) == 0)
      values_[i] = value_;
  field_.clear(), value_.clear(), inValue_ = false;
}

int HttpResponseReader::onHeadersComplete(http_parser* p) {
  auto* me = static_cast<HttpResponseReader*>(p->data);
  if (me->inValue_) me->keepHeader();
  me->status_ = p->status_code;
  if (p->status_code < 100) {  // the parser takes any number; HTTP's codes have three digits
    me->error_ = "invalid HTTP response: status " + std::to_string(p->status_code);
    return -1;
  }
  // 1: no body follows. An interim (1xx) response never has one, whatever its headers say.
  return me->head_ || p->status_code < 200 ? 1 : 0;
}

int HttpResponseReader::onBody(http_parser* p, const char* at, size_t n) {
  auto* me = static_cast<HttpResponseReader*>(p->data);
  me->bodyBytes_ += n;
  size_t room = me->cap_ - me->body_.size();
  me->body_.append(at, std::min(n, room));
  if (n <= room) return 0;
  me->truncated_ = true;
  return 1;  // stop: we have all we will look at
}

int HttpResponseReader::onMessageComplete(http_parser* p) {
  auto* me = static_cast<HttpResponseReader*>(p->data);
  if (p->status_code < 200) return 0;  // an interim response: the real one follows
  me->state_ = State::complete;
  http_parser_pause(p, 1);  // whatever follows on the connection is not this answer
  return 0;
}

HttpResponseReader::State HttpResponseReader::after() {
  if (state_ != State::reading) return state_;
  if (truncated_) return state_ = State::complete;
  if (!error_.empty()) return state_ = State::failed;
  auto err = HTTP_PARSER_ERRNO(&parser_);
  if (err != HPE_OK) {
    error_ = std::string("invalid HTTP response: ") + http_errno_description(err);
    return state_ = State::failed;
  }
  return state_;
}

HttpResponseReader::State HttpResponseReader::feed(const char* data, size_t len) {
  if (state_ != State::reading || len == 0) return state_;
  anyBytes_ = true;
  http_parser_execute(&parser_, &kSettings, data, len);
  return after();
}

HttpResponseReader::State HttpResponseReader::closed() {
  if (state_ != State::reading) return state_;
  http_parser_execute(&parser_, &kSettings, nullptr, 0);  // completes a body that ran until the close
  if (state_ == State::complete) return state_;
  error_ = anyBytes_ ? "the connection closed before the response was complete" : "empty reply from server";
  return state_ = State::failed;
}

}  // namespace medic::checks
