#!/usr/bin/env python3
"""medic's check cost against its peers, measured in one run on one machine.

For HTTP and TCP checks at a fixed rate against one loopback nginx, runs in turn:
  medic   `medic run` with N checks at interval 1s (N checks/s)
  monit   Monit with N host checks and `set daemon 1` (its cycle: N checks per cycle)
  shell   the seeds' way: a bash loop forking curl (HTTP) or bash /dev/tcp (TCP) per check,
          serial, as fast as it goes (it cannot reach 1000/s)
and prints CPU microseconds per check (user+sys of the process tree, from wait4), peak
RSS, achieved checks/s (nginx's own accept counter, the same for every peer) and, for
medic, start-time lateness p50/p99. With --rules N (default 10), medic runs a second time
with N rules on every check (windows of 60 samples: percentiles, avg, min, max, last), so
the cost of rules is a ratio in the same run; where perf is installed, a third run sampled by
perf gives the share of medic's CPU inside the rules' code (a figure the run-to-run noise of a
shared VM does not blur). Then the idle cost: medic with nothing due vs Monit
with nothing to check. Ratios are against medic in the same run.
"""
import argparse, json, os, resource, shutil, signal, subprocess, sys, tempfile, time, urllib.request
from socket import timeout as socket_timeout

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# The checks' servers: check i goes to 127.0.0.(i % SERVERS + 1), all of them nginx's one
# listening port (every 127/8 address is loopback). --servers sets it; 1 is one server.
SERVERS = 1


def address(i):
    return f"127.0.0.{i % SERVERS + 1}"


class Nginx:
    def __init__(self, work):
        self.port, self.status_port, self.keepalive_port = free_port(), free_port(), free_port()
        conf = os.path.join(work, "nginx.conf")
        listens = " ".join(f"listen {address(i)}:{self.port} backlog=4096;" for i in range(SERVERS))
        keepalive_listens = " ".join(f"listen {address(i)}:{self.keepalive_port} backlog=4096;" for i in range(SERVERS))
        with open(conf, "w") as f:
            f.write(f"""
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_timeout 0;
  server {{ {listens} location /health {{ return 200 "ok\\n"; }} }}
  server {{ {keepalive_listens} keepalive_timeout 300s; keepalive_requests 100000000;
           location /health {{ return 200 "ok\\n"; }} }}
  server {{ listen 127.0.0.1:{self.status_port}; location /status {{ stub_status; }} }}
}}
""")
        self.proc = subprocess.Popen(["/usr/sbin/nginx", "-c", conf, "-p", work], stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while True:
            try:
                self.accepts()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)

    def counters(self):
        # "Active connections: 1\nserver accepts handled requests\n 5 5 5\n..."
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.status_port}/status", timeout=5).read().decode()
        accepts, _, requests = (int(x) for x in text.splitlines()[2].split())
        return accepts, requests

    def accepts(self):
        return self.counters()[0]

    def requests(self):
        return self.counters()[1]

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


TICK = os.sysconf("SC_CLK_TCK")


def cpu_of(pid):
    """utime+stime of the process and its reaped children (curl forks count), in seconds."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICK


def status_kb(pid, field):
    """A kB figure of /proc/PID/status: VmHWM (peak RSS since exec), VmRSS (RSS now)."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def peak_rss_kb(pid):
    return status_kb(pid, "VmHWM")


class Measured:
    """One run_measured: CPU seconds and events over the window, peak RSS and RSS at the
    window's end (kB), seconds to ready (with a `ready` callback) and to exit after SIGTERM
    (None: it had to be killed). It unpacks as (cpu, rss, events)."""
    def __init__(self, cpu, rss, events, ready, stopped, rss_now):
        self.cpu, self.rss, self.events, self.ready, self.stopped = cpu, rss, events, ready, stopped
        self.rss_now = rss_now

    def __iter__(self):
        return iter((self.cpu, self.rss, self.events))


