#!/usr/bin/env python3
"""scripts/group_summary.py OUT LABEL... — the side-by-side table of a
scripts/bench-group run (its loadgen folders and probe-*.json in OUT) as
Markdown on stdout."""
import json, os, statistics, sys
out, labels = sys.argv[1], sys.argv[2:]
def loadgen(label):
    rows = {}
    for d in sorted(os.listdir(out)):
        if not d.startswith(label + "-") or not os.path.isdir(os.path.join(out, d)):
            continue
        r = json.load(open(os.path.join(out, d, "results.json")))
        for p in r["points"]:
            if p["mode"] != "closed":
                continue
            s = next(iter(p["types"].values()))
            cpu_ms = sum(p["cores"].values()) * p["seconds"] * 1000 / max(s["count"], 1)
            avail = sum(v for k, v in p["cores"].items() if k.startswith("availability"))
            share = avail / max(sum(v for k, v in p["cores"].items() if k != "nginx"), 1e-9)
            rows.setdefault(p["workload"], []).append((s["throughput"], s["p50_ms"], s["p99_ms"], cpu_ms, share))
        for h in r.get("hops", []):
            rows.setdefault("hops", []).append(h)
    return rows
print("| path | stack | req/s | p50 ms | p99 ms | CPU ms/request (all processes) | availability's share of service CPU |")
print("|---|---|---|---|---|---|---|")
data = {l: loadgen(l) for l in labels}
for w in sorted({w for l in labels for w in data[l] if w != "hops"}):
    for l in labels:
        v = data[l].get(w, [])
        if not v:
            continue
        m = lambda i: statistics.median(x[i] for x in v)
        print(f"| {w} ×16 | {l} | {m(0):.0f} | {m(1):.2f} | {m(2):.2f} | {m(3):.3f} | {m(4)*100:.0f} % |")
print()
print("Per hop (median over runs of each hop's p50, ms, 16 clients):")
print()
print("| point | stack | service | route | p50 ms |")
print("|---|---|---|---|---|")
for l in labels:
    hops = {}
    for h in data[l].get("hops", []):
        hops.setdefault((h["point"], h["service"], h["route"]), []).append(h["p50_ms"])
    for (point, svc, route), v in sorted(hops.items()):
        print(f"| {point} | {l} | {svc} | `{route}` | {statistics.median(v):.2f} |")
print()
print("1000 users × 366 days, POST /suggestion/suggestions (min_attendees 2, count 10):")
print()
print("| stack | bytes between suggestion and availability | median ms (5 sequential) | burst of 8, 4 at a time, s | largest RSS after the burst, MiB | largest peak RSS, MiB |")
print("|---|---|---|---|---|---|")
for l in labels:
    p = json.load(open(os.path.join(out, f"probe-{l}.json")))
    peak = max((v.get("VmHWM", 0) for v in p["rss_after_kib"].values()), default=0)
    print(f"| {l} | {p['inner_bytes']:,} | {p['median_ms']} | {p['burst_s']} | {p['max_rss_after_kib']/1024:.1f} | {peak/1024:.1f} |")
