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

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Nginx:
    def __init__(self, work):
        self.port, self.status_port = free_port(), free_port()
        conf = os.path.join(work, "nginx.conf")
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
  server {{ listen 127.0.0.1:{self.port} backlog=4096; location /health {{ return 200 "ok\\n"; }} }}
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

    def accepts(self):
        # "Active connections: 1\nserver accepts handled requests\n 5 5 5\n..."
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.status_port}/status", timeout=5).read().decode()
        return int(text.splitlines()[2].split()[0])

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


TICK = os.sysconf("SC_CLK_TCK")


def cpu_of(pid):
    """utime+stime of the process and its reaped children (curl forks count), in seconds."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICK


def peak_rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):  # peak RSS since exec
            return int(line.split()[1])
    return 0


def run_measured(argv, seconds, warmup, counter, profile=None):
    """Starts argv, lets it warm up, then measures `seconds` of steady state.
    Returns (cpu_seconds, peak_rss_kb, events) where events is counter() over the window.
    With `profile` (a file name), perf samples the process over the window as well."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
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
        rss = peak_rss_kb(proc.pid)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # Monit with nothing to check has been seen to ignore SIGTERM
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return c1 - c0, rss, (e1 - e0) * seconds / (t1 - t0)


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


def medic_config(work, kind, n, port, interval, rules=0):
    path = os.path.join(work, "medic.yaml")
    extra = ""
    if rules:
        extra = ", rules: [" + ", ".join(RULES[i % len(RULES)] for i in range(rules)) + "]"
    with open(path, "w") as f:
        f.write(f"agent: {{log_level: warn, state_dir: {work}/state}}\nservices:\n  bench:\n    unit: bench.service\n    checks:\n")
        for i in range(n):
            if kind == "http":
                f.write(f"      - {{name: c{i}, type: http, url: 'http://127.0.0.1:{port}/health', interval: {interval}, timeout: 500ms{extra}}}\n")
            else:
                f.write(f"      - {{name: c{i}, type: tcp, host: 127.0.0.1, port: {port}, interval: {interval}, timeout: 500ms{extra.replace('value: time, stat: last', 'value: time, stat: max, over: 60s')}}}\n")
    return path


def monit_config(work, kind, n, port):
    path = os.path.join(work, "monitrc")
    with open(path, "w") as f:
        f.write(f"set daemon 1\nset logfile {work}/monit.log\nset idfile {work}/monit.id\nset statefile {work}/monit.state\n"
                f"set pidfile {work}/monit.pid\n")
        for i in range(n):
            test = f'if failed port {port} protocol http request "/health" then alert' if kind == "http" else f"if failed port {port} then alert"
            f.write(f"check host h{i} with address 127.0.0.1\n  {test}\n")
    os.chmod(path, 0o600)
    return path


def shell_loop(kind, port):
    if kind == "http":
        one = f"curl -fsS -o /dev/null http://127.0.0.1:{port}/health"
    else:
        one = f"bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port}'"
    return ["bash", "-c", f"while :; do {one}; done"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--medic", default=os.path.join(ROOT, "build", "medic"))
    ap.add_argument("--window", type=int, default=20, help="seconds per measurement")
    ap.add_argument("--rates", default="100,1000", help="checks per second to measure")
    ap.add_argument("--kinds", default="http,tcp")
    ap.add_argument("--rules", type=int, default=10, help="rules per check in the second medic run (0: no such run)")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="medic-bench-")
    nginx = Nginx(work)
    rows = []
    nothing = lambda: 0
    shares = []  # (kind, rate, % of medic's CPU in the rules' code), from perf in the rules run
    accepts = lambda: nginx.accepts() - 1  # minus our own status request
    try:
        for kind in args.kinds.split(","):
            for rate in [int(r) for r in args.rates.split(",")]:
                results = {}
                config = medic_config(work, kind, rate, nginx.port, "1s")
                report = os.path.join(work, "report.json")
                cpu, rss, done = run_measured([args.medic, "run", "-c", config, "--report", report], args.window, 3, accepts)
                rep = json.load(open(report))
                results["medic"] = dict(cpu=cpu, rss=rss, done=done, p50=rep["lateness_ms"]["p50"], p99=rep["lateness_ms"]["p99"])
                if args.rules:
                    config = medic_config(work, kind, rate, nginx.port, "1s", args.rules)
                    cpu, rss, done = run_measured([args.medic, "run", "-c", config, "--report", report], args.window, 3, accepts)
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
                    cpu, rss, done = run_measured(["monit", "-I", "-c", rc], args.window, 3, accepts)
                    results["monit"] = dict(cpu=cpu, rss=rss, done=done)
                cpu, rss, done = run_measured(shell_loop(kind, nginx.port), args.window, 1, accepts)
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

    print(f"\nmedic check benchmark: {args.window}s per run, loopback nginx /health, {os.cpu_count()} CPUs")
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


if __name__ == "__main__":
    main()
