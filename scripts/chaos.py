#!/usr/bin/env python3
"""The chaos and soak harness behind scripts/chaos and scripts/soak
(standard library only).

It runs a whole stack (scripts/up, isolated by the calling script's
environment) on PRIVATE infrastructure it starts itself — a Redis server, a
RabbitMQ node, and a TCP proxy in front of the shared PostgreSQL that it can
cut — so faults never touch the shared servers. Then:

  chaos: a steady mixed load (cached reads, writes followed by reads,
    suggestions, job submissions) while every few seconds one fault strikes:
    kill -9 of a random service replica or consumer, a Redis restart, a
    RabbitMQ restart, PostgreSQL cut off for 3 s. Afterwards it checks the
    invariants and exits 1 if any fails:
      - every job accepted with 202 reaches a final state, and is finished
        exactly once: its final state never changes when read again, and no
        job is logged as finished twice;
      - no read after a completed write returned older data;
      - every non-2xx answer was a documented status (502/503/504 under
        these faults) with the JSON error body and its Case-ID;
      - no process is left dead (the supervisors restarted them) and every
        /health answers again.
  soak: the same load at a fixed rate with no faults, sampling every 10 s
    the resident memory and open descriptors of every service process and
    the connections to PostgreSQL, Redis and RabbitMQ; writes samples.csv,
    a plot (soak.svg) and a verdict (flat or growing) to --out.
"""

import argparse
import asyncio
import collections
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCUMENTED_UNDER_FAULTS = {502, 503, 504}


def log(msg):
    print(f"[chaos] {time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


def free_port(below=45535):
    """A free port above the stack's range (20000–32767, see
    isolated_stack_env) and below RabbitMQ's limit for a node port."""
    for _ in range(200):
        port = random.randint(36000, below)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port")


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_until(what, check, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return True
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


# --- private infrastructure -------------------------------------------------

class PgProxy:
    """A TCP proxy to PostgreSQL that can be cut: every open connection is
    closed and new ones are refused for a while (the listener is closed)."""

    def __init__(self, target_port):
        self.port = free_port()
        self.target = target_port
        self.loop = asyncio.new_event_loop()
        self.server = None
        self.conns = set()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self._call(self._listen())

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    async def _listen(self):
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _serve(self, reader, writer):
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            return
        pair = (writer, up_w)
        self.conns.add(pair)

        async def pipe(r, w):
            try:
                while data := await r.read(65536):
                    w.write(data)
                    await w.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                w.close()

        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))
        self.conns.discard(pair)

    async def _cut(self):
        self.server.close()
        for a, b in list(self.conns):
            a.close()
            b.close()
        self.conns.clear()

    def cut(self, seconds):
        self._call(self._cut())
        time.sleep(seconds)
        self._call(self._listen())


