#!/usr/bin/python3
"""Alert receivers for the tests, on loopback. Prints its port on the first line, then
appends one JSON line per message received to --log (so a restarted receiver keeps the list).

  webhook [--port P] [--status N]   HTTP: records every POST (path, headers, body), answers N
  smtp [--port P] [--cert C --key K [--implicit-tls]] [--user U --password W]
                                    SMTP (python3-aiosmtpd): STARTTLS offered and required
                                    when a certificate is given; AUTH required when a user is
"""
import argparse
import asyncio
import json
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()


def record(path, entry):
    with lock, open(path, "a") as f:
        f.write(json.dumps(entry) + "\n")


def webhook(args):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            record(args.log, {"path": self.path, "headers": dict(self.headers.items()), "body": body.decode()})
            self.send_response(args.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


def smtp(args):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, SMTP

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
            record(args.log, {"from": envelope.mail_from, "to": envelope.rcpt_tos, "tls": tls,
                              "user": session.auth_data.login.decode() if session.auth_data else None,
                              "data": envelope.content.decode("utf-8", "replace")})
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login.decode() == args.user and auth_data.password.decode() == args.password
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    port = args.port
    if port == 0:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
    context = None
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
    kwargs = {}
    if context and not args.implicit_tls:
        kwargs.update(tls_context=context, require_starttls=True)
    if args.user:
        kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=bool(context))
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, server_kwargs=kwargs,
                            ssl_context=context if args.implicit_tls else None)
    controller.start()
    print(port, flush=True)
    threading.Event().wait()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=["webhook", "smtp"])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--log", required=True)
    p.add_argument("--status", type=int, default=200)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--implicit-tls", action="store_true")
    p.add_argument("--user")
    p.add_argument("--password")
    args = p.parse_args()
    webhook(args) if args.kind == "webhook" else smtp(args)


if __name__ == "__main__":
    main()
