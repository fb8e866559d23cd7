#!/usr/bin/env python3
"""Summarise a system-wide `perf record` by process and function.

    perf_summary.py --data perf.data --pids RUN_DIR/pids [--name loadgen=PID] [--top 8]

perf's own reports sort by thread name, and every tokio service's threads are
called `tokio-rt-worker`; this groups samples by process instead (the PID
files of scripts/up name the services; other processes by their command
name: postgres backends, nginx workers, beam.smp for RabbitMQ), then lists
each process's functions by self time. Prints Markdown.
"""

import argparse
import collections
import pathlib
import re
import subprocess
import sys

LINE = re.compile(r"^\s*(?P<comm>.*?)\s+(?P<pid>\d+)\s+(?P<ip>[0-9a-f]+)\s+(?P<sym>.*?)\s+\((?P<dso>[^()]*)\)\s*$")


def process_names(pids_dir, extra):
    names = {}
    for f in pathlib.Path(pids_dir).glob("*.pid"):
        try:
            names[int(f.read_text().strip())] = f.stem
        except ValueError:
            pass
    for item in extra:
        name, _, pid = item.partition("=")
        names[int(pid)] = name
    return names


def name_of(pid, comm, names):
    if pid in names:
        return names[pid]
    try:
        comm = pathlib.Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        pass
    if comm.startswith("postgres"):
        return "postgresql"
    if comm in ("beam.smp", "erl_child_setup", "inet_gethost") or comm.startswith(("1_scheduler", "2_scheduler", "erts_")):
        return "rabbitmq"
    if comm == "nginx":
        return "nginx (gateway workers)"
    if comm == "swapper":
        return "idle"
    return comm


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--pids", required=True)
    ap.add_argument("--name", action="append", default=[])
    ap.add_argument("--top", type=int, default=8)
    args = ap.parse_args()
    names = process_names(args.pids, args.name)
    out = subprocess.run(
        ["perf", "script", "-i", args.data, "-F", "comm,pid,ip,sym,dso", "-G"],
        capture_output=True, text=True, check=True,
    ).stdout
    by_process = collections.Counter()
    by_function = collections.defaultdict(collections.Counter)
    total = 0
    for line in out.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        total += 1
        proc = name_of(int(m["pid"]), m["comm"], names)
        by_process[proc] += 1
        dso = pathlib.Path(m["dso"]).name
        sym = m["sym"] if m["sym"] != "[unknown]" else f"[unknown in {dso}]"
        kind = "kernel" if "kernel" in dso else dso
        by_function[proc][(sym[:110], kind)] += 1
    if total == 0:
        sys.exit("no samples")
    pct = lambda n: f"{100 * n / total:.1f} %"
    print(f"{total} samples\n")
    print("| process | share of all samples | of it in the kernel |")
    print("|---|---|---|")
    for proc, n in by_process.most_common():
        if n / total < 0.005:
            continue
        kernel = sum(c for (s, k), c in by_function[proc].items() if k == "kernel")
        print(f"| {proc} | {pct(n)} | {100 * kernel / n:.0f} % |")
    print(f"\nTop functions by self time, per process (share of all samples):\n")
    for proc, n in by_process.most_common():
        if n / total < 0.03 or proc == "idle":
            continue
        print(f"**{proc}** ({pct(n)}):\n")
        print("| function | where | share |")
        print("|---|---|---|")
        for (sym, kind), c in by_function[proc].most_common(args.top):
            sym = sym.replace("|", "\\|")
            print(f"| `{sym}` | {kind} | {pct(c)} |")
        print()


if __name__ == "__main__":
    main()
