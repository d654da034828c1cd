#include "runtime/cgroup_limits.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

namespace medic {

namespace {

// Reads a small file whole into buf (NUL-terminated); false when it cannot be read.
bool slurp(const char* path, char* buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  size_t used = 0;
  ssize_t n;
  while (used + 1 < size && (n = read(fd, buf + used, size - 1 - used)) > 0) used += size_t(n);
  close(fd);
  buf[used] = '\0';
  return used > 0;
}

// Appends `s` to `out` (capacity `size`, NUL-terminated); false when it does not fit.
bool append(char* out, size_t size, const char* s, size_t len) {
  size_t used = strlen(out);
  if (used + len + 1 > size) return false;
  memcpy(out + used, s, len);
  out[used + len] = '\0';
  return true;
}

// The number after "key " at the start of a line of `text` ("oom_kill 3"); 0 if absent.
uint64_t counter(const char* text, const char* key) {
  size_t keyLen = strlen(key);
  for (const char* line = text; *line;) {
    if (strncmp(line, key, keyLen) == 0 && line[keyLen] == ' ') {
      uint64_t v = 0;
      for (const char* p = line + keyLen + 1; *p >= '0' && *p <= '9'; ++p) v = v * 10 + uint64_t(*p - '0');
      return v;
    }
    const char* next = strchr(line, '\n');
    if (!next) break;
    line = next + 1;
  }
  return 0;
}

// The cgroup path of `controller` ("memory", "pids"; "" for the v2 line "0::/path") in the
// text of /proc/PID/cgroup, copied to `out`; false when it has no such line.
bool cgroupPath(const char* text, const char* controller, char* out, size_t size) {
  size_t want = strlen(controller);
  for (const char* line = text; *line;) {
    const char* end = strchr(line, '\n');
    if (!end) end = line + strlen(line);
    const char* colon1 = static_cast<const char*>(memchr(line, ':', size_t(end - line)));
    const char* colon2 = colon1 ? static_cast<const char*>(memchr(colon1 + 1, ':', size_t(end - colon1 - 1))) : nullptr;
    if (colon2) {
      // The controllers field is a comma-separated list ("cpu,cpuacct"), or empty for v2.
      bool match = want == 0 ? colon2 == colon1 + 1 : false;
      for (const char* c = colon1 + 1; want > 0 && c < colon2;) {
        const char* comma = static_cast<const char*>(memchr(c, ',', size_t(colon2 - c)));
        const char* stop = comma ? comma : colon2;
        if (size_t(stop - c) == want && memcmp(c, controller, want) == 0) match = true;
        c = stop + 1;
      }
      if (match) {
        out[0] = '\0';
        return append(out, size, colon2 + 1, size_t(end - colon2 - 1));
      }
    }
    if (!*end) break;
    line = end + 1;
  }
  return false;
}

// Reads `key` from `file` in the cgroup of `controller` ("" for v2).
uint64_t readCounter(const char* cgroups, const char* controller, const char* file, const char* key) {
  char path[512] = "/sys/fs/cgroup/";
  char where[384];
  if (!cgroupPath(cgroups, controller, where, sizeof where)) return 0;
  if (!append(path, sizeof path, controller, strlen(controller)) || !append(path, sizeof path, where, strlen(where)) ||
      !append(path, sizeof path, "/", 1) || !append(path, sizeof path, file, strlen(file)))
    return 0;
  char text[1024];
  return slurp(path, text, sizeof text) ? counter(text, key) : 0;
}

}  // namespace

LimitHits readLimitHits(pid_t pid) {
  char procFile[64] = "/proc/self/cgroup";
  if (pid > 0) {
    char digits[16];
    int n = 0;
    for (pid_t p = pid; p > 0 && n < 15; p /= 10) digits[n++] = char('0' + p % 10);
    char* out = procFile + strlen("/proc/");
    while (n > 0) *out++ = digits[--n];
    memcpy(out, "/cgroup", sizeof "/cgroup");
  }
  char cgroups[2048];
  LimitHits hits;
  if (!slurp(procFile, cgroups, sizeof cgroups)) return hits;
  // cgroup v1 (each controller a hierarchy of its own) where the controllers are bound to
  // it, cgroup v2 (one hierarchy, line "0::/path") otherwise.
  char v1[384];
  if (cgroupPath(cgroups, "memory", v1, sizeof v1) || cgroupPath(cgroups, "pids", v1, sizeof v1)) {
    hits.oomKills = readCounter(cgroups, "memory", "memory.oom_control", "oom_kill");
    hits.tasksRefused = readCounter(cgroups, "pids", "pids.events", "max");
  } else {
    hits.oomKills = readCounter(cgroups, "", "memory.events", "oom_kill");
    hits.tasksRefused = readCounter(cgroups, "", "pids.events", "max");
  }
  return hits;
}

}  // namespace medic
