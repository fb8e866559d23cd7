#!/usr/bin/env python3
"""The large-group probe of scripts/bench-group (standard library only).

Against one running stack: creates N users (weekly patterns in a handful of
zones, reproducible from --seed), then measures the 1000-user x 366-day
suggestion the typed-group issue names:
  - what crosses between suggestion- and availability-service for it: the
    inner request sent straight to an availability replica, its answer's
    size (--inner-kind new: POST /timelines; old: POST /availabilities with
    detail=users, what the previous code sent);
  - the latency of the whole request through the gateway, sequentially;
  - a burst of --burst requests, --parallel at a time, then every service
    process's resident memory (VmRSS, and VmHWM = the peak) from its PID file.
Prints one JSON object.
"""

import argparse
import concurrent.futures
import datetime
import json
import os
import random
import statistics
import time
import urllib.request

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney",
         "America/Los_Angeles", "Asia/Tokyo", "Europe/London"]
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def call(method, url, body=None, timeout=120, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"content-type": "application/json", **(headers or {})})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            payload = res.read()
            status = res.status
    except urllib.error.HTTPError as e:
        payload, status = e.read(), e.code
    return status, payload, (time.perf_counter() - started) * 1000.0


def pattern(rng):
    week = {}
    for day in DAYS[:5]:
        start = rng.randrange(7, 12)
        week[day] = [f"{start:02d}:00-{start + rng.randrange(3, 8):02d}:{rng.choice(['00', '30'])}"]
    if rng.random() < 0.3:
        week["saturday"] = [10, 11]
    return week


def rss_kib(pid_dir):
    out = {}
    for name in sorted(os.listdir(pid_dir)):
        if not name.endswith(".pid") or name.startswith(("infra-", "nginx")):
            continue
        try:
            pid = open(os.path.join(pid_dir, name)).read().strip()
            status = open(f"/proc/{pid}/status").read()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        out[name[:-4]] = {k: int(fields[k].split()[0]) for k in ("VmRSS", "VmHWM") if k in fields}
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--gateway", required=True)
    p.add_argument("--inner", required=True, help="one availability-service replica")
    p.add_argument("--inner-kind", choices=["new", "old"], required=True)
    p.add_argument("--pids", required=True)
    p.add_argument("--users", type=int, default=1000)
    p.add_argument("--days", type=int, default=366)
    p.add_argument("--burst", type=int, default=8)
    p.add_argument("--parallel", type=int, default=4)
    p.add_argument("--sequential", type=int, default=5)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--tag", default="probe")
    a = p.parse_args()

    rng = random.Random(a.seed)
    emails = [f"big{i}.{a.tag}@example.com" for i in range(a.users)]
    bodies = [{"email": e, "timezone": rng.choice(ZONES), "availabilities": pattern(rng)}
              for e in emails]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda b: call("POST", f"{a.gateway}/users/users", b)[0], bodies))
    assert all(s in (200, 201) for s in statuses), statuses[:5]

    today = datetime.date.today()
    monday = today + datetime.timedelta(days=(7 - today.weekday()) % 7)
    group = {"users": emails, "from": monday.isoformat(), "days": a.days}
    request = dict(group, min_attendees=2, count=10)
    if a.inner_kind == "new":
        inner_url = f"{a.inner}/timelines"
        inner_body = {"version": 1, "users": emails,
                      "window": {"from": monday.isoformat(), "days": a.days, "tz": "UTC"}}
    else:
        inner_url = f"{a.inner}/availabilities"
        inner_body = dict(group, min_attendees=2, detail="users")
    # /timelines is for the services: ask with the stack's service credential.
    token_file = os.path.join(os.environ.get("W2M_RUN_DIR", ""), "secrets", "service-token")
    inner_headers = {}
    if os.path.isfile(token_file):
        with open(token_file) as f:
            inner_headers["W2Meet-Service-Token"] = f.read().strip()
    status, payload, inner_ms = call("POST", inner_url, inner_body, headers=inner_headers)
    assert status == 200, (status, payload[:300])
    inner_bytes = len(payload)

    url = f"{a.gateway}/suggestion/suggestions"
    status, payload, _ = call("POST", url, request)  # warm the caches
    assert status == 200, (status, payload[:300])
    suggestions = len(json.loads(payload)["suggestions"])
    sequential = [call("POST", url, request)[2] for _ in range(a.sequential)]
    rss_before = rss_kib(a.pids)
    burst_started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(a.parallel) as pool:
        burst = list(pool.map(lambda _: call("POST", url, request), range(a.burst)))
    burst_s = time.perf_counter() - burst_started
    assert all(s == 200 for s, _, _ in burst), [s for s, _, _ in burst]
    time.sleep(1.0)
    rss_after = rss_kib(a.pids)

    for e in emails:
        call("DELETE", f"{a.gateway}/users/users/{e}")
    print(json.dumps({
        "tag": a.tag, "users": a.users, "days": a.days, "suggestions": suggestions,
        "inner_bytes": inner_bytes, "inner_ms": round(inner_ms, 1),
        "sequential_ms": [round(x, 1) for x in sequential],
        "median_ms": round(statistics.median(sequential), 1),
        "burst": a.burst, "parallel": a.parallel, "burst_s": round(burst_s, 2),
        "burst_ms": [round(x, 1) for _, _, x in burst],
        "rss_before_kib": rss_before, "rss_after_kib": rss_after,
        "max_rss_after_kib": max((v.get("VmRSS", 0) for v in rss_after.values()), default=0),
    }))


if __name__ == "__main__":
    main()
