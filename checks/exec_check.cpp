#include "checks/exec_check.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <utility>

#include <spdlog/spdlog.h>

#include "runtime/cgroup_limits.h"
#include "runtime/child_reaper.h"
#include "runtime/event_loop.h"
#include "runtime/text.h"
#include "checks/exec_scope.h"
#include "checks/nagios.h"
#include "checks/probe_env.h"
#include "runtime/path_rules.h"

namespace medic::checks {

namespace {

// Only async-signal-safe calls between fork() and execve(): everything is prepared before.
[[noreturn]] void childFail(int fd, const char* what, int err) {
  char digits[16];
  int n = 0;
  do digits[n++] = char('0' + err % 10); while ((err /= 10) && n < 15);
  (void)!write(fd, "medic: ", 7);
  (void)!write(fd, what, strlen(what));
  (void)!write(fd, " (errno ", 8);
  while (n > 0) (void)!write(fd, &digits[--n], 1);
  (void)!write(fd, ")\n", 2);
  _exit(3);  // UNKNOWN in the plugin API
}

// Closes every descriptor but those in `keep` (sorted, ascending).
void closeAllBut(std::initializer_list<int> keep) {
  unsigned from = 0;
  for (int fd : keep) {
    if (fd < 0) continue;
    if (unsigned(fd) > from) syscall(SYS_close_range, from, unsigned(fd) - 1, 0U);
    from = unsigned(fd) + 1;
  }
  syscall(SYS_close_range, from, ~0U, 0U);
}

// What the run's own processes tell medic, through a close-on-exec pipe, as typed records
// turned into sentences by medic, never parsed back out of the plugin's output: what stopped
// the command before it ran (a successful execve() closes the command's end unwritten), and
// from the shepherd at its end, the limits its scope met.
enum class SetupStage : int { workdir, setgroups, setgid, setuid, exec };
struct ChildReport {
  enum class Kind : int { setupFailed, limitsMet } kind;
  SetupStage stage;
  int error;
  LimitHits hits;
};

[[noreturn]] void setupFailed(int fd, SetupStage stage, int err) {
  ChildReport r{ChildReport::Kind::setupFailed, stage, err, {}};
  (void)!write(fd, &r, sizeof r);
  _exit(3);  // UNKNOWN in the plugin API
}

// Sends `sig` to every child of the calling process (and to the group each one leads).
// The shepherd is a subreaper, so its children are the command and everything the command
// left behind whose parent has gone: daemons that called setsid() included.
void signalChildren(int sig) {
  int fd = open("/proc/thread-self/children", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char buf[4096];
  ssize_t n;
  pid_t pid = 0;
  while ((n = read(fd, buf, sizeof buf)) > 0)
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] >= '0' && buf[i] <= '9') {
        pid = pid * 10 + (buf[i] - '0');
      } else if (pid > 0) {
        kill(-pid, sig);
        kill(pid, sig);
        pid = 0;
      }
    }
  if (pid > 0) {
    kill(-pid, sig);
    kill(pid, sig);
  }
  close(fd);
}

// The shepherd's life, between fork() and _exit() only (async-signal-safe calls): wait for
// the command; on SIGTERM (a timeout, a cancel) pass it on to the command's group and to
// everything else below; on SIGALRM (the grace is over, or medic died) kill everything;
// once the command has ended, kill whatever it left. Exit, as the command did, only when
// nothing below is left, so the exec check's end means everything it started has ended.
// In a scope of its own, it reports the limits the scope met on `report` before it ends.
[[noreturn]] void shepherd(pid_t command, int report, bool scoped) {
  sigset_t wanted;
  sigemptyset(&wanted);
  for (int sig : {SIGCHLD, SIGTERM, SIGALRM}) sigaddset(&wanted, sig);
  int status = 0;
  bool commandDone = false, killing = false;
  for (;;) {
    int st = 0;
    pid_t p;
    while ((p = waitpid(-1, &st, WNOHANG)) > 0)
      if (p == command) status = st, commandDone = true;
    if (p < 0 && errno == ECHILD) break;  // nothing below is left
    if (commandDone || killing) signalChildren(SIGKILL);
    siginfo_t info;
    int sig = sigwaitinfo(&wanted, &info);
    if (sig == SIGTERM) {
      kill(-command, SIGTERM);
      kill(-command, SIGCONT);  // a stopped group cannot act on SIGTERM
      signalChildren(SIGTERM);
      signalChildren(SIGCONT);
    } else if (sig == SIGALRM) {
      killing = true;
    }
  }
  if (scoped) {  // the scope is this shepherd's alone: its counters are this run's
    ChildReport r{ChildReport::Kind::limitsMet, {}, 0, readLimitHits(0)};
    if (r.hits.oomKills > 0 || r.hits.tasksRefused > 0) (void)!write(report, &r, sizeof r);
  }
  if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
  // Died of a signal: die of the same one, so medic reports it as the command's.
  int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
  struct rlimit noCore = {0, 0};
  setrlimit(RLIMIT_CORE, &noCore);  // the command's core dump was its own; none for the shepherd
  signal(sig, SIG_DFL);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  sigprocmask(SIG_UNBLOCK, &one, nullptr);
  kill(getpid(), sig);
  _exit(128 + sig);
}

