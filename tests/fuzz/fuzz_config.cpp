// The YAML config loader, given any bytes as /etc/medic/medic.yaml: a config or a list of
// errors naming file:line:col, never a crash, a hang or an exception out of loadConfig.
#include <spdlog/spdlog.h>

#include "config/loader.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool quiet = (spdlog::set_level(spdlog::level::off), true);
  (void)quiet;
  std::string dir = medic::fuzz::scratchDir();
  std::string main = dir + "/medic.yaml";
  medic::fuzz::writeFile(main, {reinterpret_cast<const char*>(data), size});
  auto result = medic::config::loadConfig(main);
  if (result.config.has_value() == !result.errors.empty()) medic::fuzz::broken("a config and errors, or neither");
  for (const auto& e : result.errors.all())
    if (e.where.file.empty() || e.message.empty()) medic::fuzz::broken("an error that names no file or says nothing: " + e.str());
  if (result.config) {
    // What `medic plan` and the agent derive from a loaded config must hold for any config.
    (void)result.config->checkCount();
    for (const auto& s : result.config->services)
      for (size_t i = 0; i <= s.recovery.ladders.size(); ++i) {
        (void)s.recovery.ladderName(int(i) - 1);
        (void)s.recovery.steps(int(i) - 1);
      }
  }
  return 0;
}
