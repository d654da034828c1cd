#!/usr/bin/env python3
"""A tiny service for medic's demo and system tests.

GET  /health              200 "ok", or 500 with the reason while it is unwell
GET  /stats               how many /health requests it has answered
POST /control/unhealthy   answer 500 from now on (the process stays up)
POST /control/healthy     answer 200 again
POST /control/need-reload answer 500 until the service receives SIGHUP; with --state-dir
                          this survives a restart (a marker file), so only a reload heals
POST /control/crash       exit(1) at once
With --needs URL it is an app that needs another service: /health answers 502 while a GET
of URL does not answer 200 (as an app whose database is down).
It reads --config at start and on SIGHUP; a config without the line "valid=yes" makes
/health answer 500 ("config corrupt") until a good config is in place and reloaded.
Unlike python's http.server alone, SIGHUP reloads instead of killing it.
"""
import argparse, os, signal, sys, threading, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

state = {"unhealthy": False, "need_reload": False, "config_ok": True, "reloads": 0, "health_requests": 0}
args = None


def load_config():
    try:
        with open(args.config) as f:
            state["config_ok"] = "valid=yes" in f.read().splitlines()
    except OSError:
        state["config_ok"] = False


def marker():
    return os.path.join(args.state_dir, "need-reload") if args.state_dir else None


def on_hup(*_):
    state["reloads"] += 1
    state["need_reload"] = False
    if marker() and os.path.exists(marker()):
        os.unlink(marker())
    if args.config:
        load_config()
    print(f"reloaded (reload #{state['reloads']})", flush=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, code, text):
        body = (text + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/stats":
            return self.answer(200, str(state["health_requests"]))
        if self.path != "/health":
            return self.answer(404, "not found")
        state["health_requests"] += 1
        if state["unhealthy"]:
            return self.answer(500, "told to be unhealthy")
        if state["need_reload"]:
            return self.answer(500, "needs a reload")
        if not state["config_ok"]:
            return self.answer(500, "config corrupt")
        if args.needs:
            try:
                with urllib.request.urlopen(args.needs, timeout=0.5) as r:
                    ok = r.status == 200
            except Exception as e:
                ok, why = False, str(e)
            if not ok:
                return self.answer(502, f"cannot reach what it needs ({args.needs})")
        return self.answer(200, "ok")

    def do_POST(self):
        action = self.path.rsplit("/", 1)[-1]
        if action == "crash":
            print("crashing as asked", flush=True)
            os._exit(1)
        if action == "unhealthy":
            state["unhealthy"] = True
        elif action == "healthy":
            state["unhealthy"] = False
        elif action == "need-reload":
            state["need_reload"] = True
            if marker():
                open(marker(), "w").close()
        else:
            return self.answer(404, "unknown control")
        print(f"control: {action}", flush=True)
        self.answer(200, action)


def main():
    global args
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--config")
    ap.add_argument("--state-dir")
    ap.add_argument("--needs")
    args = ap.parse_args()
    if marker() and os.path.exists(marker()):
        state["need_reload"] = True
    if args.config:
        load_config()
    signal.signal(signal.SIGHUP, on_hup)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"demo service listening on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
