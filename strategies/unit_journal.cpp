#include "strategies/unit_journal.h"

#include <systemd/sd-journal.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <memory>

#include "runtime/text.h"

namespace medic::strategies {

namespace {

// A field's value, or empty: sd_journal_get_data gives "FIELD=value".
std::string_view field(sd_journal* j, const char* name) {
  const void* data = nullptr;
  size_t length = 0;
  if (sd_journal_get_data(j, name, &data, &length) < 0) return {};
  std::string_view v(static_cast<const char*>(data), length);
  size_t eq = v.find('=');
  return eq == std::string_view::npos ? std::string_view{} : v.substr(eq + 1);
}

// What `journalctl -u UNIT` matches (systemd's add_matches_for_unit): the unit's own
// processes, its core dumps, PID 1 about it, and root's daemons about it.
int addUnitMatches(sd_journal* j, const std::string& unit) {
  auto match = [&](const std::string& term) { return sd_journal_add_match(j, term.data(), term.size()); };
  int r = 0;
  if ((r = match("_SYSTEMD_UNIT=" + unit)) < 0 || (r = sd_journal_add_disjunction(j)) < 0) return r;
  if ((r = match("MESSAGE_ID=fc2e22bc6ee647b6b90729ab34a250b1")) < 0 || (r = match("_UID=0")) < 0 ||
      (r = match("COREDUMP_UNIT=" + unit)) < 0 || (r = sd_journal_add_disjunction(j)) < 0)
    return r;
  if ((r = match("_PID=1")) < 0 || (r = match("UNIT=" + unit)) < 0 || (r = sd_journal_add_disjunction(j)) < 0) return r;
  if ((r = match("_UID=0")) < 0 || (r = match("OBJECT_SYSTEMD_UNIT=" + unit)) < 0) return r;
  return 0;
}

}  // namespace

std::vector<std::string> fitExcerpt(std::vector<std::string> lines, const ExcerptLimits& limits) {
  for (auto& line : lines) {
    std::string escaped = escapeText(line, limits.lineBytes);
    bool cut = line.size() > limits.lineBytes || (escaped.ends_with("...") && !line.ends_with("..."));
    line = std::move(escaped);
    if (cut) line += " [cut]";
  }
  size_t total = 0, keep = lines.size();
  while (keep > 0 && total + lines[keep - 1].size() + 1 <= limits.totalBytes) total += lines[--keep].size() + 1;
  if (keep == 0) return lines;
  std::vector<std::string> out;
  out.push_back("[" + std::to_string(keep) + " earlier line" + (keep == 1 ? "" : "s") + " left out]");
  out.insert(out.end(), std::make_move_iterator(lines.begin() + long(keep)), std::make_move_iterator(lines.end()));
  return out;
}

std::vector<std::string> readUnitJournal(const std::string& unit, const ExcerptLimits& limits, uint64_t untilUsec,
                                         std::string* error) {
  auto fail = [&](const char* what, int r) {
    if (error) *error = std::string(what) + ": " + std::strerror(-r);
    return std::vector<std::string>{};
  };
  sd_journal* raw = nullptr;
  int r = sd_journal_open(&raw, SD_JOURNAL_LOCAL_ONLY);
  if (r < 0) return fail("cannot open the journal", r);
  std::unique_ptr<sd_journal, decltype(&sd_journal_close)> j(raw, sd_journal_close);
  sd_journal_set_data_threshold(j.get(), limits.lineBytes + 64);  // (enough to know a message was longer)
  if ((r = addUnitMatches(j.get(), unit)) < 0) return fail("cannot match the unit's entries", r);
  r = untilUsec ? sd_journal_seek_realtime_usec(j.get(), untilUsec) : sd_journal_seek_tail(j.get());
  if (r < 0) return fail("cannot seek the journal", r);
  std::vector<std::string> lines;
  while (lines.size() < limits.lines && (r = sd_journal_previous(j.get())) > 0) {
    std::string_view message = field(j.get(), "MESSAGE");
    std::string_view who = field(j.get(), "SYSLOG_IDENTIFIER");
    if (who.empty()) who = field(j.get(), "_COMM");
    std::string_view pid = field(j.get(), "_PID");
    uint64_t usec = 0;
    char stamp[32] = "";
    if (sd_journal_get_realtime_usec(j.get(), &usec) >= 0) {
      std::time_t t = std::time_t(usec / 1000000);
      struct tm tm {};
      localtime_r(&t, &tm);
      std::strftime(stamp, sizeof stamp, "%b %d %H:%M:%S", &tm);
    }
    // (escaped and cut by fitExcerpt, like the message)
    lines.push_back(std::string(stamp) + " " + std::string(who.substr(0, 64)) + (pid.empty() ? "" : "[" + std::string(pid) + "]") +
                    ": " + std::string(message));
  }
  if (r < 0) return fail("cannot read the journal", r);
  std::reverse(lines.begin(), lines.end());
  return fitExcerpt(std::move(lines), limits);
}

}  // namespace medic::strategies
