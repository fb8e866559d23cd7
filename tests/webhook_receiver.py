#!/usr/bin/env python3
"""A webhook receiver for tests/47_watches.sh, written the way a W2Meet
customer would: `webhook_receiver.py PORT SECRET_FILE OUT_FILE` accepts
POSTs, checks `W2Meet-Signature` (t=<unix>,v1=<hex HMAC-SHA256 of
"t.body"> with the secret read from SECRET_FILE, constant-time compare,
at most 5 minutes old), deduplicates by `event_id`, and appends one JSON
line per request to OUT_FILE: {"verified", "duplicate", "event"}. Answers
204 (401 when the signature does not verify)."""
import hashlib
import hmac
import http.server
import json
import sys
import time

port, secret_file, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
seen = set()


def verified(header, body):
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        t, v1 = int(parts["t"]), parts["v1"]
    except (KeyError, ValueError):
        return False
    try:
        with open(secret_file) as f:
            secret = f.read().strip()
    except OSError:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, v1) and abs(time.time() - t) < 300


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        ok = verified(self.headers.get("W2Meet-Signature", ""), body)
        event = json.loads(body) if ok else None
        duplicate = ok and event["event_id"] in seen
        if ok:
            seen.add(event["event_id"])
        with open(out, "a") as f:
            f.write(json.dumps({"verified": ok, "duplicate": duplicate, "event": event}) + "\n")
        self.send_response(204 if ok else 401)
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver).serve_forever()
