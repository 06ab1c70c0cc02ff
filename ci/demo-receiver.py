#!/usr/bin/env python3
"""A webhook receiver for the demo: listens on 127.0.0.1:PORT, answers every
request 200, and prints one line per request (method, path, signature
headers present, body size). Only loopback; stops after --seconds."""
import argparse
import http.server
import sys
import threading

LOCK = threading.Lock()
SIGNATURE_HEADERS = ("webhook-signature", "x-hub-signature-256", "stripe-signature",
                     "x-inventory-signature", "x-webhook-signature")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        signed = [h for h in SIGNATURE_HEADERS if self.headers.get(h)]
        line = (f"receiver: {self.command} {self.path} id={self.headers.get('webhook-id')} "
                f"signed-by={','.join(signed) or 'none'} {len(body)} bytes\n")
        with LOCK:  # one whole line at a time from the handler threads
            sys.stdout.write(line)
            sys.stdout.flush()
        reply = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_POST = do_PUT = do_PATCH = handle_any

    def log_message(self, *args):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=18080)
    ap.add_argument("--seconds", type=float, default=300)
    args = ap.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    threading.Timer(args.seconds, server.shutdown).start()
    print(f"receiver: listening on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
