#!/usr/bin/env python3
"""What medic's HTTP endpoints cost, measured in one run on one machine.

1. CPU per scrape: medic with N checks (TCP, 1h interval: nothing due, so its own CPU is the
   scrapes'), /metrics and / fetched K times back to back; CPU of the process over the
   scrapes / K, and the size of each answer.
2. Does scraping delay checks: medic with N TCP checks at 1s against a loopback nginx, run
   twice, with nothing scraping and with /metrics scraped every second (Prometheus' fastest
   usual interval); start lateness p50/p99 from medic's own report, and CPU per check.
"""
import argparse, json, os, re, shutil, signal, subprocess, sys, tempfile, threading, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checks_bench as cb  # noqa: E402


def config(work, n, port, interval, http_port):
    path = cb.medic_config(work, "tcp", n, port, interval)
    text = open(path).read().replace("services:\n", f"http: {{listen: \"127.0.0.1:{http_port}\"}}\nservices:\n", 1)
    open(path, "w").write(text)
    return path


def fetch(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read()


def wait_serving(url):
    deadline = time.time() + 20
    while True:
        try:
            return fetch(url)
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--medic", default=os.path.join(cb.ROOT, "build", "medic"))
    ap.add_argument("--checks", type=int, default=1000)
    ap.add_argument("--scrapes", type=int, default=200)
    ap.add_argument("--window", type=int, default=20, help="seconds per lateness run")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="medic-scrape-bench-")
    nginx = cb.Nginx(work)
    try:
        # 1. CPU per scrape, medic otherwise idle.
        http_port = cb.free_port()
        base = f"http://127.0.0.1:{http_port}"
        proc = subprocess.Popen([args.medic, "run", "-c", config(work, args.checks, nginx.port, "1h", http_port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_serving(base + "/-/ready")
            time.sleep(2)  # start-up done
            costs = {}
            for path in ("/metrics", "/", "/api/v1/status"):
                size = len(fetch(base + path))
                c0 = cb.cpu_of(proc.pid)
                t0 = time.time()
                for _ in range(args.scrapes):
                    fetch(base + path)
                c1, t1 = cb.cpu_of(proc.pid), time.time()
                costs[path] = (1000 * (c1 - c0) / args.scrapes, 1000 * (t1 - t0) / args.scrapes, size)
            rss = cb.peak_rss_kb(proc.pid)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()

        # 2. Lateness with and without a scrape a second.
        runs = {}
        for scraping in (False, True):
            http_port = cb.free_port()
            report = os.path.join(work, "report.json")
            stop = threading.Event()
            scrapes = [0]

            def scraper():
                url = f"http://127.0.0.1:{http_port}/metrics"
                while not stop.is_set():
                    try:
                        fetch(url)
                        scrapes[0] += 1
                    except OSError:
                        pass
                    stop.wait(1.0)

            thread = threading.Thread(target=scraper) if scraping else None
            if thread:
                thread.start()
            try:
                cpu, _, done = cb.run_measured([args.medic, "run", "-c", config(work, args.checks, nginx.port, "1s", http_port),
                                                "--report", report], args.window, 3, lambda: nginx.accepts() - 1)
            finally:
                stop.set()
                if thread:
                    thread.join()
            rep = json.load(open(report))
            runs[scraping] = (1e6 * cpu / max(1, done), rep["lateness_ms"]["p50"], rep["lateness_ms"]["p99"], scrapes[0])
    finally:
        nginx.stop()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nmedic HTTP endpoint benchmark: {args.checks} checks, {os.cpu_count()} CPUs")
    print(f"{'endpoint':16} {'CPU ms/request':>15} {'wall ms/request':>16} {'bytes':>9}")
    for path, (cpu_ms, wall_ms, size) in costs.items():
        print(f"{path:16} {cpu_ms:15.2f} {wall_ms:16.2f} {size:9d}")
    print(f"(medic idle otherwise: {args.checks} checks at 1h; {args.scrapes} requests each, back to back; peak RSS {rss/1024:.1f} MB)")
    print(f"\n{args.checks} TCP checks/s, {args.window}s each:")
    print(f"{'scraping':24} {'CPU us/check':>13} {'late p50':>9} {'late p99':>9}")
    for scraping, (per_check, p50, p99, n) in runs.items():
        name = f"/metrics every 1s ({n})" if scraping else "none"
        print(f"{name:24} {per_check:13.1f} {p50:7.2f}ms {p99:7.2f}ms")


if __name__ == "__main__":
    main()
