#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "checks/check_runner.h"
#include "checks/probe_host.h"
#include "config/loader.h"

extern char** environ;

namespace medic::test {

using namespace std::chrono_literals;

Subprocess::Subprocess(const std::vector<std::string>& argv, bool mergeStderr) {
  // Asked here: once setpriv runs, a program that is not there would only show as no output.
  if (argv.empty() || access(argv[0].c_str(), X_OK) != 0)
    throw std::runtime_error("cannot start " + (argv.empty() ? std::string("nothing") : argv[0]));
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  if (mergeStderr) posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
  // util-linux's setpriv (Essential) asks for SIGKILL when this thread dies, then runs argv.
  std::vector<std::string> withDeath = {"/usr/bin/setpriv", "--pdeathsig", "KILL", "--"};
  withDeath.insert(withDeath.end(), argv.begin(), argv.end());
  std::vector<char*> args;
  for (const auto& a : withDeath) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int rc = posix_spawn(&pid_, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(fds[1]);
  out_ = fds[0];
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
}

Subprocess::~Subprocess() {
  if (pid_ > 0) {
    kill(-pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (out_ >= 0) close(out_);
}

std::string Subprocess::readLine(Duration deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    size_t nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count();
    if (left <= 0) throw std::runtime_error("no line from the subprocess before the deadline");
    pollfd p{out_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char buf[4096];
    ssize_t n = read(out_, buf, sizeof buf);
    if (n <= 0) throw std::runtime_error("the subprocess closed its output");
    buffer_.append(buf, n);
  }
}

std::vector<std::string> Subprocess::readUntil(const std::string& text, Duration deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  std::vector<std::string> lines;
  auto failure = [&](const std::string& why) {
    std::string seen;
    for (size_t i = lines.size() > 15 ? lines.size() - 15 : 0; i < lines.size(); ++i) seen += "\n  | " + lines[i];
    return std::runtime_error(why + " while waiting for a line with '" + text + "'; the last lines were:" + seen);
  };
  for (;;) {
    auto left = until - std::chrono::steady_clock::now();
    if (left <= Duration::zero()) throw failure("deadline passed");
    try {
      lines.push_back(readLine(left));
    } catch (const std::runtime_error& e) {
      throw failure(e.what());
    }
    if (lines.back().find(text) != std::string::npos) return lines;
  }
}

int Subprocess::stop(int signal, Duration deadline) {
  kill(pid_, signal);
  auto until = std::chrono::steady_clock::now() + deadline;
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > until) {
      kill(-pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      pid_ = -1;
      return -1;
    }
    std::this_thread::sleep_for(10ms);  // polling for the exit, bounded by the deadline
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string Subprocess::rest() {
  std::string text = buffer_;
  buffer_.clear();
  char buf[4096];
  ssize_t n;
  // The process has exited (or is about to be killed): whatever it wrote is in the pipe.
  int flags = fcntl(out_, F_GETFL);
  fcntl(out_, F_SETFL, flags | O_NONBLOCK);
  while ((n = read(out_, buf, sizeof buf)) > 0) text.append(buf, size_t(n));
  fcntl(out_, F_SETFL, flags);
  return text;
}

CommandOutput capture(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return {-1, "popen failed"};
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text};
}

int shell(const std::string& cmd) {
  int status = std::system(cmd.c_str());
  EXPECT_NE(status, -1) << cmd;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

LoopbackPeers::LoopbackPeers() {
  // A CA and a server certificate for 127.0.0.1 only (so "localhost" is a name mismatch).
  std::string d = certs_.path.string();
  std::string cmd =
      "cd " + d + " && "
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 400 -subj /CN=medic-test-ca 2>/dev/null && "
      "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null && "
      "printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext && "
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 400 -extfile san.ext 2>/dev/null && "
      // The same server name, with a certificate that expires in 3 days.
      "openssl req -newkey rsa:2048 -nodes -keyout expiring.key -out expiring.csr -subj /CN=expiring.test 2>/dev/null && "
      "openssl x509 -req -in expiring.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out expiring.pem -days 3 -extfile san.ext 2>/dev/null && "
      "openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=medic-probe 2>/dev/null && "
      "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 400 2>/dev/null && "
      "chmod 0644 *.key";
  if (shell(cmd) != 0) throw std::runtime_error("openssl could not make test certificates");
  caFile_ = d + "/ca.pem";
  clientCert_ = d + "/client.pem";
  clientKey_ = d + "/client.key";
  server_ = std::make_unique<Subprocess>(std::vector<std::string>{
      "/usr/bin/python3", MEDIC_SOURCE_DIR "/tests/integration/loopback_peers.py", "--cert", d + "/server.pem", "--key",
      d + "/server.key", "--ca", d + "/ca.pem", "--expiring-cert", d + "/expiring.pem", "--expiring-key", d + "/expiring.key"});
  auto ports = nlohmann::json::parse(server_->readLine(20s));
  for (auto& [name, port] : ports.items()) ports_[name] = port.get<int>();
}

LoopbackPeers& sharedPeers() {
  static LoopbackPeers peers;
  return peers;
}

std::string LoopbackPeers::url(const std::string& path, bool tls) const {
  return std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port(tls ? "https" : "http")) + path;
}

std::string LoopbackPeers::mtlsUrl(const std::string& path) const {
  return "https://127.0.0.1:" + std::to_string(port("mtls")) + path;
}

namespace {

// `checks` under one service of a config file, loaded; fails the test on a config error.
std::optional<config::Config> loadChecks(const std::string& checksYaml) {
  TempDir dir;
  std::string indented;
  for (size_t start = 0; start < checksYaml.size();) {
    size_t end = checksYaml.find('\n', start);
    if (end == std::string::npos) end = checksYaml.size();
    indented += "      " + checksYaml.substr(start, end - start) + "\n";
    start = end + 1;
  }
  std::string file = dir.write("medic.yaml", "services:\n  svc:\n    unit: svc.service\n    checks:\n" + indented);
  auto loaded = config::loadConfig(file);
  if (!loaded.config) ADD_FAILURE() << loaded.errors.str();
  return std::move(loaded.config);
}

// Runs each check once, concurrently, on `host`.
std::vector<checks::CheckResult> runOnce(checks::ProbeHost& host, const std::vector<checks::CheckSpec>& specs) {
  std::vector<checks::CheckResult> results(specs.size());
  size_t pending = specs.size();
  // On the heap, as the agent's runners are: a later run on the same host finds this one
  // gone, and AddressSanitizer sees anything that still uses it (a stack slot is reused).
  auto runner = std::make_unique<checks::ProbeRunner>(host.env);
  for (size_t i = 0; i < specs.size(); ++i)
    runner->run(specs[i].check, specs[i].timeout, [&, i](checks::CheckResult r) {
      results[i] = std::move(r);
      --pending;
    });
  // Every probe ends by its timeout at the latest; the deadline only guards the test.
  auto until = std::chrono::steady_clock::now() + 60s;
  while (pending > 0 && std::chrono::steady_clock::now() < until) host.loop.runOnce(1s);
  EXPECT_EQ(pending, 0u) << "probes still running past every timeout";
  return results;
}

}  // namespace

std::vector<checks::CheckResult> runChecks(const std::string& checksYaml) {
  auto config = loadChecks(checksYaml);
  if (!config) return {};
  checks::ProbeHost host;
  return runOnce(host, config->services.at(0).checks);
}

std::vector<checks::CheckResult> runInTurn(const std::string& checksYaml) {
  auto config = loadChecks(checksYaml);
  if (!config) return {};
  checks::ProbeHost host;
  std::vector<checks::CheckResult> out;
  for (const auto& spec : config->services.at(0).checks) out.push_back(runOnce(host, {spec}).at(0));
  return out;
}

RepeatedCheck::RepeatedCheck(const std::string& checkYaml)
    : config_(loadChecks(checkYaml)), host_(std::make_unique<checks::ProbeHost>()) {}
RepeatedCheck::~RepeatedCheck() = default;

checks::CheckResult RepeatedCheck::run() {
  if (!config_) return checks::CheckResult::unknown("config error");
  return runOnce(*host_, {config_->services.at(0).checks.at(0)}).at(0);
}

std::map<std::string, double> valuesOf(const checks::CheckResult& r) {
  std::map<std::string, double> out;
  for (const auto& v : r.perfdata) out[v.label] = v.value;
  return out;
}

checks::CheckResult runCheck(const std::string& checkYaml) {
  auto results = runChecks(checkYaml);
  return results.empty() ? checks::CheckResult::unknown("config error") : results[0];
}

int bindLoopback(int& port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  if (fd >= 0 && port != 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  port = ntohs(a.sin_port);
  return fd;
}

int freeLoopbackPort() {
  int port = 0;
  int fd = bindLoopback(port);
  if (fd < 0) ADD_FAILURE() << "cannot bind a loopback port";
  else close(fd);
  return port;
}

bool eventually(const std::function<bool()>& condition, Duration deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);  // a polling interval, not a wait for a guessed duration
  }
  return condition();
}

bool runLoopUntil(EventLoop& loop, const std::function<bool()>& condition, Duration deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (!condition() && std::chrono::steady_clock::now() < until) loop.runOnce(100ms);
  return condition();
}

PrivateBus::PrivateBus(TempDir& dir, const std::string& extraConfig) {
  std::string conf = dir.write("bus.conf", "<busconfig><type>custom</type><listen>unix:path=" + dir.file("bus") +
                                               "</listen><auth>EXTERNAL</auth><policy context=\"default\">"
                                               "<allow user=\"*\"/><allow own=\"*\"/>"
                                               "<allow send_destination=\"*\" eavesdrop=\"true\"/><allow eavesdrop=\"true\"/>"
                                               "</policy>" + extraConfig + "</busconfig>");
  daemon_ = std::make_unique<Subprocess>(
      std::vector<std::string>{"/usr/bin/dbus-daemon", "--config-file=" + conf, "--nofork", "--print-address"});
  address_ = daemon_->readLine(std::chrono::seconds(10));
  if (address_.find("unix:path=") == std::string::npos) throw std::runtime_error("dbus-daemon said: " + address_);
}

}  // namespace medic::test
