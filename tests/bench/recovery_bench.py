#!/usr/bin/python3
"""Time to recover, in a real systemd: medic against Monit and systemd's own Restart=always.

Run inside the box (dev/bench --recovery runs tests/system/box.sh run on this file). One
demo service (tests/system/demo_service.py) on port 8080, one peer watching it at a time,
the same check (GET /health every 1 s, 2 failures in a row) for every peer:

  medic           an http check, failure_threshold 2, restart
  medic failing   the same with failing_interval: 200ms (re-probes a failing service sooner)
  monit           its documented way: `check process ... with pidfile`, `if failed host 127.0.0.1 port 8080
                  protocol http request "/health" for 2 cycles then restart`, start and stop
                  through systemctl with a short start timeout, `set daemon 1`
  systemd         Restart=always on the unit (it cannot see a hung service: crash only)

Faults: (a) kill -9 of the main process; (b) the process alive, /health answering 500. Each
fault lands at a random phase of the 1 s interval. Detection is when PID 1's journal first
shows the peer acting on the unit (a restart scheduled, a stop or a start), recovery when
/health answers 200 again from a new process; both from the moment of the fault, p50/p99.
"""
import argparse, json, os, random, signal, subprocess, sys, tempfile, time, urllib.error, urllib.request

REPO = os.environ.get("MEDIC_REPO") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("MEDIC_BUILD") or os.path.join(REPO, "build")
MEDIC = os.path.join(BUILD, "medic")
DEMO = os.path.join(REPO, "tests/system/demo_service.py")
URL = "http://127.0.0.1:8080/health"
WORK = tempfile.mkdtemp(prefix="medic-recovery-bench-")
GRACE = 2  # medic's verify_grace: a service it just restarted and verified is given this long before a new recovery


def sh(*argv, check=True):
    return subprocess.run(argv, check=check, capture_output=True, text=True).stdout.strip()


def until(what, seconds, condition, every=0.005):
    deadline = time.time() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.time() > deadline:
            raise RuntimeError(f"gave up after {seconds}s waiting for: {what}")
        time.sleep(every)  # a polling interval, not a guessed duration


