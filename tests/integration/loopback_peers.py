#!/usr/bin/env python3
"""Real network peers on 127.0.0.1 for medic's integration tests and benchmarks.

Prints one JSON line with the ports it listens on, then serves until killed:
  http     HTTP/1.1 server: /ok, /status/NNN, /big (10 MiB), /binary, /redirect, /slow,
           /maintenance (a 200 page saying so, with X-Backend and Cache-Control headers),
           /echo (reflects method, headers and body), /chunked (a chunked body sent in
           pieces), /until-close (no length: the body runs until the connection closes),
           /continue (an interim 100 response before the real one), /empty (closes
           without answering), /latency (answers after the delay
           last set by /latency/set/MS), /fresh (200 on a connection's first request, 500 on
           any later one: tells a fresh connection from a reused one)
  https    the same over TLS with --cert/--key (when given)
  mtls     the same over TLS, demanding a client certificate signed by --ca
  https-expiring  the same over TLS with --expiring-cert/--expiring-key (a certificate near its end)
  banner   TCP: sends "SSH-2.0-medic-test" on accept
  pingpong TCP: answers "PING" with "PONG"
  garbage  TCP: sends non-text bytes, then closes
  silent   TCP: accepts, reads, never answers
  tls-pingpong   pingpong over TLS with --cert/--key (implicit TLS, as SMTPS or Redis TLS)
  mtls-pingpong  the same, demanding a client certificate signed by --ca
  tls-expiring   pingpong over TLS with the certificate near its end (--expiring-cert)
  backlog  TCP: listens but never accepts (connect succeeds, nothing ever comes back)
"""
import argparse, json, os, socket, ssl, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BIG = b"x" * (10 * 1024 * 1024)
latency_ms = [0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, ctype="text/plain", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    def raw(self, *pieces):
        """Writes the answer byte for byte, in pieces (each flushed), then closes."""
        for piece in pieces:
            self.wfile.write(piece)
            self.wfile.flush()
        self.close_connection = True

    def route(self):
        p = self.path
        self.requests_on_connection = getattr(self, "requests_on_connection", 0) + 1  # one handler per connection
        if p == "/fresh":
            if self.requests_on_connection == 1:
                return self.reply(200, b"a fresh connection\n")
            return self.reply(500, b"request %d on a reused connection\n" % self.requests_on_connection)
        if p == "/ok":
            return self.reply(200, b'{"ok": true}\n', "application/json")
        if p.startswith("/status/"):
            code = int(p.split("/")[2])
            return self.reply(code, b"status %d\n" % code)
        if p == "/big":
            return self.reply(200, BIG)
        if p == "/binary":
            return self.reply(200, b"\xff\xfe\x00\x01 not text \xc3\x28")
        if p == "/maintenance":
            return self.reply(200, b"<h1>down for maintenance mode</h1>\n", "text/html",
                              extra=[("X-Backend", "blue-3"), ("Cache-Control", "no-store")])
        if p == "/chunked":
            return self.raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Back", b"end: green-1\r\n\r\n5\r\nhel",
                            b"lo\r\n7\r\n, world\r\n0\r\n\r\n")
        if p == "/until-close":
            return self.raw(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the ", b"end\n")
        if p == "/continue":
            return self.raw(b"HTTP/1.1 100 Continue\r\nX-Stage: interim\r\n\r\n",
                            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Stage: final\r\n\r\nok\n")
        if p == "/empty":
            self.close_connection = True
            return
        if p == "/redirect":
            return self.reply(302, b"", extra=[("Location", "/ok")])
        if p.startswith("/latency/set/"):
            latency_ms[0] = int(p.rsplit("/", 1)[1])
            return self.reply(200, b"latency %d ms\n" % latency_ms[0])
        if p == "/latency":
            time.sleep(latency_ms[0] / 1000.0)
            return self.reply(200, b"ok\n")
        if p == "/slow":
            time.sleep(30)
            return self.reply(200, b"late\n")
        if p == "/echo":
            length = int(self.headers.get("Content-Length", "0") or 0)
            body = self.rfile.read(length) if length else b""
            data = {"method": self.command, "headers": dict(self.headers), "body": body.decode("latin-1")}
            return self.reply(200, json.dumps(data).encode(), "application/json")
        return self.reply(404, b"not found\n")

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = route


def tcp_server(handler, listen=True, backlog=128):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(backlog)
    if listen:
        def loop():
            while True:
                conn, _ = s.accept()
                threading.Thread(target=handler, args=(conn,), daemon=True).start()
        threading.Thread(target=loop, daemon=True).start()
    return s


def banner(conn):
    conn.sendall(b"SSH-2.0-medic-test\r\n")
    time.sleep(1)
    conn.close()


def pingpong(conn):
    data = b""
    try:
        while b"PING" not in data:
            chunk = conn.recv(1024)
            if not chunk:
                break
            data += chunk
        conn.sendall(b"PONG\r\n")
    except OSError:
        pass  # the probe went away first (a timeout, a connect-only check)
    conn.close()


def garbage(conn):
    conn.sendall(bytes(range(256)) * 4)
    conn.close()


def silent(conn):
    try:
        while conn.recv(4096):
            pass
    except OSError:
        pass


def over_tls(ctx, handler):
    def serve(conn):
        try:
            conn = ctx.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            conn.close()  # the probe refused our certificate, or sent none when one is demanded
            return
        handler(conn)
    return serve


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--ca")
    ap.add_argument("--expiring-cert")
    ap.add_argument("--expiring-key")
    args = ap.parse_args()
    ports = {}

    def tls_context(cert, key, client_ca=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        if client_ca:
            ctx.load_verify_locations(client_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx

    def http_server(name, ctx=None):
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        if ctx:
            server.socket = ctx.wrap_socket(server.socket, server_side=True)
        ports[name] = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()

    # name: its TLS context (None: plain), for an HTTP server and a TLS ping-pong server.
    contexts = {}
    if args.cert:
        contexts["plain"] = tls_context(args.cert, args.key)
    if args.expiring_cert:
        contexts["expiring"] = tls_context(args.expiring_cert, args.expiring_key)
    if args.cert and args.ca:
        contexts["mtls"] = tls_context(args.cert, args.key, args.ca)
    http_server("http")
    for name, http_name in [("plain", "https"), ("expiring", "https-expiring"), ("mtls", "mtls")]:
        if name in contexts:
            http_server(http_name, contexts[name])
    keep = []
    servers = [("banner", banner), ("pingpong", pingpong), ("garbage", garbage), ("silent", silent)]
    for name, tcp_name in [("plain", "tls-pingpong"), ("expiring", "tls-expiring"), ("mtls", "mtls-pingpong")]:
        if name in contexts:
            servers.append((tcp_name, over_tls(contexts[name], pingpong)))
    for name, fn in servers:
        s = tcp_server(fn)
        keep.append(s)
        ports[name] = s.getsockname()[1]
    backlog = tcp_server(None, listen=False, backlog=4096)
    keep.append(backlog)
    ports["backlog"] = backlog.getsockname()[1]
    print(json.dumps(ports), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