class PrivateRedis:
    def __init__(self, workdir):
        self.port = free_port()
        self.dir = workdir
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=open(os.path.join(self.dir, "redis.log"), "a"), stderr=subprocess.STDOUT)
        wait_until("private redis", lambda: port_open(self.port), 20)

    def restart(self):
        self.proc.kill()
        self.proc.wait()
        self.start()

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class PrivateRabbit:
    """A RabbitMQ node of its own (as crates/test-support starts for tests)."""

    def __init__(self, workdir):
        self.port = free_port()
        self.dist_port = free_port(65000)
        self.dir = os.path.join(workdir, "rabbit")
        os.makedirs(os.path.join(self.dir, "log"), exist_ok=True)
        with open(os.path.join(self.dir, "rabbitmq.conf"), "w") as f:
            f.write(f"listeners.tcp.1 = 127.0.0.1:{self.port}\nloopback_users = none\n")
        open(os.path.join(self.dir, "rabbitmq-env.conf"), "w").close()
        with open(os.path.join(self.dir, "enabled_plugins"), "w") as f:
            f.write("[].\n")
        self.node = f"w2mchaos{os.getpid()}{random.randint(0, 99999)}@localhost"
        self.proc = None
        self.start()

    def start(self):
        d = lambda p: os.path.join(self.dir, p)
        env = dict(os.environ, HOME=self.dir, RABBITMQ_NODENAME=self.node,
                   RABBITMQ_NODE_IP_ADDRESS="127.0.0.1", RABBITMQ_NODE_PORT=str(self.port),
                   RABBITMQ_DIST_PORT=str(self.dist_port), ERL_EPMD_ADDRESS="127.0.0.1",
                   RABBITMQ_MNESIA_BASE=d("mnesia"), RABBITMQ_LOG_BASE=d("log"),
                   RABBITMQ_CONFIG_FILE=d("rabbitmq.conf"),
                   RABBITMQ_ADVANCED_CONFIG_FILE=d("advanced.config"),
                   RABBITMQ_CONF_ENV_FILE=d("rabbitmq-env.conf"),
                   RABBITMQ_ENABLED_PLUGINS_FILE=d("enabled_plugins"))
        spawn = lambda: subprocess.Popen(["/usr/lib/rabbitmq/bin/rabbitmq-server"], env=env, cwd=self.dir,
                                         stdout=open(d("log/stdout.log"), "a"), stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        self.proc = spawn()
        deadline = time.time() + 120
        while not port_open(self.port):
            if time.time() > deadline:
                raise RuntimeError(f"private rabbitmq did not start; see {d('log')}")
            # Right after a stop the node's name can still be registered
            # with epmd, and the new node gives up at once: start it again.
            if self.proc.poll() is not None:
                time.sleep(1.0)
                self.proc = spawn()
            time.sleep(0.2)

    def _signal(self, sig):
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def restart(self):
        self._signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.proc.wait()
        time.sleep(0.5)
        self.start()

    def stop(self):
        self._signal(signal.SIGKILL)
        self.proc.wait()


# --- HTTP -------------------------------------------------------------------

def call(method, url, body=None, timeout=15):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return res.status, dict(res.headers), res.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()
    except (OSError, urllib.error.URLError) as e:
        return 0, {}, str(e).encode()


class Recorder:
    """Counts every answer and keeps up to 20 examples of each violation.
    `allowed`: the non-2xx statuses the run may see (502/503/504 while
    faults strike; none in a soak)."""

    def __init__(self, allowed):
        self.allowed = allowed
        self.lock = threading.Lock()
        self.counts = collections.Counter()
        self.violations = collections.defaultdict(list)
        self.accepted_jobs = []

    def violation(self, kind, detail):
        with self.lock:
            if len(self.violations[kind]) < 20:
                self.violations[kind].append(detail)
            self.counts[f"violation:{kind}"] += 1

    def answer(self, what, status, headers, body):
        with self.lock:
            self.counts[f"{what}:{status}"] += 1
        if 200 <= status < 300:
            return
        if status == 0:
            self.violation("no answer", f"{what}: {body[:200]!r}")
            return
        if status not in self.allowed:
            self.violation("undocumented status", f"{what}: {status} {body[:300]!r}")
        case_id = {k.lower(): v for k, v in headers.items()}.get("case-id")
        try:
            parsed = json.loads(body)
            ok = parsed.get("case_id") == case_id and isinstance(parsed.get("detail"), list) \
                and all({"loc", "msg", "type"} <= set(d) for d in parsed["detail"])
        except (ValueError, AttributeError, TypeError):
            ok = False
        if not ok:
            self.violation("not the JSON error body", f"{what}: {status} {body[:300]!r}")


class Load:
    """The mixed workload; `rate` caps each thread's requests per second."""

    def __init__(self, gateway, tag, rec, rate):
        self.g, self.tag, self.rec, self.rate = gateway, tag, rec, rate
        self.stop = threading.Event()
        self.readers = [f"chaos-r{i}.{tag}@example.com" for i in range(4)]
        self.writers = [f"chaos-w{i}.{tag}@example.com" for i in range(3)]

    def setup(self):
        for i, e in enumerate(self.readers + self.writers):
            body = {"email": e, "preferences": ["first", "last"][i % 2],
                    "availabilities": {"monday": [9, 10, 11], "wednesday": ["14:00-16:00"]}}
            status, _, payload = call("POST", f"{self.g}/users/users", body)
            if status not in (200, 201):
                raise RuntimeError(f"cannot create {e}: {status} {payload[:200]!r}")

    def pace(self, started):
        if self.rate:
            time.sleep(max(0.0, 1.0 / self.rate - (time.time() - started)))

    def reader(self):
        a, b = self.readers[0], self.readers[1]
        urls = [f"{self.g}/users/users/{r}" for r in self.readers] + [
            f"{self.g}/suggestion/suggestions?userId1={a}&userId2={b}",
            f"{self.g}/availability/availabilities?users={a},{b},{self.readers[2]}"]
        while not self.stop.is_set():
            t = time.time()
            url = random.choice(urls)
            self.rec.answer("read", *call("GET", url))
            self.pace(t)

    def writer(self, email):
        version = 0
        while not self.stop.is_set():
            t = time.time()
            version += 1
            body = {"name": f"v{version}", "availabilities": {"monday": [9 + version % 8]}}
            status, headers, payload = call("PUT", f"{self.g}/users/users/{email}", body)
            self.rec.answer("write", status, headers, payload)
            if status == 200:
                # The write has returned: no read may show anything older.
                status, headers, payload = call("GET", f"{self.g}/users/users/{email}")
                self.rec.answer("read-after-write", status, headers, payload)
                if status == 200:
                    seen = json.loads(payload).get("name")
                    if seen != f"v{version}":
                        self.rec.violation("stale read after write",
                                           f"{email}: wrote v{version}, read {seen} "
                                           f"(x-cache {headers.get('x-cache') or headers.get('X-Cache')})")
            self.pace(t)

    def submitter(self):
        body = {"userId1": self.readers[0], "userId2": self.readers[1], "preference": "first"}
        while not self.stop.is_set():
            t = time.time()
            status, headers, payload = call("POST", f"{self.g}/worker/tasks", body)
            self.rec.answer("job submit", status, headers, payload)
            if status == 202:
                with self.rec.lock:
                    self.rec.accepted_jobs.append(json.loads(payload)["job_id"])
            self.pace(t)

    def start(self):
        threads = [threading.Thread(target=self.reader, daemon=True) for _ in range(3)]
        threads += [threading.Thread(target=self.writer, args=(w,), daemon=True) for w in self.writers]
        threads += [threading.Thread(target=self.submitter, daemon=True) for _ in range(2)]
        for th in threads:
            th.start()
        self.threads = threads

    def finish(self):
        self.stop.set()
        for th in self.threads:
            th.join(30)


# --- the stack --------------------------------------------------------------

def stack_env(args, redis, rabbit, proxy):
    env = dict(os.environ)
    env.update(REDIS_URL=f"redis://127.0.0.1:{redis.port}",
               AMQP_URL=f"amqp://guest:guest@127.0.0.1:{rabbit.port}/%2f",
               PG_HOST="127.0.0.1", PG_PORT=str(proxy.port))
    return env


def service_pids(run_dir):
    out = {}
    pids = os.path.join(run_dir, "pids")
    for name in sorted(os.listdir(pids)):
        if name.endswith(".pid") and not name.startswith("infra-"):
            try:
                out[name[:-4]] = int(open(os.path.join(pids, name)).read().strip())
            except (OSError, ValueError):
                out[name[:-4]] = None
    return out


def alive(pid):
    if not pid:
        return False
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def established(port):
    """Established TCP connections to 127.0.0.1:port, from /proc/net/tcp."""
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            remote, state = parts[2], parts[3]
            if state == "01" and int(remote.rsplit(":", 1)[1], 16) == port:
                n += 1
    return n


def proc_sample(pid):
    try:
        status = open(f"/proc/{pid}/status").read()
        rss = int(next(l for l in status.splitlines() if l.startswith("VmRSS")).split()[1])
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        return rss, fds
    except (OSError, StopIteration, ValueError):
        return None, None


def healthy(gateway):
    for prefix in ("users", "availability", "suggestion", "worker"):
        status, _, _ = call("GET", f"{gateway}/{prefix}/health", timeout=3)
        if status != 200:
            return False
    return True


def finished_once(logs_dir, job_ids):
    finishes = collections.Counter()
    for name in os.listdir(logs_dir):
        if not name.startswith("worker-service") or not name.endswith(".log"):
            continue
        with open(os.path.join(logs_dir, name), errors="replace") as f:
            for line in f:
                if '"job succeeded"' not in line and '"job failed"' not in line:
                    continue
                try:
                    v = json.loads(line)
                except ValueError:
                    continue
                if v.get("message") in ("job succeeded", "job failed") and v.get("job_id"):
                    finishes[v["job_id"]] += 1
    return {j: finishes.get(j, 0) for j in job_ids}


# The faults a chaos run draws from (a replica is killed twice as often as
# anything else: there are more of them).
FAULTS = ["kill replica", "kill replica", "kill consumer", "restart redis", "restart rabbitmq",
          "cut postgresql"]


def chaos(args, gateway, run_dir, redis, rabbit, proxy, rec):
    faults = collections.Counter()
    rng = random.Random(args.seed)
    deadline = time.time() + args.seconds
    while time.time() < deadline:
        time.sleep(rng.uniform(args.fault_every * 0.6, args.fault_every * 1.4))
        if time.time() >= deadline:
            break
        fault = rng.choice(args.faults)
        pids = service_pids(run_dir)
        if fault == "kill replica":
            name = rng.choice([n for n in pids if not n.startswith("worker-consumer")])
            if alive(pids[name]):
                os.kill(pids[name], signal.SIGKILL)
            log(f"fault: kill -9 {name}")
        elif fault == "kill consumer":
            name = rng.choice([n for n in pids if n.startswith("worker-consumer")])
            if alive(pids[name]):
                os.kill(pids[name], signal.SIGKILL)
            log(f"fault: kill -9 {name}")
        elif fault == "restart redis":
            log("fault: redis restart")
            redis.restart()
        elif fault == "restart rabbitmq":
            log("fault: rabbitmq restart")
            rabbit.restart()
        else:
            log("fault: postgresql cut for 3 s")
            proxy.cut(3)
        faults[fault] += 1
    return faults


def soak(args, gateway, run_dir, redis, rabbit, proxy):
    samples = []
    started = time.time()
    deadline = started + args.seconds
    while True:
        row = {"t": round(time.time() - started, 1),
               "pg_conns": established(proxy.port), "redis_conns": established(redis.port),
               "amqp_conns": established(rabbit.port)}
        for name, pid in service_pids(run_dir).items():
            rss, fds = proc_sample(pid)
            row[f"{name}.rss_kib"], row[f"{name}.fds"] = rss, fds
        samples.append(row)
        if time.time() >= deadline:
            break
        time.sleep(min(args.sample_every, max(0.0, deadline - time.time())))
    return samples


def verdict(samples):
    """Flat unless the last third's median exceeds the first third's by more
    than max(10 %, a floor) — memory settles after warm-up, so the first
    sample after warm-up is the baseline."""
    keys = sorted({k for s in samples for k in s if k != "t"})
    n = len(samples)
    third = max(1, n // 3)
    out = {}
    for k in keys:
        xs = [s[k] for s in samples if s.get(k) is not None]
        if len(xs) < 3:
            continue
        first = sorted(xs[:third])[len(xs[:third]) // 2]
        last = sorted(xs[-third:])[len(xs[-third:]) // 2]
        floor = 2048 if k.endswith("rss_kib") else 2
        growing = last > first * 1.10 and last - first > floor
        out[k] = {"first": first, "last": last, "max": max(xs), "growing": growing}
    return out


def svg_plot(samples, path):
    """Resident memory per process over time (MiB), one polyline each."""
    keys = sorted({k for s in samples for k in s if k.endswith(".rss_kib")})
    w, h, pad = 900, 420, 50
    tmax = max(s["t"] for s in samples) or 1
    ymax = max((s[k] or 0) for s in samples for k in keys) / 1024 * 1.2 or 1
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
              "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
             f'<rect width="{w}" height="{h}" fill="white"/>',
             f'<text x="{pad}" y="20" font-size="14">Resident memory per process during the soak (MiB)</text>',
             f'<line x1="{pad}" y1="{h-pad}" x2="{w-pad}" y2="{h-pad}" stroke="black"/>',
             f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{h-pad}" stroke="black"/>',
             f'<text x="{w-pad}" y="{h-pad+30}" text-anchor="end">{tmax/60:.0f} min</text>',
             f'<text x="{pad-5}" y="{pad}" text-anchor="end">{ymax:.0f}</text>',
             f'<text x="{pad-5}" y="{h-pad}" text-anchor="end">0</text>']
    for i, k in enumerate(keys):
        pts = " ".join(f"{pad + (s['t']/tmax)*(w-2*pad):.1f},{h-pad - ((s[k] or 0)/1024/ymax)*(h-2*pad):.1f}"
                       for s in samples if s.get(k) is not None)
        c = colors[i % len(colors)]
        parts.append(f'<polyline fill="none" stroke="{c}" stroke-width="1.5" points="{pts}"/>')
        parts.append(f'<text x="{w-pad+5-160}" y="{pad+14*i}" fill="{c}">{k[:-8]}</text>')
    parts.append("</svg>")
    open(path, "w").write("\n".join(parts))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["chaos", "soak"])
    p.add_argument("--seconds", type=float, default=120)
    p.add_argument("--fault-every", type=float, default=8.0)
    p.add_argument("--rate", type=float, default=0, help="requests/s per load thread (0: as fast as it goes)")
    p.add_argument("--sample-every", type=float, default=10.0)
    p.add_argument("--seed", type=int, default=int(time.time()))
    p.add_argument("--faults", type=lambda s: [f.strip() for f in s.split(",")], default=FAULTS,
                   help="the faults to draw from, comma-separated (a repeat weighs more); default: all")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    unknown = set(a.faults) - set(FAULTS)
    if unknown:
        p.error(f"unknown fault(s) {sorted(unknown)}; known: {sorted(set(FAULTS))}")
    os.makedirs(a.out, exist_ok=True)
    run_dir = os.environ["W2M_RUN_DIR"]
    gateway = f"http://127.0.0.1:{os.environ['GATEWAY_PORT']}"
    work = tempfile.mkdtemp(prefix="w2meet-chaos-infra-")
    log(f"private infrastructure in {work}")
    redis = PrivateRedis(work)
    rabbit = PrivateRabbit(work)
    proxy = PgProxy(int(os.environ.get("PG_PORT", "5432")))
    env = stack_env(a, redis, rabbit, proxy)
    rec = Recorder(DOCUMENTED_UNDER_FAULTS if a.mode == "chaos" else set())
    ok = False
    try:
        log(f"starting the stack (redis :{redis.port}, rabbitmq :{rabbit.port}, postgresql via :{proxy.port})")
        up = subprocess.run([os.path.join(ROOT, "scripts/up"), "--replicas", "2"], env=env,
                            stdout=open(os.path.join(a.out, "up.log"), "w"), stderr=subprocess.STDOUT)
        if up.returncode != 0:
            raise RuntimeError(f"scripts/up failed; see {a.out}/up.log")
        load = Load(gateway, f"{a.mode}{os.getpid()}", rec, a.rate)
        load.setup()
        load.start()
        log(f"{a.mode}: {a.seconds:.0f} s of mixed load (seed {a.seed})")
        if a.mode == "chaos":
            faults = chaos(a, gateway, run_dir, redis, rabbit, proxy, rec)
            load.finish()
            log(f"faults: {dict(faults)}; waiting for every process and /health")
            wait_until("every service healthy through the gateway", lambda: healthy(gateway), 120)
            dead = [n for n, pid in service_pids(run_dir).items() if not alive(pid)]
            if dead:
                rec.violation("process left dead", ", ".join(dead))
            jobs = list(rec.accepted_jobs)
            log(f"waiting for {len(jobs)} accepted jobs to finish")
            final = {}

            def read_job(j):
                status, _, payload = call("GET", f"{gateway}/worker/tasks/{j}")
                job = json.loads(payload) if status == 200 else {}
                return job.get("status"), job.get("updated_at"), json.dumps(job.get("result"), sort_keys=True)

            def all_final():
                for j in jobs:
                    if j not in final:
                        seen = read_job(j)
                        if seen[0] in ("succeeded", "failed"):
                            final[j] = seen
                return len(final) == len(jobs)
            try:
                wait_until("every accepted job final", all_final, 240)
            except RuntimeError as e:
                rec.violation("job not final", f"{e}: {len(jobs) - len(final)} of {len(jobs)}")
            # Finished once: the store's final state never changes afterwards,
            # and no job is logged as finished twice. (A kill -9 can lose a
            # consumer's last buffered log line, so zero lines can happen;
            # a second finish cannot.)
            time.sleep(2.0)
            for j, first in final.items():
                again = read_job(j)
                if again != first:
                    rec.violation("job changed after its final state", f"{j}: {first[:2]} then {again[:2]}")
            once = finished_once(os.path.join(run_dir, "logs"), jobs)
            for j, n in once.items():
                if n > 1:
                    rec.violation("job finished more than once", f"{j}: finished {n} times")
            summary_jobs = {"final": len(final), "logged_finish_once": sum(1 for n in once.values() if n == 1),
                            "logged_finish_lost_to_kill": sum(1 for n in once.values() if n == 0)}
            summary = {"mode": "chaos", "seconds": a.seconds, "seed": a.seed, "faults": dict(faults),
                       "answers": dict(rec.counts), "accepted_jobs": len(jobs), "jobs": summary_jobs,
                       "violations": dict(rec.violations)}
        else:
            samples = soak(a, gateway, run_dir, redis, rabbit, proxy)
            load.finish()
            keys = sorted({k for s in samples for k in s})
            with open(os.path.join(a.out, "samples.csv"), "w") as f:
                f.write(",".join(keys) + "\n")
                for s in samples:
                    f.write(",".join("" if s.get(k) is None else str(s[k]) for k in keys) + "\n")
            svg_plot(samples, os.path.join(a.out, "soak.svg"))
            v = verdict(samples)
            growing = sorted(k for k, x in v.items() if x["growing"])
            summary = {"mode": "soak", "seconds": a.seconds, "rate_per_thread": a.rate,
                       "samples": len(samples), "answers": dict(rec.counts),
                       "verdict": "growing" if growing else "flat", "growing": growing, "series": v,
                       "violations": dict(rec.violations)}
        json.dump(summary, open(os.path.join(a.out, "summary.json"), "w"), indent=2)
        print(json.dumps({k: summary[k] for k in summary if k != "series"}, indent=2))
        ok = not rec.violations
        if not ok:
            # What happened, for the one who reads the failure: every
            # process's log (the stack's folder is removed below).
            shutil.copytree(os.path.join(run_dir, "logs"), os.path.join(a.out, "logs"), dirs_exist_ok=True)
    finally:
        subprocess.run([os.path.join(ROOT, "scripts/down")], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        redis.stop()
        rabbit.stop()
        shutil.rmtree(work, ignore_errors=True)
    if not ok:
        log(f"FAILED: {sorted(rec.violations)}")
        sys.exit(1)
    log("all invariants hold" if a.mode == "chaos" else "soak done")


if __name__ == "__main__":
    main()