// "bad interpreter /usr/bin/pythn3: No such file or directory" when a script's #! line names
// a program that is not there (execve says only ENOENT, as if the script were missing).
std::string execFailure(const std::string& path, int err) {
  if (err == ENOENT && access(path.c_str(), F_OK) == 0) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    if (line.rfind("#!", 0) == 0) {
      std::string interpreter = trim(line.substr(2));
      interpreter = interpreter.substr(0, interpreter.find_first_of(" \t"));
      return path + ": bad interpreter " + escapeText(interpreter, 200) + ": " + std::strerror(err);
    }
  }
  return path + ": " + std::strerror(err);
}

class ExecProbe : public Probe {
 public:
  ExecProbe(const ExecSpec& spec, const std::vector<std::string>& env, std::string description, ProbeEnv& probeEnv,
            ResultCallback done)
      : spec_(spec), env_(probeEnv), done_(std::move(done)) {
    if (!spawn(env)) return;
    output_ = env_.loop.addIo(readFd_, EPOLLIN, [this](uint32_t) { drain(); });
    exit_ = env_.loop.addChild(pid_, [this](const siginfo_t& si) { exited(si); });
    if (!env_.scopes || (spec_.tasksMax == 0 && spec_.memoryMax == 0)) {
      release(false);
      return;
    }
    ExecScope scope{"medic-exec-" + std::to_string(pid_) + ".scope", std::move(description), pid_, spec_.tasksMax,
                    spec_.memoryMax};
    scope_ = scope.unit;
    env_.scopes->startScope(scope, [this, alive = std::weak_ptr<bool>(alive_), unit = scope.unit](std::string error) {
      if (alive.expired()) return;
      // Said once when scopes stop working and once when they work again, not at every run.
      static bool failing = false;
      if (!error.empty() && !failing) spdlog::warn("exec runs go without their task and memory limits: cannot start {}: {}", unit, error);
      if (error.empty() && failing) spdlog::info("exec runs are in scopes with their limits again");
      failing = !error.empty();
      release(error.empty());
    });
  }

  ~ExecProbe() override {
    // A scope asked for and not yet answered may still be made, with the shepherd in it
    // (systemd handles the stop after the start it asked first): it is stopped like one made.
    bool scopeMayExist = scoped_ || (goFd_ >= 0 && !scope_.empty());
    output_.reset();
    if (readFd_ >= 0) close(readFd_);
    if (reportFd_ >= 0) close(reportFd_);
    if (goFd_ >= 0) close(goFd_);  // not yet released: the shepherd reads the end and leaves
    if (pid_ > 0 && !exited_) {
      exit_.reset();
      // Timed out or cancelled: TERM all it started, KILL after grace; its scope is stopped
      // once it is empty (systemd would otherwise kill in its own time and way, and inside a
      // container on cgroup v1 never see it empty: it would stay, a unit left per run).
      std::function<void()> then;
      if (scopeMayExist) then = [scopes = env_.scopes, unit = scope_] { scopes->stopScope(unit); };
      env_.reaper.terminate(pid_, std::move(then));
    }
  }

  std::string stage() const override {
    std::string where = "waiting for pid " + std::to_string(pid_) + " to exit";
    if (goFd_ >= 0) where = "waiting for systemd to start the scope of pid " + std::to_string(pid_);
    std::string limits = scoped_ ? limitsMet(readLimitHits(pid_)) : "";
    return limits.empty() ? where : where + "; it " + limits;
  }

