#!/usr/bin/env python3
"""receiver: a webhook receiver for whrun's tests (Python 3 standard library).

Listens on HOST (default 127.0.0.1) at an ephemeral port, prints "PORT <n>"
on stdout once it accepts connections, and answers by path:

  /ok                          200 "ok"
  /status/CODE                 CODE (a 3xx carries Location: /ok)
  /flaky/KEY/N/CODE            the first N requests for KEY get CODE, then 200
  /retry-after/KEY/SECS        first request for KEY: 429 Retry-After: SECS; then 200
  /retry-after-date/KEY/SECS   the same with an HTTP-date SECS from now
  /sleep/MS                    waits MS milliseconds, then 200
  /gate/NAME[/CODE]            waits until the file NAME exists in --gate-dir
                               (at most 60 s), then CODE (default 200): a test
                               opens the gate
  /reset                       reads the request, then resets the connection (RST)
  /big/BYTES                   200 with a body of BYTES bytes
  anything else                404

With --tls-cert and --tls-key it speaks HTTPS instead.

Every request is appended to --log FILE as one JSON line (method, path,
headers, body, client port, time) before it is answered, so tests can
count what reached the receiver.
"""
import argparse
import email.utils
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

counts = {}
lock = threading.Lock()
log_file = None
gate_dir = None


def hit(key):
    with lock:
        counts[key] = counts.get(key, 0) + 1
        return counts[key]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, body=b"", headers=None):
        self.send_response(code)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if log_file:
            entry = {
                "time": time.time(),
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
                "client_port": self.client_address[1],
            }
            with lock:
                log_file.write(json.dumps(entry) + "\n")
                log_file.flush()

        parts = self.path.split("?")[0].strip("/").split("/")
        name, args = parts[0], parts[1:]
        if name == "ok":
            self.reply(200, b"ok")
        elif name == "status" and len(args) == 1:
            code = int(args[0])
            headers = {"Location": "/ok"} if 300 <= code < 400 else None
            self.reply(code, b"status %d" % code, headers)
        elif name == "flaky" and len(args) == 3:
            if hit("flaky/" + args[0]) <= int(args[1]):
                self.reply(int(args[2]), b"not yet")
            else:
                self.reply(200, b"ok")
        elif name in ("retry-after", "retry-after-date") and len(args) == 2:
            if hit(name + "/" + args[0]) == 1:
                secs = int(args[1])
                value = (str(secs) if name == "retry-after" else
                         email.utils.formatdate(time.time() + secs, usegmt=True))
                self.reply(429, b"slow down", {"Retry-After": value})
            else:
                self.reply(200, b"ok")
        elif name == "sleep" and len(args) == 1:
            time.sleep(int(args[0]) / 1000.0)
            self.reply(200, b"ok")
        elif name == "gate" and len(args) in (1, 2) and gate_dir:
            deadline = time.time() + 60
            while time.time() < deadline and not os.path.exists(os.path.join(gate_dir, args[0])):
                time.sleep(0.01)
            code = int(args[1]) if len(args) == 2 else 200
            self.reply(code, b"ok" if code == 200 else b"gate %d" % code)
        elif name == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
        elif name == "big" and len(args) == 1:
            self.reply(200, b"x" * int(args[0]))
        else:
            self.reply(404, b"no such scenario")

    do_POST = do_PUT = do_PATCH = do_GET = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        pass  # resets and client timeouts are part of the scenarios


def main():
    global log_file, gate_dir
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--gate-dir")
    opts = parser.parse_args()
    gate_dir = opts.gate_dir
    if opts.log:
        log_file = open(opts.log, "a", encoding="utf-8")
    family = socket.AF_INET6 if ":" in opts.host else socket.AF_INET
    Server.address_family = family
    server = Server((opts.host, opts.port), Handler)
    if opts.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(opts.tls_cert, opts.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print("PORT %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
