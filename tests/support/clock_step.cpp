// `date -s` for one process, for the system case that steps the wall clock (a box cannot set
// its host's clock). Preloaded (LD_PRELOAD), it adds STEP seconds to the realtime clock as
// clock_gettime, gettimeofday and time read it; STEP is read from the file named by
// MEDIC_CLOCK_STEP_FILE at every call (a signed integer; no file: 0). Every other clock, the
// kernel's timers and the event loop's waits are left alone, as a real step leaves them.
// Only open/read/close: safe where medic's forked children call the clock.
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>

namespace {

long long stepSeconds() {
  const char* path = std::getenv("MEDIC_CLOCK_STEP_FILE");
  if (!path) return 0;
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char text[32];
  ssize_t n = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  if (n <= 0) return 0;
  text[n] = '\0';
  return std::strtoll(text, nullptr, 10);
}

template <typename F>
F real(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" {

int clock_gettime(clockid_t clock, struct timespec* ts) {
  static auto next = real<int (*)(clockid_t, struct timespec*)>("clock_gettime");
  int rc = next(clock, ts);
  if (rc == 0 && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)) ts->tv_sec += stepSeconds();
  return rc;
}

int gettimeofday(struct timeval* tv, void* tz) {
  static auto next = real<int (*)(struct timeval*, void*)>("gettimeofday");
  int rc = next(tv, tz);
  if (rc == 0) tv->tv_sec += stepSeconds();
  return rc;
}

time_t time(time_t* out) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (out) *out = ts.tv_sec;
  return ts.tv_sec;
}

}  // extern "C"
