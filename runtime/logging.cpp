#include "runtime/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "runtime/text.h"

namespace medic {

namespace {

// Every log line is one line of valid UTF-8, whatever a message carries from outside
// (a plugin's output, a receiver's answer, an alert's headline): escaped once, here, for
// every sink, rather than at each of the hundreds of places that log.
class EscapingSink final : public spdlog::sinks::sink {
 public:
  explicit EscapingSink(std::shared_ptr<spdlog::sinks::sink> inner) : inner_(std::move(inner)) {}
  void log(const spdlog::details::log_msg& msg) override {
    std::string_view text(msg.payload.data(), msg.payload.size());
    if (isPlainText(text)) return inner_->log(msg);
    std::string escaped = escapeText(text);
    spdlog::details::log_msg copy = msg;
    copy.payload = spdlog::string_view_t(escaped.data(), escaped.size());
    inner_->log(copy);
  }
  void flush() override { inner_->flush(); }
  void set_pattern(const std::string& pattern) override { inner_->set_pattern(pattern); }
  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override { inner_->set_formatter(std::move(formatter)); }

 private:
  std::shared_ptr<spdlog::sinks::sink> inner_;
};

thread_local const LogAbout* innermost = nullptr;

// To the journal, as spdlog's systemd sink does, with what the line is about (LogAbout).
class JournalSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    int priority = msg.level == spdlog::level::critical ? 2
                   : msg.level == spdlog::level::err    ? 3
                   : msg.level == spdlog::level::warn   ? 4
                   : msg.level == spdlog::level::info   ? 6
                                                        : 7;
    std::vector<std::string> fields = {"MESSAGE=" + std::string(msg.payload.data(), msg.payload.size()),
                                       "PRIORITY=" + std::to_string(priority), "SYSLOG_IDENTIFIER=medic"};
    if (const LogAbout* about = LogAbout::current()) {
      if (!about->service().empty()) fields.push_back("MEDIC_SERVICE=" + std::string(about->service()));
      if (!about->check().empty()) fields.push_back("MEDIC_CHECK=" + std::string(about->check()));
      if (!about->status().empty()) fields.push_back("MEDIC_STATUS=" + std::string(about->status()));
    }
    std::vector<iovec> iov;
    iov.reserve(fields.size());
    for (auto& f : fields) iov.push_back({f.data(), f.size()});
    sd_journal_sendv(iov.data(), int(iov.size()));
  }
  void flush_() override {}
};

}  // namespace

LogAbout::LogAbout(std::string_view service, std::string_view check, std::string_view status)
    : outer_(innermost), service_(service), check_(check), status_(status) {
  innermost = this;
}

LogAbout::~LogAbout() { innermost = outer_; }

const LogAbout* LogAbout::current() { return innermost; }

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
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (stderrIsJournal()) {
    sink = std::make_shared<JournalSink>();
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_color_sink_st>();
    sink->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  }
  auto logger = std::make_shared<spdlog::logger>("medic", std::make_shared<EscapingSink>(std::move(sink)));
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

}  // namespace medic
