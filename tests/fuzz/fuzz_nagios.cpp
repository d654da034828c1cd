// What a Nagios plugin prints (any bytes, from a check medic runs as a configured user):
// the message is valid UTF-8 for the journal and alerts, and perfdata values are numbers.
#include <cmath>

#include "checks/nagios.h"
#include "fuzz_support.h"
#include "runtime/text.h"

using namespace medic;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto out = checks::parsePluginOutput(text);
  if (sanitizeUtf8(out.message) != out.message) fuzz::broken("the message is not valid UTF-8");
  for (const auto& p : checks::parsePerfdata(text)) {
    if (p.label.empty()) fuzz::broken("a perfdata item without a label");
    if (!std::isfinite(p.value)) fuzz::broken("a perfdata value that is not a finite number: " + p.label);
  }
  return 0;
}
