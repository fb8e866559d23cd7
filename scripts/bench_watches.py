#!/usr/bin/env python3
"""Watch re-evaluation cost (issue 14), run by scripts/bench against its
isolated stack:

  bench_watches.py --gateway URL --pids DIR --out FILE.json
                   [--users 1000] [--watches 1000] [--changes 100] [--seed 7]

1. Creates --users people, each free Monday 09:00-10:00 (one fixed week).
2. Creates --watches watches, each over 10-100 of them (uniform), 60-minute
   meetings, everyone required: each starts with the quorum reached at 9:00.
3. A burst: --changes people, at once, move their hour to 10:00. Every
   watch with one of them in it loses its quorum; the others keep theirs.
4. Once every watch's creation re-check is done, measures, from the first
   change sent: when each affected watch's
   `quorum_lost` webhook arrives (p50, max = "every affected watch has
   fired"), how many evaluations ran (the watches' `evaluations`), and the
   CPU the stack's processes spent (utime+stime from /proc, per process),
   so CPU per evaluation = stack CPU / evaluations. Checks that every
   affected watch got exactly one event and no other watch got any.
"""
import argparse
import concurrent.futures as cf
import http.server
import json
import os
import random
import socket
import threading
import time
import urllib.request

p = argparse.ArgumentParser()
p.add_argument("--gateway", required=True)
p.add_argument("--pids", required=True)
p.add_argument("--out", required=True)
p.add_argument("--users", type=int, default=1000)
p.add_argument("--watches", type=int, default=1000)
p.add_argument("--changes", type=int, default=100)
p.add_argument("--seed", type=int, default=7)
p.add_argument("--timeout", type=float, default=180)
args = p.parse_args()
rng = random.Random(args.seed)
tag = f"{int(time.time())}{rng.randrange(10**6)}"
TICKS = os.sysconf("SC_CLK_TCK")


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(args.gateway + path, data=data, method=method,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read()
        return r.status, (json.loads(text) if text else None)


def cpu():
    """{process name: CPU seconds} of the stack's processes."""
    out = {}
    for f in os.listdir(args.pids):
        if not f.endswith(".pid"):
            continue
        try:
            pid = open(os.path.join(args.pids, f)).read().strip()
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            out[f[:-4]] = (int(fields[11]) + int(fields[12])) / TICKS
        except (OSError, ValueError, IndexError):
            pass
    return out


arrivals = {}  # watch_id -> [(type, arrival time)]
lock = threading.Lock()


class Receiver(http.server.BaseHTTPRequestHandler):
    # Keep-alive, so the receiver is not what the benchmark measures.
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with lock:
            arrivals.setdefault(body["watch_id"], []).append(
                (body["type"], time.monotonic(), body["event_id"]))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
http.server.ThreadingHTTPServer.request_queue_size = 1024  # a burst of connections
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()

emails = [f"wb{i}.{tag}@bench.example" for i in range(args.users)]
pool = cf.ThreadPoolExecutor(16)
t = time.monotonic()
list(pool.map(lambda e: call("POST", "/users/users", {"email": e, "availabilities": {"monday": [9]}}), emails))
print(f"{args.users} people in {time.monotonic() - t:.1f} s", flush=True)

groups = [rng.sample(range(args.users), rng.randint(10, 100)) for _ in range(args.watches)]


def watch(group):
    status, body = call("POST", "/worker/watches", {
        "users": [emails[i] for i in group], "duration": 60, "from": "2031-03-03", "days": 7,
        "callback_url": f"http://127.0.0.1:{port}/hook"})
    assert status == 201 and body["outcome"]["quorum"], body
    return body["watch_id"]


t = time.monotonic()
ids = list(pool.map(watch, groups))
print(f"{args.watches} watches in {time.monotonic() - t:.1f} s", flush=True)


def evaluations_so_far():
    return sum(call("GET", f"/worker/watches/{w}")[1]["evaluations"] for w in ids)


# A new watch is stored dirty and evaluated once more right after its
# creation: let those finish before the burst, so only the burst is counted.
settle_deadline = time.monotonic() + 120
while (before_evaluations := evaluations_so_far()) < 2 * len(ids) and time.monotonic() < settle_deadline:
    time.sleep(1)

changed = set(rng.sample(range(args.users), args.changes))
affected = {ids[w] for w, g in enumerate(groups) if changed & set(g)}
before = cpu()
t0 = time.monotonic()
list(pool.map(lambda i: call("PUT", f"/users/users/{emails[i]}", {"availabilities": {"monday": [10]}}), changed))
sent = time.monotonic() - t0
deadline = t0 + args.timeout
while time.monotonic() < deadline:
    with lock:
        if all(w in arrivals for w in affected):
            break
    time.sleep(0.05)
with lock:
    fired = {w: a[0][1] - t0 for w, a in arrivals.items()}
all_fired = all(w in fired for w in affected)
# Let stragglers (a second evaluation of a watch the burst touched twice)
# finish before reading the CPU.
time.sleep(3)
after = cpu()
evaluations = evaluations_so_far() - before_evaluations
with lock:
    # A resend of the same event (same event_id: at-least-once delivery) is
    # a duplicate, not a wrong event.
    distinct = {w: list({x[2]: x for x in a}.values()) for w, a in arrivals.items()}
    duplicates = sum(len(a) - len(distinct[w]) for w, a in arrivals.items())
    wrong = {w: a for w, a in distinct.items() if w not in affected or [x[0] for x in a] != ["quorum_lost"]}
latencies = sorted(fired[w] for w in affected if w in fired)
spent = {k: round(after[k] - before.get(k, after[k]), 3) for k in after}
total = sum(spent.values())
result = {
    "people": args.users, "watches": args.watches, "changes": args.changes,
    "affected_watches": len(affected), "fired": len(latencies), "all_fired": all_fired,
    "wrong_or_extra_events": len(wrong),
    "duplicate_deliveries": duplicates,
    "wrong_examples": [{"watch_id": w, "affected": w in affected, "events": [x[0] for x in a],
                        "arrivals_s": [round(x[1] - t0, 3) for x in a]} for w, a in list(wrong.items())[:5]],
    "changes_sent_s": round(sent, 3),
    "time_to_all_fired_s": round(latencies[-1], 3) if latencies else None,
    "time_to_fire_p50_s": round(latencies[len(latencies) // 2], 3) if latencies else None,
    "evaluations": evaluations,
    "stack_cpu_s": round(total, 3),
    "cpu_ms_per_evaluation": round(1000 * total / evaluations, 3) if evaluations else None,
    "cpu_s_by_process": dict(sorted(spent.items(), key=lambda kv: -kv[1])),
}
with open(args.out, "w") as f:
    json.dump(result, f, indent=2)
print(json.dumps(result, indent=2))
server.shutdown()
if not all_fired or wrong:
    raise SystemExit(f"watch bench: {len(affected) - len(latencies)} affected watches never fired, "
                     f"{len(wrong)} wrong or extra events")