 private:
  bool spawn(const std::vector<std::string>& env) {
    std::vector<char*> argv, envp;
    std::vector<std::string> shellArgv;
    const std::vector<std::string>& args = spec_.shell ? (shellArgv = {"/bin/sh", "-c", spec_.command[0]}) : spec_.command;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    // output: the command's stdout and stderr; report: ChildReports; go: medic says when the
    // shepherd is in its scope ('s') or is to run without one ('n').
    int output[2], report[2] = {-1, -1}, go[2] = {-1, -1};
    if (pipe2(output, O_CLOEXEC) != 0) return fail(std::string("pipe: ") + std::strerror(errno));
    if (pipe2(report, O_CLOEXEC) != 0 || pipe2(go, O_CLOEXEC) != 0) {
      int err = errno;
      for (int fd : {output[0], output[1], report[0], report[1], go[0], go[1]})
        if (fd >= 0) close(fd);
      return fail(std::string("pipe: ") + std::strerror(err));
    }
    int devNull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    sigset_t none;
    sigemptyset(&none);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
      for (int fd : {output[0], output[1], report[0], report[1], go[0], go[1]}) close(fd);
      if (devNull >= 0) close(devNull);
      return fail(std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
      // The shepherd: its own process group, a subreaper for everything below it.
      setpgid(0, 0);
      prctl(PR_SET_CHILD_SUBREAPER, 1);
      prctl(PR_SET_PDEATHSIG, SIGALRM);  // medic gone (even SIGKILLed): everything goes too
      if (getppid() != parent) _exit(3);
      sigset_t shepherdSignals;
      sigemptyset(&shepherdSignals);
      for (int sig : {SIGCHLD, SIGTERM, SIGALRM}) sigaddset(&shepherdSignals, sig);
      sigprocmask(SIG_BLOCK, &shepherdSignals, nullptr);
      // Nothing of medic's but these: another run's `go` end held here would keep that
      // shepherd waiting after medic died.
      int keep[4] = {devNull, output[1], report[1], go[0]};
      std::sort(std::begin(keep), std::end(keep));
      closeAllBut({keep[0], keep[1], keep[2], keep[3]});
      char word = 0;
      ssize_t got;
      while ((got = read(go[0], &word, 1)) < 0 && errno == EINTR) {
      }
      if (got != 1) _exit(3);  // medic gave the run up (or died) before it began
      close(go[0]);
      pid_t command = fork();
      if (command == 0) {
        setpgid(0, 0);  // the command's own group: a timeout's SIGTERM goes there, the shepherd stays
        int setup = report[1];  // close-on-exec: a successful execve closes it unwritten
        if (dup2(devNull, 0) < 0 || dup2(output[1], 1) < 0 || dup2(output[1], 2) < 0) _exit(3);
        closeAllBut({0, 1, 2, setup});
        signal(SIGPIPE, SIG_DFL);  // ignored dispositions survive execve; the agent ignores SIGPIPE
        umask(022);                // as from a shell, whatever medic's own (its unit's UMask=0027)
        sigprocmask(SIG_SETMASK, &none, nullptr);
        if (chdir(spec_.workdir.c_str()) != 0) setupFailed(setup, SetupStage::workdir, errno);
        if (spec_.uid) {
          if (setgroups(spec_.groups.size(), spec_.groups.data()) != 0) setupFailed(setup, SetupStage::setgroups, errno);
          if (setgid(spec_.gid) != 0) setupFailed(setup, SetupStage::setgid, errno);
          if (setuid(*spec_.uid) != 0) setupFailed(setup, SetupStage::setuid, errno);
        }
        execve(argv[0], argv.data(), envp.data());
        setupFailed(setup, SetupStage::exec, errno);
      }
      if (command < 0) childFail(output[1], "fork failed", errno);
      setpgid(command, command);  // also here, so the group exists before a SIGTERM is passed on
      closeAllBut({report[1]});  // the output's end too: its EOF is the command's and its leftovers'
      shepherd(command, report[1], word == 's');
    }
    setpgid(pid, pid);  // also here, so the group exists before we might signal it
    for (int fd : {output[1], report[1], go[0]}) close(fd);
    if (devNull >= 0) close(devNull);
    reportFd_ = report[0];
    readFd_ = output[0];
    goFd_ = go[1];
    fcntl(readFd_, F_SETFL, O_NONBLOCK);
    pid_ = pid;
    return true;
  }

  // Lets the shepherd start the command: in its scope, or (no systemd, or it refused) without.
  void release(bool scoped) {
    scoped_ = scoped;
    char word = scoped ? 's' : 'n';
    (void)!write(goFd_, &word, 1);
    close(std::exchange(goFd_, -1));
  }