def run_measured(argv, seconds, warmup, counter, profile=None, ready=None, env=None, stop_timeout=10):
    """Starts argv, waits for `ready(proc)` (if given: it returns the seconds it took), lets it
    warm up, then measures `seconds` of steady state, then stops it with SIGTERM.
    With `profile` (a file name), perf samples the process over the window as well."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env)
    try:
        took = ready(proc) if ready else None
        time.sleep(warmup)  # start-up (config parsing, first spread) is not steady state
        perf = None
        if profile:
            perf = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "--call-graph", "dwarf,16384",
                                     "-p", str(proc.pid), "-o", profile], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        c0, e0, t0 = cpu_of(proc.pid), counter(), time.time()
        time.sleep(seconds)
        c1, e1, t1 = cpu_of(proc.pid), counter(), time.time()
        if perf:
            perf.send_signal(signal.SIGINT)
            perf.wait()
        rss, rss_now = peak_rss_kb(proc.pid), status_kb(proc.pid, "VmRSS")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        stop_start, stopped = time.time(), None
        try:
            proc.wait(timeout=stop_timeout)
            stopped = time.time() - stop_start
        except subprocess.TimeoutExpired:  # Monit with nothing to check has been seen to ignore SIGTERM
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return Measured(c1 - c0, rss, (e1 - e0) * seconds / (t1 - t0), took, stopped, rss_now)


RULES = ["{value: time, stat: p95, over: 60s, above: 5s}", "{value: time, stat: p99, over: 60s, above: 5s}",
         "{value: time, stat: p50, over: 60s, above: 5s}", "{value: time, stat: p90, over: 60s, above: 5s}",
         "{value: time, stat: avg, over: 60s, above: 5s}", "{value: time, stat: max, over: 60s, above: 5s}",
         "{value: time, stat: min, over: 60s, above: 5s}", "{value: connect, stat: p95, over: 60s, above: 5s}",
         "{value: time, stat: last, above: 5s}", "{value: connect, stat: max, over: 60s, above: 5s}"]


def rules_share(profile):
    """The share of medic's CPU samples inside the rules' code: RuleBook::judge and the lookup of
    a check's RuleBook, both inclusive of what they call."""
    out = subprocess.run(["perf", "report", "-i", profile, "--children", "--sort", "sym", "--stdio"],
                         capture_output=True, text=True).stdout
    share = 0.0
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 4 or not parts[0].endswith("%"):
            continue
        sym = line.split("[.]", 1)[-1].strip()
        if sym.startswith("medic::checks::RuleBook::judge") or (
                sym.startswith("std::map<") and "medic::checks::RuleBook>" in sym and "::operator[]" in sym):
            share += float(parts[0].rstrip("%"))
    return share


def kind_of(kind, i):
    """The i-th check's type: `kind`, or for "mixed" half HTTP, half TCP."""
    return ("http" if i % 2 == 0 else "tcp") if kind == "mixed" else kind


