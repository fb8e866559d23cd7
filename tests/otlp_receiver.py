#!/usr/bin/env python3
"""A tiny OTLP/HTTP (JSON) trace receiver for the end-to-end tests:
`otlp_receiver.py PORT OUT_FILE` accepts POST /v1/traces and appends each
request's JSON body as one line to OUT_FILE (tests/45_otlp.sh reads it).
scripts/test starts it and points the stack's OTEL_EXPORTER_OTLP_ENDPOINT
at it."""
import http.server
import json
import sys

port, out = int(sys.argv[1]), sys.argv[2]


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        ok = self.path == "/v1/traces"
        if ok:
            try:
                line = json.dumps(json.loads(body))
            except ValueError:
                ok = False
            else:
                with open(out, "a") as f:
                    f.write(line + "\n")
        self.send_response(200 if ok else 400)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver).serve_forever()