  // Reported at once: the Check contract allows a result before start() returns.
  bool fail(const std::string& message) {
    finish(CheckResult::unknown(message));
    return false;
  }

  void drain() {
    char buf[4096];
    for (;;) {
      ssize_t n = read(readFd_, buf, sizeof buf);
      if (n > 0) {
        size_t keep = std::min<size_t>(n, spec_.outputCap - output.size());
        output.append(buf, keep);
        discarded_ += n - keep;  // keep reading so the plugin never blocks on a full pipe
        continue;
      }
      if (n == 0) output_.reset();  // every writer closed
      return;
    }
  }

  void exited(const siginfo_t& si) {
    exited_ = true;
    drain();  // the shepherd ended only after everything the command left behind had ended
    std::optional<ChildReport> setup;
    LimitHits hits;
    ChildReport r;
    while (read(reportFd_, &r, sizeof r) == ssize_t(sizeof r)) {
      if (r.kind == ChildReport::Kind::setupFailed) setup = r;
      if (r.kind == ChildReport::Kind::limitsMet) hits = r.hits;
    }
    if (std::exchange(scoped_, false)) env_.scopes->stopScope(scope_);  // empty now; see stopScope
    CheckResult result = setup ? CheckResult::unknown(describe(*setup)) : outcome(si);
    if (std::string limits = limitsMet(hits); !limits.empty()) {
      result.status = Status::unhealthy;  // whatever it said, it did not run as it was meant to
      result.message = "it " + limits + ": " + result.message;
    }
    finish(std::move(result));
  }

  CheckResult outcome(const siginfo_t& si) const {
    if (si.si_code != CLD_EXITED) {
      std::string sig = strsignal(si.si_status) ? strsignal(si.si_status) : "?";
      return CheckResult::unknown("killed by signal " + std::to_string(si.si_status) + " (" + sig + ")");
    }
    PluginOutput parsed = parsePluginOutput(output);
    CheckResult r;
    r.status = statusFromExitCode(si.si_status);
    r.message = parsed.message.empty() ? "exit code " + std::to_string(si.si_status) + ", no output" : parsed.message;
    if (discarded_ > 0) r.message += " (output cut at " + formatBytes(spec_.outputCap) + ")";
    r.perfdata = std::move(parsed.perfdata);
    return r;
  }

  // "reached memory_max 512MiB (1 process killed by the kernel)", "reached tasks_max 128 (37
  // forks refused)", or both; empty when neither was reached.
  std::string limitsMet(const LimitHits& hits) const {
    std::string out;
    if (hits.oomKills > 0)
      out = "reached memory_max " + formatBytes(spec_.memoryMax) + " (" + std::to_string(hits.oomKills) +
            (hits.oomKills == 1 ? " process" : " processes") + " killed by the kernel)";
    if (hits.tasksRefused > 0)
      out += (out.empty() ? "" : " and ") + std::string("reached tasks_max ") + std::to_string(spec_.tasksMax) + " (" +
             std::to_string(hits.tasksRefused) + (hits.tasksRefused == 1 ? " fork" : " forks") + " refused)";
    return out;
  }

  std::string describe(const ChildReport& f) const {
    std::string why = std::strerror(f.error);
    switch (f.stage) {
      case SetupStage::workdir: return "cannot enter the working directory " + spec_.workdir + ": " + why;
      case SetupStage::setgroups:
      case SetupStage::setgid:
      case SetupStage::setuid: return "cannot run as user '" + spec_.user + "': " + why;
      case SetupStage::exec: return "cannot execute " + execFailure(spec_.shell ? "/bin/sh" : spec_.command[0], f.error);
    }
    return why;
  }

  void finish(CheckResult r) {
    if (done_) std::exchange(done_, nullptr)(std::move(r));
  }

  const ExecSpec& spec_;
  ProbeEnv& env_;
  ResultCallback done_;
  pid_t pid_ = -1;
  bool exited_ = false;
  bool scoped_ = false;  // the shepherd runs in a scope of its own, named scope_
  std::string scope_;
  int readFd_ = -1;
  int reportFd_ = -1;  // ChildReports: why the command never ran, the limits met
  int goFd_ = -1;      // open until the shepherd is released
  std::string output;
  size_t discarded_ = 0;
  EventSource output_;
  EventSource exit_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // lets systemd's late answer see we are gone
};

}  // namespace