def status_of(url=URL):
    try:
        with urllib.request.urlopen(url, timeout=0.5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


def main_pid():
    return int(sh("systemctl", "show", "-p", "MainPID", "--value", "demo.service") or 0)


def install_demo(restart_always=False):
    os.makedirs("/etc/demo", exist_ok=True)
    os.makedirs("/var/lib/demo-8080", exist_ok=True)
    with open("/etc/demo/demo.service.conf", "w") as f:
        f.write("valid=yes\n")
    with open("/etc/systemd/system/demo.service", "w") as f:
        f.write(f"""[Unit]
Description=the demo service the recovery benchmark breaks
StartLimitIntervalSec=0
[Service]
ExecStart=/usr/bin/python3 {DEMO} --port 8080 --config /etc/demo/demo.service.conf --state-dir /var/lib/demo-8080
ExecStartPost=/bin/sh -c 'echo $MAINPID > /run/demo.pid'
{"Restart=always" if restart_always else ""}
""")
    sh("systemctl", "daemon-reload")
    sh("systemctl", "restart", "demo.service")
    until("the demo answering", 10, lambda: status_of() == 200)


def medic_config(failing_interval=None):
    path = os.path.join(WORK, "medic-failing.yaml" if failing_interval else "medic.yaml")
    extra = f", failing_interval: {failing_interval}" if failing_interval else ""
    with open(path, "w") as f:
        f.write(f"""agent: {{state_dir: {WORK}/state}}
services:
  demo:
    unit: demo.service
    failure_threshold: 2
    checks:
      - {{name: health, type: http, url: "{URL}", interval: 1s, timeout: 500ms{extra}}}
    recovery:
      verify_grace: {GRACE}s
      flapping: {{max_recoveries: 1000, within: 1h}}   # deliberate faults, not flapping
""")
    return path


def medic_journal_count(text):
    out = sh("journalctl", "-u", "medic-bench", "--no-pager", "-o", "cat", check=False)
    return out.count(text)


class Medic:
    def __init__(self, failing_interval=None):
        self.name = f"medic, failing_interval {failing_interval}" if failing_interval else "medic"
        self.config = medic_config(failing_interval)

    def start(self):
        install_demo()
        # The journal keeps earlier runs' entries: count from here.
        first, self.recovered = medic_journal_count("demo/health: first result -> healthy"), medic_journal_count("demo: recovered by")
        sh("systemd-run", "--unit=medic-bench", "--property=Type=notify", MEDIC, "run", "-c", self.config)
        until("medic's first healthy result", 10, lambda: medic_journal_count("demo/health: first result -> healthy") > first)

    def settled(self, fault_no):
        # The recovery verified and its grace over: the next fault meets a medic with nothing
        # under way (a failure within the grace of a restart waits for its end, by design).
        if medic_journal_count("demo: recovered by") - self.recovered < fault_no:
            return False
        out = sh("journalctl", "-u", "medic-bench", "-o", "json", "--no-pager", "-g", "demo: recovered by", "-n", "1", check=False)
        last = int(json.loads(out.splitlines()[-1])["__REALTIME_TIMESTAMP"]) / 1e6
        return time.time() >= last + GRACE

    def stop(self):
        sh("systemctl", "stop", "medic-bench", check=False)


class Monit:
    name = "monit"

    def start(self):
        install_demo()
        self.rc = os.path.join(WORK, "monitrc")
        self.log = os.path.join(WORK, "monit.log")
        with open(self.rc, "w") as f:
            f.write(f"""set daemon 1
set logfile {self.log}
set idfile {WORK}/monit.id
set statefile {WORK}/monit.state
set pidfile {WORK}/monit.pid
set httpd unixsocket {WORK}/monit.sock allow admin:monit
check process demo with pidfile /run/demo.pid
  start program = "/bin/systemctl start demo.service" with timeout 2 seconds
  stop program = "/bin/systemctl stop demo.service"
  if failed host 127.0.0.1 port 8080 protocol http request "/health" with timeout 1 seconds for 2 cycles then restart
""")
        os.chmod(self.rc, 0o600)
        if os.path.exists(self.log):
            os.unlink(self.log)
        sh("systemd-run", "--unit=monit-bench", "monit", "-I", "-c", self.rc)
        until("Monit's first cycle", 10, lambda: os.path.exists(self.log) and "Monit" in open(self.log).read())
        # Until Monit has tested the port once, the service is "Initializing" and a fault would
        # wait for Monit's start-up, not for its detection.
        until("Monit's first test of the demo", 60,
              lambda: " OK " in sh("monit", "-c", self.rc, "summary", check=False).replace("OK\n", "OK \n"), every=0.1)

    def settled(self, fault_no):
        # Monit logs a success after each failure it saw ("connection succeeded", or the
        # process "is running" again once it had been restarted).
        text = open(self.log).read()
        return text.count("succeeded") + text.count("process is running") >= fault_no

    def stop(self):
        sh("systemctl", "stop", "monit-bench", check=False)


class Systemd:
    name = "systemd"

    def start(self):
        install_demo(restart_always=True)

    def settled(self, fault_no):
        return sh("systemctl", "is-active", "demo.service", check=False) == "active"

    def stop(self):
        pass


def pid1_acted_at(since_us):
    """Realtime µs of PID 1's first entry about demo.service after since_us in which a peer acts."""
    out = sh("journalctl", "_PID=1", "-o", "json", "--no-pager", "--since", f"@{since_us // 1000000}", check=False)
    for line in out.splitlines():
        e = json.loads(line)
        t = int(e["__REALTIME_TIMESTAMP"])
        m = e.get("MESSAGE", "")
        if t >= since_us and "demo.service" in m and ("Scheduled restart job" in m or m.startswith(("Stopping", "Starting"))):
            return t
    return None


def one_fault(peer, fault, fault_no):
    time.sleep(random.random())  # a random phase of the 1 s interval (the fault's time, not a wait)
    old = main_pid()
    t0 = time.time()
    if fault == "kill":
        os.kill(old, signal.SIGKILL)
    else:
        urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:8080/control/unhealthy", method="POST"), timeout=2)
    until(f"{peer.name}: 200 from a new process after {fault} {fault_no}", 60,
          lambda: status_of() == 200 and main_pid() not in (0, old))
    t_ok = time.time()
    acted = until(f"{peer.name}: PID 1's journal of the action", 10, lambda: pid1_acted_at(int(t0 * 1e6)), every=0.05)
    until(f"{peer.name}: settled after {fault} {fault_no}", 30, lambda: peer.settled(fault_no), every=0.02)
    return acted / 1e6 - t0, t_ok - t0


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def chart(results_json, png):
    """Time until 200 again (p50, with the p99 as a whisker) by peer and fault."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    results = json.load(open(results_json))
    faults = [f for f in ("kill", "500") if any(r["fault"] == f for r in results)]
    peers = list(dict.fromkeys(r["peer"] for r in results))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / len(peers)
    for i, peer in enumerate(peers):
        xs, ys, errs = [], [], []
        for g, fault in enumerate(faults):
            r = next((x for x in results if x["peer"] == peer and x["fault"] == fault), None)
            if r:
                xs.append(g + (i - (len(peers) - 1) / 2) * width)
                ys.append(r["recover_p50"])
                errs.append(r["recover_p99"] - r["recover_p50"])
        bars = ax.bar(xs, ys, width, yerr=[[0] * len(errs), errs], capsize=3, label=peer)
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_xticks(range(len(faults)), ["kill -9" if f == "kill" else "HTTP 500, process alive" for f in faults])
    ax.set_ylabel("s from the fault to 200 again (p50; whisker p99)")
    ax.set_title("time to recover in a real systemd (check every 1 s, 2 failures in a row)")
    ax.set_ylim(top=ax.get_ylim()[1] * 1.25)  # room for the legend above the bars
    ax.legend(loc="upper left", ncol=2)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    print(f"chart: {png}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--faults", type=int, default=20, help="faults of each kind per peer")
    ap.add_argument("--out", help="write the results as JSON here (for the chart)")
    ap.add_argument("--chart", nargs=2, metavar=("JSON", "PNG"), help="only draw the chart of an earlier run (on the host)")
    ap.add_argument("--peers", default="medic,medic failing,monit,systemd", help="which peers, in this order")
    ap.add_argument("--journal", action="store_true", help="print medic's journal at the end (to see why a figure is what it is)")
    args = ap.parse_args()
    if args.chart:
        return chart(*args.chart)
    # As on a real host, localhost and the host's own name resolve (Monit looks both up; without
    # them each lookup waits out the resolver's timeout, about 10 s, in a box with no DNS).
    hosts = open("/etc/hosts").read() if os.path.exists("/etc/hosts") else ""
    if "localhost" not in hosts:
        with open("/etc/hosts", "a") as f:
            f.write(f"127.0.0.1 localhost {os.uname().nodename}\n::1 localhost\n")
    known = {"medic": Medic(), "medic failing": Medic("200ms"), "monit": Monit(), "systemd": Systemd()}
    peers = [known[p] for p in args.peers.split(",")]
    results = []
    for peer in peers:
        for fault in ("kill", "500"):
            if isinstance(peer, Systemd) and fault == "500":
                continue  # it cannot see it: the service stays broken
            if isinstance(peer, Medic) and peer.name != "medic" and fault == "kill":
                continue  # a kill is heard from systemd, not found by the check: same as medic
            peer.start()
            try:
                runs = [one_fault(peer, fault, i + 1) for i in range(args.faults)]
            finally:
                peer.stop()
                if args.journal and isinstance(peer, Monit):
                    print(open(peer.log).read())
            detect, recover = [r[0] for r in runs], [r[1] for r in runs]
            results.append(dict(peer=peer.name, fault=fault, n=len(runs), detect_p50=pct(detect, 0.5), detect_p99=pct(detect, 0.99),
                                recover_p50=pct(recover, 0.5), recover_p99=pct(recover, 0.99)))
            print(f"# {peer.name} {fault}: detection p50 {1000 * results[-1]['detect_p50']:.0f} ms, "
                  f"recovery p50 {1000 * results[-1]['recover_p50']:.0f} ms", flush=True)
    print(f"\ntime to recover in a real systemd: check every 1 s, 2 failures in a row, {args.faults} faults each")
    print(f"{'peer':30} {'fault':5} {'detect p50':>11} {'p99':>8} {'200 again p50':>14} {'p99':>8}")
    for r in results:
        print(f"{r['peer']:30} {r['fault']:5} {1000 * r['detect_p50']:9.0f}ms {1000 * r['detect_p99']:6.0f}ms "
              f"{1000 * r['recover_p50']:12.0f}ms {1000 * r['recover_p99']:6.0f}ms")
    print("(from the fault: detection = PID 1 journals a restart scheduled, a stop or a start of the unit; "
          "200 again = /health answers 200 from a new process)")
    if args.journal:
        print(sh("journalctl", "-u", "medic-bench", "-u", "demo.service", "--no-pager", "-o", "short-monotonic", check=False))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