def medic_config(work, kind, n, port, interval, rules=0, reuse=False, timeout="500ms", files=0):
    """medic's config for n checks of `kind`: one service in one file, or with `files`, n/files
    checks in each of that many services, one per included file (checks.d/, as a big host is
    laid out: every file's YAML document is parsed and dropped in turn)."""
    name = f"medic-{kind}-{n}" + (f"-in-{files}" if files else "")
    path = os.path.join(work, name + ".yaml")
    extra = ", reuse_connection: true" if reuse else ""
    if rules:
        extra += ", rules: [" + ", ".join(RULES[i % len(RULES)] for i in range(rules)) + "]"

    def service(f, name, first, count):
        f.write(f"  {name}:\n    unit: {name}.service\n    checks:\n")
        for i in range(first, first + count):
            if kind_of(kind, i) == "http":
                f.write(f"      - {{name: c{i}, type: http, url: 'http://{address(i)}:{port}/health', interval: {interval}, timeout: {timeout}{extra}}}\n")
            else:
                f.write(f"      - {{name: c{i}, type: tcp, host: {address(i)}, port: {port}, interval: {interval}, timeout: {timeout}{extra.replace('value: time, stat: last', 'value: time, stat: max, over: 60s')}}}\n")

    with open(path, "w") as f:
        f.write(f"agent: {{log_level: warn, state_dir: {work}/state}}\n")
        if not files:
            f.write("services:\n")
            service(f, "bench", 0, n)
            return path
        included = os.path.join(work, name + ".d")
        f.write(f"include: ['{included}/*.yaml']\n")
    os.makedirs(included, exist_ok=True)
    for j in range(files):
        with open(os.path.join(included, f"s{j:05}.yaml"), "w") as f:
            f.write("services:\n")
            service(f, f"bench{j}", j * (n // files), n // files)
    return path


def monit_config(work, kind, n, port, daemon=1):
    path = os.path.join(work, "monitrc")
    with open(path, "w") as f:
        f.write(f"set daemon {daemon}\nset logfile {work}/monit.log\nset idfile {work}/monit.id\nset statefile {work}/monit.state\n"
                f"set pidfile {work}/monit.pid\n")
        for i in range(n):
            test = f'if failed port {port} protocol http request "/health" then alert' if kind_of(kind, i) == "http" else f"if failed port {port} then alert"
            f.write(f"check host h{i} with address {address(i)}\n  {test}\n")
    os.chmod(path, 0o600)
    return path


def shell_loop(kind, port):
    if kind == "http":
        one = f"curl -fsS -o /dev/null http://127.0.0.1:{port}/health"
    else:
        one = f"bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port}'"
    return ["bash", "-c", f"while :; do {one}; done"]


def chart(rows, path, window):
    """CPU per check by rate, one group of bars per check type and rate, one bar per peer."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no chart: python3-matplotlib is not installed")
        return
    groups = sorted({(k, q) for k, q, _, _ in rows})
    peers = [p for p in ("medic", "medic reuse", "monit", "shell") if any(r[2] == p for r in rows)]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / len(peers)
    for i, peer in enumerate(peers):
        xs, ys = [], []
        for g, (kind, rate) in enumerate(groups):
            r = next((x for k, q, p, x in rows if (k, q, p) == (kind, rate, peer)), None)
            if r:
                xs.append(g + (i - (len(peers) - 1) / 2) * width)
                ys.append(r["per_check_us"])
        bars = ax.bar(xs, ys, width, label=peer)
        ax.bar_label(bars, fmt="%.0f", fontsize=7)
    ax.set_xticks(range(len(groups)), [f"{k.upper()} {q}/s" for k, q in groups])
    ax.set_yscale("log")
    ax.set_ylabel("CPU per check (µs, log scale)")
    ax.set_title(f"CPU per check against one loopback nginx ({window} s per run, one run)")
    ax.set_ylim(top=ax.get_ylim()[1] * 8)  # room for the legend above the bars
    ax.legend(loc="upper center", ncol=len(peers))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"chart: {path}")


def wait_ready(sock, proc, timeout):
    """Seconds until `proc` says READY=1 on the notify socket `sock` (as systemd would hear it).
    The socket is read on until it closes, as PID 1 does: a full one would block the sender."""
    import threading
    start, ready = time.time(), threading.Event()

    def read():
        while True:
            try:
                if b"READY=1" in sock.recv(4096):
                    ready.set()
            except socket_timeout:
                continue
            except OSError:
                return
    sock.settimeout(0.2)
    threading.Thread(target=read, daemon=True).start()
    while not ready.wait(0.2):
        if proc.poll() is not None:
            raise RuntimeError("medic exited before it was ready")
        if time.time() - start > timeout:
            raise RuntimeError(f"medic not ready after {timeout}s")
    return time.time() - start


def rusage_run(argv):
    """(seconds, peak RSS kB, exit code) of one command run to completion."""
    start = time.time()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    return time.time() - start, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


def scale_runs(args, nginx, work):
    """Many checks at a long interval: what a big host costs. Each N is measured over two
    intervals after one interval of warm-up (the first runs spread over the first interval),
    with every check in one file and then spread over --files included files. Each row is
    printed as soon as it is measured."""
    import socket
    # The base: what medic costs with 10 checks, so that bytes per check is the growth, not the libraries.
    base = medic_config(work, "mixed", 10, nginx.port, "10s", timeout="2s")
    base_rss = run_measured([args.medic, "run", "-c", base], 3, 2, lambda: 0).rss
    print(f"\nmedic at scale: half HTTP, half TCP checks against one loopback nginx on {SERVERS} address(es), {os.cpu_count()} CPUs; "
          f"measured over two intervals after one of warm-up")
    print(f"(peak: peak RSS; now: RSS at the end; B/check: peak RSS above medic's with 10 checks, {base_rss/1024:.1f} MB, "
          "divided by the checks; ready: exec to READY=1 on the notify socket, the config parsed and every check "
          "scheduled; stop: SIGTERM to exit)")
    print(f"{'checks':>7} {'every':>5} {'peer':15} {'checks/s':>9} {'CPU % core':>10} {'peak MB':>7} {'now MB':>6} "
          f"{'B/check':>8} {'late p50':>9} {'late p99':>9} {'ready':>7} {'stop':>7} {'validate':>9} {'val. peak':>9}", flush=True)
    for n in [int(x) for x in args.scale.split(",")]:
        interval_s = 10 if n <= 10000 else 60
        for files in (0, args.files):
            config = medic_config(work, "mixed", n, nginx.port, f"{interval_s}s", timeout="2s", files=files)
            v_secs, v_rss, v_rc = rusage_run([args.medic, "validate", "-c", config])
            if v_rc != 0:
                raise RuntimeError(f"medic validate of {n} checks failed: exit {v_rc}")
            notify = os.path.join(work, "notify")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(notify)
            report = os.path.join(work, "report.json")
            if os.path.exists(report):
                os.unlink(report)
            try:
                m = run_measured([args.medic, "run", "-c", config, "--report", report], 2 * interval_s, interval_s,
                                 nginx.accepts, ready=lambda proc: wait_ready(sock, proc, 600),
                                 env=dict(os.environ, NOTIFY_SOCKET=notify), stop_timeout=60)
            finally:
                sock.close()
                os.unlink(notify)
            rep = json.load(open(report)) if m.stopped is not None else None  # (written at exit)
            late = f"{rep['lateness_ms']['p50']:7.2f}ms {rep['lateness_ms']['p99']:7.2f}ms" if rep else f"{'-':>9} {'-':>9}"
            stop = f"{m.stopped:6.2f}s" if m.stopped is not None else f"{'killed':>7}"
            peer = f"medic, {files} files" if files else "medic"
            print(f"{n:7} {interval_s:4}s {peer:15} {m.events / (2 * interval_s):9.1f} {100 * m.cpu / (2 * interval_s):10.2f} "
                  f"{m.rss/1024:7.1f} {m.rss_now/1024:6.1f} {1024 * (m.rss - base_rss) / n:8.0f} {late} {m.ready:6.2f}s "
                  f"{stop} {v_secs:8.2f}s {v_rss/1024:7.1f}MB", flush=True)
        if shutil.which("monit") and n <= 10000:  # above, medic alone: how it grows
            rc = monit_config(work, "mixed", n, nginx.port, daemon=interval_s)
            m = run_measured(["monit", "-I", "-c", rc], 2 * interval_s, interval_s, nginx.accepts)
            print(f"{n:7} {interval_s:4}s {'monit':15} {m.events / (2 * interval_s):9.1f} {100 * m.cpu / (2 * interval_s):10.2f} "
                  f"{m.rss/1024:7.1f} {m.rss_now/1024:6.1f} {'-':>8} {'-':>9} {'-':>9} {'-':>7} {'-':>7} {'-':>9} {'-':>9}",
                  flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--medic", default=os.path.join(ROOT, "build", "medic"))
    ap.add_argument("--window", type=int, default=20, help="seconds per measurement")
    ap.add_argument("--rates", default="100,1000", help="checks per second to measure")
    ap.add_argument("--kinds", default="http,tcp")
    ap.add_argument("--rules", type=int, default=10, help="rules per check in the second medic run (0: no such run)")
    ap.add_argument("--reuse", action=argparse.BooleanOptionalAction, default=True,
                    help="an HTTP run of medic with reuse_connection: true against a keep-alive server")
    ap.add_argument("--chart", help="write a PNG of CPU per check by rate and peer here (python3-matplotlib)")
    ap.add_argument("--scale", help="instead: N checks (half HTTP, half TCP) for each N given (e.g. 10000,100000), "
                                    "at 10s (60s above 10,000), medic against Monit; CPU, RSS, lateness, start-up, validate")
    ap.add_argument("--files", type=int, default=100, help="with --scale: medic again with the checks spread over this "
                                                             "many services, each in an included file")
    ap.add_argument("--servers", type=int, default=1, choices=range(1, 255), metavar="1-254",
                    help="the checks' servers: check i goes to 127.0.0.(i %% N + 1), all of them the one nginx")
    args = ap.parse_args()
    global SERVERS
    SERVERS = args.servers
    work = tempfile.mkdtemp(prefix="medic-bench-")
    nginx = Nginx(work)
    if args.scale:
        try:
            scale_runs(args, nginx, work)
        finally:
            nginx.stop()
            shutil.rmtree(work, ignore_errors=True)
        return
    rows = []
    nothing = lambda: 0
    shares = []  # (kind, rate, % of medic's CPU in the rules' code), from perf in the rules run
    try:
        for kind in args.kinds.split(","):
            # What every peer did: HTTP requests (a reused connection is accepted once), TCP connections.
            done_count = nginx.requests if kind == "http" else nginx.accepts
            for rate in [int(r) for r in args.rates.split(",")]:
                results = {}
                config = medic_config(work, kind, rate, nginx.port, "1s")
                report = os.path.join(work, "report.json")
                cpu, rss, done = run_measured([args.medic, "run", "-c", config, "--report", report], args.window, 3, done_count)
                rep = json.load(open(report))
                results["medic"] = dict(cpu=cpu, rss=rss, done=done, p50=rep["lateness_ms"]["p50"], p99=rep["lateness_ms"]["p99"])
                if kind == "http" and args.reuse:
                    config = medic_config(work, kind, rate, nginx.keepalive_port, "1s", reuse=True)
                    cpu, rss, done = run_measured([args.medic, "run", "-c", config, "--report", report], args.window, 3, done_count)
                    rep = json.load(open(report))
                    results["medic reuse"] = dict(cpu=cpu, rss=rss, done=done, p50=rep["lateness_ms"]["p50"], p99=rep["lateness_ms"]["p99"])
                if args.rules:
                    config = medic_config(work, kind, rate, nginx.port, "1s", args.rules)
                    cpu, rss, done = run_measured([args.medic, "run", "-c", config, "--report", report], args.window, 3, done_count)
                    rep = json.load(open(report))
                    results[f"medic+{args.rules} rules"] = dict(cpu=cpu, rss=rss, done=done, p50=rep["lateness_ms"]["p50"], p99=rep["lateness_ms"]["p99"])
                    if shutil.which("perf"):
                        # Once more, sampled by perf (which costs the sampled process CPU of its own, so
                        # this run's CPU is not compared): the rules' share of medic's own CPU.
                        profile = os.path.join(work, "perf.data")
                        run_measured([args.medic, "run", "-c", config], args.window, 3, nothing, profile)
                        shares.append((kind, rate, rules_share(profile)))
                        os.unlink(profile)
                if shutil.which("monit"):
                    rc = monit_config(work, kind, rate, nginx.port)
                    cpu, rss, done = run_measured(["monit", "-I", "-c", rc], args.window, 3, done_count)
                    results["monit"] = dict(cpu=cpu, rss=rss, done=done)
                cpu, rss, done = run_measured(shell_loop(kind, nginx.port), args.window, 1, done_count)
                results["shell"] = dict(cpu=cpu, rss=rss, done=done)
                for peer, r in results.items():
                    r["per_check_us"] = 1e6 * r["cpu"] / max(1, r["done"])
                    r["rate"] = r["done"] / args.window
                    rows.append((kind, rate, peer, r))
        # Idle: nothing due. medic with 1000 checks at 1h (a few run per minute as the first
        # runs spread over the hour) against Monit with nothing to check at all.
        idle = {}
        config = medic_config(work, "tcp", 1000, nginx.port, "1h")
        cpu, rss, _ = run_measured([args.medic, "run", "-c", config], args.window, 3, nothing)
        idle["medic (1000 checks, 1h interval)"] = (cpu, rss)
        if shutil.which("monit"):
            rc = monit_config(work, "tcp", 0, nginx.port)
            cpu, rss, _ = run_measured(["monit", "-I", "-c", rc], args.window, 3, nothing)
            idle["monit (no checks, daemon 1)"] = (cpu, rss)
    finally:
        nginx.stop()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nmedic check benchmark: {args.window}s per run, loopback nginx /health on {SERVERS} address(es), {os.cpu_count()} CPUs")
    print(f"{'check':5} {'rate':>5} {'peer':14} {'checks/s':>9} {'CPU us/check':>13} {'vs medic':>9} {'RSS MB':>7} {'late p50':>9} {'late p99':>9}")
    for kind, rate, peer, r in rows:
        base = next(x for k, q, p, x in rows if k == kind and q == rate and p == "medic")
        ratio = r["per_check_us"] / base["per_check_us"]
        late = f"{r['p50']:7.2f}ms {r['p99']:7.2f}ms" if "p50" in r else f"{'-':>9} {'-':>9}"
        print(f"{kind:5} {rate:5} {peer:14} {r['rate']:9.1f} {r['per_check_us']:13.1f} {ratio:8.2f}x {r['rss']/1024:7.1f} {late}")
    print("(CPU and rate over the steady-state window after a warm-up; RSS is the peak of the main process.)")
    for kind, rate, share in shares:
        print(f"{kind} {rate}/s with {args.rules} rules per check: {share:.1f}% of medic's CPU is in the rules' code "
              "(perf samples of that run: RuleBook::judge and the lookup of a check's rules, inclusive)")
    print("\nidle cost (nothing due)")
    for name, (cpu, rss) in idle.items():
        print(f"  {name:36} {1000 * cpu / args.window * 60:8.1f} ms CPU per minute, RSS {rss/1024:.1f} MB")
    if args.chart:
        chart(rows, args.chart, args.window)


if __name__ == "__main__":
    main()
