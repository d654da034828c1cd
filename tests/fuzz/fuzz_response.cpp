// What an HTTP server answers a plain http check (any bytes, from whatever listens on the
// checked port): the reader never crashes nor reads past its cap, and the answer reads the
// same however the network splits it (the first byte picks a split point and whether the
// peer then closes).
#include "checks/http_response.h"
#include "fuzz_support.h"

using namespace medic;
using checks::HttpResponseReader;

namespace {

struct Outcome {
  HttpResponseReader::State state;
  int status;
  std::string body, error;
  std::optional<std::string> header;
};

Outcome readIn(std::string_view bytes, size_t split, bool close) {
  static const std::vector<std::string> wanted = {"content-type"};
  HttpResponseReader r(wanted, 256, false);
  r.feed(bytes.data(), split);
  r.feed(bytes.data() + split, bytes.size() - split);
  if (close) r.closed();
  if (r.body().size() > 256) fuzz::broken("the body grew past its cap");
  if ((r.state() == HttpResponseReader::State::failed) == r.error().empty()) fuzz::broken("a failure without a reason, or a reason without one");
  if (r.state() == HttpResponseReader::State::complete && (r.status() < 200 || r.status() > 999))
    fuzz::broken("complete with a status that is not final: " + std::to_string(r.status()));
  return {r.state(), r.status(), r.body(), r.error(), r.header(0)};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  bool close = data[0] & 1;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t split = bytes.empty() ? 0 : data[0] % (bytes.size() + 1);
  Outcome whole = readIn(bytes, bytes.size(), close);
  Outcome split2 = readIn(bytes, split, close);
  // A failed answer is reported by its reason alone: what was read before it does not count.
  bool failed = whole.state == HttpResponseReader::State::failed;
  if (whole.state != split2.state || whole.error != split2.error ||
      (!failed && (whole.status != split2.status || whole.body != split2.body || whole.header != split2.header)))
    fuzz::broken("the answer reads differently when split at " + std::to_string(split));
  return 0;
}
