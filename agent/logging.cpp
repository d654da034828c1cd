#include "agent/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>

namespace medic::agent {

static bool detectJournalStream() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (!stream) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  return fstat(2, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

bool stderrIsJournal() {
  static const bool journal = detectJournalStream();  // asked per journal event: decide once
  return journal;
}

void setupLogging(const std::string& level) {
  std::shared_ptr<spdlog::logger> logger;
  if (stderrIsJournal()) {
    logger = std::make_shared<spdlog::logger>("medic", std::make_shared<spdlog::sinks::systemd_sink_st>("medic"));
  } else {
    logger = std::make_shared<spdlog::logger>("medic", std::make_shared<spdlog::sinks::stderr_color_sink_st>());
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  }
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

}  // namespace medic::agent
