#pragma once
// Integration-test support: real peers in child processes, test certificates, and running
// checks from YAML through the same loop, runner and probes that medic uses.
#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checks/check.h"
#include "config/spec.h"
#include "runtime/duration.h"
#include "temp_dir.h"

namespace medic {
class EventLoop;
}
namespace medic::checks {
struct ProbeHost;
}

namespace medic::test {

/// A child process whose first stdout line is read with a deadline; killed (with its
/// process group) when this goes out of scope, and by the kernel when the test process dies
/// without unwinding (an abort, a sanitizer's report): an orphan would keep the test's
/// stderr open and hold ctest until its timeout.
class Subprocess {
 public:
  /// `mergeStderr`: the child's stderr goes to the same pipe as its stdout.
  explicit Subprocess(const std::vector<std::string>& argv, bool mergeStderr = false);
  ~Subprocess();
  std::string readLine(Duration deadline);
  /// Reads lines until one contains `text`; returns every line read (throws at the deadline).
  std::vector<std::string> readUntil(const std::string& text, Duration deadline);
  /// Sends `signal` and waits for the exit; returns the exit code (128+N if killed by signal N).
  int stop(int signal, Duration deadline);
  /// What it wrote that was not read yet (after stop(): its last words, for a failure message).
  std::string rest();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buffer_;
};

/// A private dbus-daemon like the system bus (anyone may connect, call, and own a name),
/// its config in `dir`, with `extraConfig` inside <busconfig> (e.g. a policy's <include>).
class PrivateBus {
 public:
  PrivateBus(TempDir& dir, const std::string& extraConfig = "");
  const std::string& address() const { return address_; }

 private:
  std::unique_ptr<Subprocess> daemon_;
  std::string address_;
};

/// tests/integration/loopback_peers.py, with TLS from a CA made for the run.
class LoopbackPeers {
 public:
  LoopbackPeers();
  int port(const std::string& name) const { return ports_.at(name); }
  std::string url(const std::string& path, bool tls = false) const;
  /// The TLS listener that demands a client certificate.
  std::string mtlsUrl(const std::string& path) const;
  const std::string& caFile() const { return caFile_; }
  const std::string& clientCert() const { return clientCert_; }
  const std::string& clientKey() const { return clientKey_; }

 private:
  TempDir certs_;
  std::string caFile_, clientCert_, clientKey_;
  std::unique_ptr<Subprocess> server_;
  std::map<std::string, int> ports_;
};

/// One set of peers for the whole test program, started on first use.
LoopbackPeers& sharedPeers();

/// Loads `checks` (the YAML list items under one service's `checks:`) and runs each once,
/// concurrently; returns the results in order. Fails the test on a config error.
std::vector<checks::CheckResult> runChecks(const std::string& checksYaml);
checks::CheckResult runCheck(const std::string& checkYaml);
/// Runs each check once, one after another, on one probe host (which reuses what it can,
/// such as libcurl handles, from one run to the next).
std::vector<checks::CheckResult> runInTurn(const std::string& checksYaml);

/// One check loaded once and run as often as asked: for values measured between two runs of the
/// same check (CPU %).
class RepeatedCheck {
 public:
  explicit RepeatedCheck(const std::string& checkYaml);
  ~RepeatedCheck();
  checks::CheckResult run();
  const checks::ProbeHost& host() const { return *host_; }

 private:
  std::optional<config::Config> config_;
  std::unique_ptr<checks::ProbeHost> host_;
};
/// The values a run measured, by name (its perfdata).
std::map<std::string, double> valuesOf(const checks::CheckResult& r);

struct CommandOutput {
  int code;          ///< exit code, -1 when killed
  std::string text;  ///< stdout and stderr together
};
/// Runs `cmd` through /bin/sh to completion.
CommandOutput capture(const std::string& cmd);
/// Runs `cmd` through /bin/sh and returns its exit status; fails the test when it cannot.
int shell(const std::string& cmd);

/// A TCP socket bound to 127.0.0.1 (-1 on failure): on `port`, or when it is 0 on a port
/// the kernel chose, which `port` then gets. A given port is bound with SO_REUSEADDR, so a
/// test can listen again where it listened before.
int bindLoopback(int& port);
/// A loopback port that was just free (bound, then let go): connecting to it is refused
/// until something listens there.
int freeLoopbackPort();

/// Polls `condition` until it holds or `deadline` passes; returns whether it held.
bool eventually(const std::function<bool()>& condition, Duration deadline = std::chrono::seconds(10));
/// Runs `loop` until `condition` holds or `deadline` passes; returns whether it held.
bool runLoopUntil(EventLoop& loop, const std::function<bool()>& condition, Duration deadline = std::chrono::seconds(10));

}  // namespace medic::test
