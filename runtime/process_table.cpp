#include "runtime/process_table.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace medic {

namespace {

// Small files under /proc: one read() each, no streams.
bool slurp(const std::string& path, std::string& out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[4096];
  out.clear();
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    out.append(buf, n);
    if (out.size() >= 64 * 1024) break;
  }
  close(fd);
  return n >= 0;
}

}  // namespace

bool readProcess(pid_t pid, ProcessInfo& out) {
  std::string base = "/proc/" + std::to_string(pid);
  std::string stat;
  if (!slurp(base + "/stat", stat)) return false;
  // "PID (comm) S ..." where comm may itself contain spaces and parentheses.
  size_t open = stat.find('('), close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 2 >= stat.size()) return false;
  out.pid = pid;
  out.comm = stat.substr(open + 1, close - open - 1);
  out.state = stat[close + 2];
  // After the state: fields 4..24 of proc(5); utime and stime are 14 and 15, rss (pages) 24.
  unsigned long long utime = 0, stime = 0;
  long long rss = 0;
  if (std::sscanf(stat.c_str() + close + 3,
                  "%*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %*u %*u %lld", &utime, &stime,
                  &rss) == 3) {
    static const long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    out.cpuSeconds = double(utime + stime) / double(ticks);
    out.rssBytes = rss > 0 ? uint64_t(rss) * uint64_t(page) : 0;
  }
  std::string cmdline;
  slurp(base + "/cmdline", cmdline);
  while (!cmdline.empty() && cmdline.back() == '\0') cmdline.pop_back();
  for (char& c : cmdline)
    if (c == '\0') c = ' ';
  out.cmdline = std::move(cmdline);
  return true;
}

const std::vector<ProcessInfo>& ProcessTable::snapshot(TimePoint tick) {
  if (valid_ && tick == scannedAt_) return processes_;
  processes_.clear();
  if (DIR* dir = opendir("/proc")) {
    while (dirent* e = readdir(dir)) {
      char* end = nullptr;
      long pid = std::strtol(e->d_name, &end, 10);
      if (*end != '\0' || pid <= 0) continue;
      ProcessInfo p;
      if (readProcess(static_cast<pid_t>(pid), p)) processes_.push_back(std::move(p));
    }
    closedir(dir);
  }
  scannedAt_ = tick;
  valid_ = true;
  ++scans_;
  return processes_;
}

}  // namespace medic