ExecCheck::ExecCheck(ExecSpec spec) : spec_(std::move(spec)) {
  std::map<std::string, std::string> env = {
      {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, {"LANG", "C"}};
  if (spec_.uid) {
    if (passwd* pw = getpwuid(*spec_.uid)) {
      env["HOME"] = pw->pw_dir;
      env["USER"] = env["LOGNAME"] = pw->pw_name;
    }
  }
  for (const auto& [k, v] : spec_.environment) env[k] = v;
  for (const auto& [k, v] : env) envStrings_.push_back(k + "=" + v);
}

std::string ExecCheck::target() const {
  std::string out = spec_.shell ? "sh -c '" + spec_.command[0] + "'" : spec_.command[0];
  if (!spec_.shell)
    for (size_t i = 1; i < spec_.command.size(); ++i) out += " " + spec_.command[i];
  return out.size() > 120 ? out.substr(0, 117) + "..." : out;
}

std::unique_ptr<Probe> ExecCheck::start(ProbeEnv& env, TimePoint, ResultCallback done) const {
  return std::make_unique<ExecProbe>(spec_, envStrings_, "medic exec: " + target(), env, std::move(done));
}

void readExecLimits(MapReader& keys, ExecSpec& spec) {
  int tasks = 0;
  if (keys.read("tasks_max", tasks, 0, 1 << 22)) {
    if (tasks == 1) keys.error("tasks_max", "'tasks_max' 1 leaves the command no room: the run's shepherd is one task (0: no limit)");
    spec.tasksMax = uint64_t(tasks);
  }
  uint64_t memory = 0;
  if (keys.readBytes("memory_max", memory)) {
    if (memory > 0 && memory < (uint64_t(1) << 20)) keys.error("memory_max", "'memory_max' must be at least 1MiB (0: no limit)");
    spec.memoryMax = memory;
  }
}

bool resolveUser(const std::string& user, ExecSpec& spec) {
  passwd* pw = getpwnam(user.c_str());
  if (!pw) return false;
  spec.uid = pw->pw_uid;
  spec.gid = pw->pw_gid;
  int n = 64;
  spec.groups.resize(n);
  if (getgrouplist(pw->pw_name, pw->pw_gid, spec.groups.data(), &n) < 0) {
    spec.groups.resize(n);  // n now says how many there are
    getgrouplist(pw->pw_name, pw->pw_gid, spec.groups.data(), &n);
  }
  spec.groups.resize(n);
  return true;
}

std::unique_ptr<Check> parseExecCheck(MapReader& keys, const CheckContext&) {
  ExecSpec spec;
  keys.read("shell", spec.shell);
  if (keys.require("command") && keys.read("command", spec.command)) {
    if (spec.command.empty()) {
      keys.error("command", "'command' must not be empty");
    } else if (spec.shell) {
      if (spec.command.size() != 1) keys.error("command", "with 'shell: true', 'command' is one string for /bin/sh -c");
    } else if (!spec.command[0].starts_with('/')) {
      keys.error("command", "'command' must start with an absolute path, got " + quoteValue(spec.command[0]) +
                                " (no PATH lookup: what runs as root is spelled out)");
    } else if (access(spec.command[0].c_str(), X_OK) != 0) {
      keys.error("command", quoteValue(spec.command[0]) + " is not an executable file");
    }
  }
  // Default: 'nobody' when medic runs as root; an unprivileged medic can only run as itself.
  bool hasUser = keys.read("user", spec.user);
  if (!hasUser && geteuid() == 0) spec.user = "nobody";
  if (!spec.user.empty() && !resolveUser(spec.user, spec))
    keys.error("user", "unknown user " + quoteValue(spec.user));
  std::string group;
  if (keys.read("group", group)) {
    if (struct group* gr = getgrnam(group.c_str())) spec.gid = gr->gr_gid;
    else keys.error("group", "unknown group " + quoteValue(group));
    if (!spec.uid) keys.error("group", "'group' needs 'user'");
  }
  keys.read("environment", spec.environment);
  if (keys.read("workdir", spec.workdir))
    if (auto e = checkAbsolutePath(spec.workdir)) keys.error("workdir", "'workdir' " + *e);
  int capKiB = 8;
  if (keys.read("output_limit_kib", capKiB, 1, 1024)) spec.outputCap = static_cast<size_t>(capKiB) * 1024;
  readExecLimits(keys, spec);
  return std::make_unique<ExecCheck>(std::move(spec));
}

}  // namespace medic::checks
