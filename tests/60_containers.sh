#!/usr/bin/env bash
# The container deployment, validated statically (no container engine here)
# and kept from drifting from the native setup:
#   1. docker-compose.yml parses: docker-compose v1 `config -q` and the
#      Compose spec schema (check-jsonschema); installed when missing and
#      running as root; at least one of them must run.
#   2. its shape: every part present, replicas declared, healthchecks
#      everywhere, a private network, only the gateway published;
#   3. images: the gateway builds nginx/Dockerfile, every other service the
#      one deploy/service.Dockerfile with a build arg SERVICE naming a
#      workspace member with a binary (no per-service Dockerfile is left);
#      each Dockerfile exists, ends as a non-root USER, EXPOSEs, has a
#      HEALTHCHECK, COPYs what exists; the service one declares ARG SERVICE,
#      runs `cargo build --release --locked -p "$SERVICE"`, its exec-form
#      ENTRYPOINT is that binary, copied to a fixed path;
#   4. environment: every variable compose sets is read by that service (its
#      src/ or the platform crate), every variable a Dockerfile sets by at
#      least one service built from it; every variable the service's
#      config.rs reads is listed in compose; every URL names a
#      compose service on the port that service listens on; the databases
#      and roles of DATABASE_URL are those deploy/k8s/overlays/dev/postgres-init.sql creates;
#      every variable scripts/up gives a service is set here too;
#   5. nginx: nginx/docker-entrypoint.sh — exactly what the gateway container
#      runs — renders the one template with the gateway's compose and image
#      environment and `nginx -t` accepts it with the compose host names
#      resolving (private mount namespace over /etc/hosts); the same template
#      rendered the native way (host:port lists) passes too.
# Needs neither the gateway nor the stack; scripts/test runs it with the rest.
source "$(dirname "$0")/_lib.bash"
export PATH="$PATH:/usr/sbin:/sbin"
COMPOSE="$ROOT/docker-compose.yml"
[ -f "$COMPOSE" ] || fail "no docker-compose.yml at the repository root"
work=$(mktemp -d "${TMPDIR:-/tmp}/w2meet-containers.XXXX")
trap 'rm -rf "$work"' EXIT

is_root() { [ "$(id -u)" = 0 ]; }
apt_updated=0
apt_get() { # apt_get PACKAGE: installs it when root with apt-get, else fails
    is_root && command -v apt-get >/dev/null || return 1
    if [ "$apt_updated" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" >/dev/null 2>&1
}

# --- 1. the compose file parses ----------------------------------------------
validators=0
if ! command -v docker-compose >/dev/null; then
    apt_get docker-compose || echo "note: docker-compose (v1) is missing and could not be installed"
fi
if command -v docker-compose >/dev/null; then
    out=$(cd "$ROOT" && docker-compose -f "$COMPOSE" config -q 2>&1) \
        || fail "docker-compose config rejects docker-compose.yml: $out"
    validators=$((validators + 1))
    echo "ok: docker-compose $(docker-compose version --short 2>/dev/null) config -q"
fi
if ! command -v check-jsonschema >/dev/null && is_root; then
    { pip3 install -q check-jsonschema || pip install -q check-jsonschema; } >/dev/null 2>&1 \
        || echo "note: check-jsonschema is missing and could not be installed (pip)"
    hash -r
fi
if command -v check-jsonschema >/dev/null; then
    out=$(check-jsonschema --builtin-schema vendor.compose-spec "$COMPOSE" 2>&1) \
        || fail "docker-compose.yml breaks the Compose spec: $out"
    validators=$((validators + 1))
    echo "ok: Compose spec schema (check-jsonschema)"
fi
[ "$validators" -gt 0 ] || fail "cannot validate docker-compose.yml: neither docker-compose (apt-get install docker-compose) nor check-jsonschema (pip install check-jsonschema) is available; run as root to install them"

# --- 2.-4. shape, Dockerfiles, environment -------------------------------------
py=""
for cand in python3 /usr/bin/python3; do
    if "$cand" -c 'import yaml' 2>/dev/null || "$cand" -c 'import ruamel.yaml' 2>/dev/null; then py=$cand; break; fi
done
[ -n "$py" ] || fail "no python3 with a YAML module (python3-yaml) to read docker-compose.yml"

# Writes $work/gateway.env (the gateway's environment: image ENV, then
# compose) and $work/hosts (every compose service name), prints one line per
# problem found.
problems=$("$py" - "$ROOT" "$work" <<'PY'
import os, re, sys
root, work = sys.argv[1], sys.argv[2]
try:
    import yaml
    load = yaml.safe_load
except ImportError:
    from ruamel.yaml import YAML
    load = YAML(typ="safe").load
problems = []
def problem(msg): problems.append(msg)

with open(os.path.join(root, "docker-compose.yml")) as f:
    compose = load(f)
services = compose.get("services") or {}
networks = compose.get("networks") or {}

# -- shape
expected = ["postgres", "redis", "rabbitmq", "user-service", "availability-service",
            "suggestion-service", "worker-service", "worker-consumer", "meeting-service", "gateway"]
for name in expected:
    if name not in services:
        problem(f"compose: service {name} is missing")
min_replicas = {"user-service": 2, "availability-service": 2, "suggestion-service": 2,
                "worker-service": 1, "worker-consumer": 2, "meeting-service": 2}
for name, n in min_replicas.items():
    svc = services.get(name) or {}
    r = (svc.get("deploy") or {}).get("replicas")
    if not isinstance(r, int) or r < n:
        problem(f"compose: {name} must declare deploy.replicas >= {n} (has {r!r})")
    if svc.get("container_name"):
        problem(f"compose: {name} is replicated and cannot have a container_name")
cmd = (services.get("worker-consumer") or {}).get("command")
if (cmd if isinstance(cmd, str) else " ".join(cmd or [])).split()[:1] != ["consume"]:
    problem(f"compose: worker-consumer must run `worker-service consume` (command: {cmd!r})")
private = [n for n, v in networks.items() if (v or {}).get("internal")]
if not private:
    problem("compose: no internal (private) network")
for name, svc in services.items():
    if name != "gateway" and svc.get("ports"):
        problem(f"compose: only the gateway may publish ports; {name} publishes {svc['ports']}")
    if svc.get("network_mode"):
        problem(f"compose: {name} uses network_mode {svc['network_mode']}")
    nets = svc.get("networks")
    nets = list(nets) if nets else []
    if not any(n in private for n in nets):
        problem(f"compose: {name} is not on the private network {private}")
gw_ports = (services.get("gateway") or {}).get("ports") or []
if not gw_ports or not all(str(p).endswith(":8080") or str(p) == "8080" for p in gw_ports):
    problem(f"compose: the gateway must publish its port 8080 (ports: {gw_ports})")

# -- Dockerfiles: the gateway builds nginx/Dockerfile; every Rust service the
# one deploy/service.Dockerfile, its build arg SERVICE naming the workspace
# member (a package with a binary) it builds and runs
SERVICE_DOCKERFILE = "deploy/service.Dockerfile"

def dockerfile_of(svc):
    b = svc.get("build")
    if not b:
        return None
    if isinstance(b, str):
        b = {"context": b}
    ctx = os.path.normpath(os.path.join(root, b.get("context", ".")))
    return ctx, os.path.normpath(os.path.join(ctx, b.get("dockerfile", "Dockerfile")))

def build_args(svc):  # args: {K: V} or ["K=V", ...]
    b = svc.get("build")
    a = (b.get("args") if isinstance(b, dict) else None) or {}
    if isinstance(a, list):
        a = dict((x.split("=", 1) + [None])[:2] for x in a)
    return a

def parse_dockerfile(path):
    text = open(path).read()
    text = re.sub(r"\\\n", " ", text)  # line continuations
    lines = [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("#")]
    last_from = max(i for i, l in enumerate(lines) if l.upper().startswith("FROM "))
    return lines, lines[last_from:]

def stages(lines):  # [[FROM ..., ...], ...]
    out = []
    for l in lines:
        if l.upper().startswith("FROM "):
            out.append([])
        if out:
            out[-1].append(l)
    return out

def env_keys(instr):  # ENV A=1 B=2 / ENV A 1
    body = instr.split(None, 1)[1]
    if "=" not in body.split()[0]:
        return {body.split()[0]: body.split(None, 1)[1] if len(body.split()) > 1 else ""}
    return dict(re.findall(r'([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)', body))

# The workspace's binaries: package name -> member directory.
def workspace_members():
    text = open(os.path.join(root, "Cargo.toml")).read()
    try:
        import tomllib
        return list((tomllib.loads(text).get("workspace") or {}).get("members") or [])
    except ImportError:
        m = re.search(r"(?ms)^\[workspace\].*?^members\s*=\s*\[(.*?)\]", text)
        return re.findall(r'"([^"]+)"', m.group(1)) if m else []
binaries = {}
for member in workspace_members():
    manifest = os.path.join(root, member, "Cargo.toml")
    if not os.path.isfile(manifest) or not os.path.isfile(os.path.join(root, member, "src", "main.rs")):
        continue
    m = re.search(r'(?ms)^\[package\].*?^name\s*=\s*"([^"]+)"', open(manifest).read())
    if m:
        binaries[m.group(1)] = member
if not binaries:
    problem("Cargo.toml: found no workspace member with a binary (src/main.rs): this test needs updating")
for pkg, member in binaries.items():
    stale = os.path.join(member, "Dockerfile")
    if os.path.exists(os.path.join(root, stale)):
        problem(f"{stale}: a per-service Dockerfile; every service image builds from {SERVICE_DOCKERFILE} (build arg SERVICE={pkg})")

SV = r'"?\$(?:SERVICE\b|\{SERVICE\})"?'   # $SERVICE, ${SERVICE}, quoted or not
def check_service_dockerfile(rel, lines):
    # builds the package SERVICE names and runs that binary from a fixed path
    # (an exec-form ENTRYPOINT expands neither ARG nor ENV)
    st = stages(lines)
    final = st[-1]
    build = [(i, l) for i, l in enumerate(lines) if "cargo build" in l]
    if not build:
        return problem(f"{rel}: no `cargo build`")
    bi, bl = build[0]
    if "--release" not in bl or "--locked" not in bl or not re.search(rf"(-p|--package)\s+{SV}(\s|$)", bl):
        problem(f'{rel}: does not `cargo build --release --locked -p "$SERVICE"`')
    bstage = next(s for s in st if bl in s)
    if bstage is final:
        problem(f"{rel}: builds in its final stage (the runtime image must not hold the toolchain)")
    if not any(re.match(r"ARG\s+SERVICE(=|\s|$)", l, re.I) for l in bstage[:bstage.index(bl)]):
        problem(f"{rel}: the build stage uses SERVICE without declaring `ARG SERVICE` before `cargo build`")
    ep = [l for l in final if l.upper().startswith("ENTRYPOINT ")]
    argv = None
    if ep:
        try:
            import json
            argv = json.loads(ep[-1].split(None, 1)[1])
        except ValueError:
            argv = None
    if not argv or not isinstance(argv, list):
        return problem(f"{rel}: no exec-form ENTRYPOINT [\"/path/to/binary\"] (the subcommands, e.g. worker-consumer's `consume`, come from compose `command:`)")
    exe = argv[0]
    if "$" in exe:
        problem(f"{rel}: ENTRYPOINT {exe}: the exec form does not expand variables; copy the binary to a fixed path")
    copies = [l.split() for l in final if l.upper().startswith("COPY ") and "--from" in l]
    srcs = [p[-2] for p in copies if len(p) >= 3 and (p[-1] == exe or (p[-1].endswith("/") and p[-1] + os.path.basename(p[-2]) == exe))]
    if not srcs:
        return problem(f"{rel}: the ENTRYPOINT {exe} is not COPY --from the build stage")
    if not any(re.search(rf"target/release/{SV}", l) and srcs[0] in l for l in bstage):
        problem(f"{rel}: {srcs[0]} (the ENTRYPOINT {exe}) is not installed from target/release/$SERVICE")

image_env = {}
has_image_healthcheck = {}
crate_of = {}      # compose service -> (package, member directory)
image_builds = {}  # image -> (Dockerfile, SERVICE) of the first service naming it
checked = set()
for name, svc in services.items():
    df = dockerfile_of(svc)
    if not df:
        continue
    ctx, path = df
    rel = os.path.relpath(path, root)
    args = build_args(svc)
    if name != "gateway":
        if rel != SERVICE_DOCKERFILE:
            problem(f"compose: {name} builds {rel}; every service image builds from {SERVICE_DOCKERFILE} (build arg SERVICE)")
        pkg = args.get("SERVICE")
        if not pkg:
            problem(f"compose: {name} builds {rel} without the build arg SERVICE (build: args: SERVICE: <workspace member>)")
        elif pkg not in binaries:
            problem(f"compose: {name}: build arg SERVICE={pkg} is not a workspace member with a binary ({', '.join(sorted(binaries))})")
        else:
            crate_of[name] = (pkg, binaries[pkg])
            image = str(svc.get("image") or "")
            if image and not re.search(rf"(^|/){re.escape(pkg)}(:|$)", image):
                problem(f"compose: {name} builds SERVICE={pkg} but tags it {image}")
    image = svc.get("image")
    if image:
        built = (rel, args.get("SERVICE"))
        if image_builds.setdefault(image, built) != built:
            problem(f"compose: {name} builds {image} from {built}, another service from {image_builds[image]}")
    if not os.path.isfile(path):
        problem(f"{rel}: missing (build of {name})")
        continue
    lines, final = parse_dockerfile(path)
    hc = [l for l in final if l.upper().startswith("HEALTHCHECK ")]
    has_image_healthcheck[name] = bool(hc) and "NONE" not in hc[-1].upper().split()[1:2]
    env = {}
    for l in final:
        if l.upper().startswith("ENV "):
            env.update(env_keys(l))
    image_env[name] = env
    if rel in checked:
        continue
    checked.add(rel)
    users = [l.split(None, 1)[1].strip() for l in final if l.upper().startswith("USER ")]
    if not users:
        problem(f"{rel}: the final stage has no USER (runs as root)")
    elif re.match(r"^(root|0)(:|$)", users[-1]):
        problem(f"{rel}: the final stage runs as root (USER {users[-1]})")
    if not any(l.upper().startswith("EXPOSE ") for l in final):
        problem(f"{rel}: no EXPOSE")
    for l in lines:
        if l.upper().startswith("COPY ") and "--from" not in l:
            parts = [p for p in l.split()[1:] if not p.startswith("--")]
            if parts and parts[0].startswith("["):
                continue
            for src in parts[:-1]:
                if src != "." and not os.path.exists(os.path.join(ctx, src)):
                    problem(f"{rel}: COPY source {src} does not exist")
    if rel == SERVICE_DOCKERFILE:
        check_service_dockerfile(rel, lines)

# -- bounded: every container's output rotates, every replicated service has limits
for name, svc in services.items():
    opts = (svc.get("logging") or {}).get("options") or {}
    if not opts.get("max-size"):
        problem(f"compose: {name} logs without rotation (logging.options.max-size)")
    if "replicas" in (svc.get("deploy") or {}):
        limits = ((svc["deploy"].get("resources") or {}).get("limits") or {})
        if not (limits.get("memory") and limits.get("cpus")):
            problem(f"compose: {name} has replicas but no deploy.resources.limits (memory, cpus)")

# -- healthchecks everywhere
for name, svc in services.items():
    hc = svc.get("healthcheck")
    if hc and hc.get("disable"):
        problem(f"compose: {name} disables its healthcheck")
    elif not (hc and hc.get("test")) and not has_image_healthcheck.get(name):
        problem(f"compose: {name} has no healthcheck (neither in compose nor in its Dockerfile)")
for name in services:
    if name in ("postgres", "redis", "rabbitmq"):
        continue
    deps = (services[name].get("depends_on") or {})
    if isinstance(deps, dict):
        for d, spec in deps.items():
            if (spec or {}).get("condition") != "service_healthy":
                problem(f"compose: {name} should wait for {d} to be healthy (condition: service_healthy)")

# -- environment: compose and images vs what the services read
def compose_env(svc):
    e = svc.get("environment") or {}
    if isinstance(e, list):
        e = dict((x.split("=", 1) + [None])[:2] for x in e)
    return e

def sources(d):
    out = []
    for base, _, files in os.walk(d):
        for f in files:
            if f.endswith(".rs"):
                out.append(open(os.path.join(base, f)).read())
    return "\n".join(out)

platform_src = sources(os.path.join(root, "crates", "platform", "src"))
reads_rust_log = "try_from_default_env" in platform_src  # EnvFilter reads RUST_LOG
ports_of = {}      # compose service -> port it listens on
by_crate = {}      # crate -> set of names compose/images give it
image_readers = {} # Dockerfile -> (its ENV, {crate: its sources}) of the services built from it
for name, svc in services.items():
    df = dockerfile_of(svc)
    if not df or not os.path.isfile(df[1]):
        continue
    env = dict(image_env.get(name, {}))
    env.update(compose_env(svc))
    if name == "gateway":
        with open(os.path.join(work, "gateway.env"), "w") as f:
            for k, v in env.items():
                if v is None:
                    v = os.environ.get(k)   # passed through from the shell
                if v is not None:
                    f.write(f"{k}={v}\n")
        m = re.search(r":(\d+)$", str(env.get("NGINX_LISTEN", "")))
        ports_of[name] = m.group(1) if m else str(env.get("NGINX_LISTEN"))
        scripts = "".join(open(os.path.join(root, "nginx", f)).read() for f in ("render", "docker-entrypoint.sh"))
        for k in env:
            if not re.search(r"\$\{?" + re.escape(k) + r"\b", scripts):
                problem(f"compose: gateway sets {k}, which nginx/render and docker-entrypoint.sh never read")
        for k in sorted(set(re.findall(r"\$\{([A-Z_]+):\?", scripts))):
            if not env.get(k):
                problem(f"compose: gateway does not set {k}, which nginx/render requires")
        continue
    if name not in crate_of:
        continue
    crate = crate_of[name][1]
    src = sources(os.path.join(root, crate, "src"))
    # What compose sets, this service must read; what the image sets (one
    # Dockerfile for every service), at least one service built from it must
    # (checked below: worker-service's CONSUMER_BIND_ADDR is in every image).
    readers = image_readers.setdefault(os.path.relpath(df[1], root), (image_env.get(name, {}), {}))
    readers[1][crate] = src
    for k in compose_env(svc):
        if k == "RUST_LOG" and reads_rust_log:
            continue
        if f'"{k}"' not in src and f'"{k}"' not in platform_src:
            problem(f"compose: {name} sets {k}, which {crate} never reads (not in {crate}/src or crates/platform/src)")
    by_crate.setdefault(crate, set()).update(env)
    m = re.search(r":(\d+)$", str(env.get("CONSUMER_BIND_ADDR" if name == "worker-consumer" else "BIND_ADDR", "")))
    ports_of[name] = m.group(1) if m else None
    if ports_of[name] is None:
        problem(f"compose: {name} has no BIND_ADDR with a port (image ENV or compose)")
for rel, (ienv, srcs) in image_readers.items():
    for k in ienv:
        if k == "RUST_LOG" and reads_rust_log:
            continue
        if f'"{k}"' not in platform_src and not any(f'"{k}"' in src for src in srcs.values()):
            problem(f"{rel}: ENV {k}, which none of the services built from it ({', '.join(sorted(srcs))}) reads")
for crate, given in by_crate.items():
    cfg = os.path.join(root, crate, "src", "config.rs")
    if not os.path.isfile(cfg):
        problem(f"{crate}/src/config.rs is missing")
        continue
    read = set(re.findall(r'(?:parse_or|string_or|millis_or)\(\s*"([A-Z][A-Z0-9_]*)"', open(cfg).read()))
    if not read:
        problem(f"{crate}/src/config.rs: found no variables read (parse_or/string_or/millis_or): this test needs updating")
    for k in sorted(read - given):
        problem(f"compose: {crate} reads {k} (src/config.rs) but no compose service or its Dockerfile lists it; add `{k}:` (passed through) or a value")

# -- the native setup: every variable scripts/up gives a service is read by
# one and also set or passed through here (INSTANCE: containers use HOSTNAME)
all_src = platform_src + "".join(sources(os.path.join(root, c, "src")) for c in by_crate)
up = os.path.join(root, "scripts", "up")
native = set(re.findall(r'"([A-Z][A-Z0-9_]*)=', open(up).read())) if os.path.isfile(up) else set()
if os.path.isfile(up) and len(native) < 5:
    problem(f"scripts/up: found only {sorted(native)} as service variables: this test needs updating")
container_names = set().union(*by_crate.values()) if by_crate else set()
for k in sorted(native):
    if k != "RUST_LOG" and f'"{k}"' not in all_src:
        problem(f"scripts/up sets {k}, which no service reads")
    if k not in container_names and k != "INSTANCE":
        problem(f"scripts/up sets {k} but no compose service or Dockerfile does: the setups drifted")

# -- every URL names a compose service on the port it listens on
init_sql = open(os.path.join(root, "deploy", "k8s", "overlays", "dev", "postgres-init.sql")).read()
pg_mounts = " ".join(str(v) for v in (services.get("postgres") or {}).get("volumes") or [])
if "deploy/k8s/overlays/dev/postgres-init.sql:/docker-entrypoint-initdb.d/" not in pg_mounts:
    problem("compose: postgres does not mount deploy/k8s/overlays/dev/postgres-init.sql into /docker-entrypoint-initdb.d/")
infra_ports = {"postgres": "5432", "redis": "6379", "rabbitmq": "5672"}
for name, svc in services.items():
    for k, v in compose_env(svc).items():
        if not isinstance(v, str):
            continue
        for url in v.split(","):
            m = re.match(r"^(\w+)://(?:([^:@/]*)(?::([^@/]*))?@)?([^:/]+)(?::(\d+))?(?:/([^?]*))?", url.strip())
            if not m:
                continue
            scheme, user, pw, host, port, path = m.groups()
            if host not in services:
                problem(f"compose: {name} {k}={v}: host {host} is not a compose service")
                continue
            want = infra_ports.get(host) or ports_of.get(host)
            if port and want and port != want:
                problem(f"compose: {name} {k}: {host} listens on {want}, not {port}")
            if scheme.startswith("postgres"):
                db = path or ""
                if not re.search(rf"CREATE DATABASE {re.escape(db)} OWNER {re.escape(user or '')};", init_sql):
                    problem(f"compose: {name} {k}: deploy/k8s/overlays/dev/postgres-init.sql creates no database {db} owned by {user}")
                if not re.search(rf"CREATE ROLE {re.escape(user or '')} LOGIN PASSWORD '{re.escape(pw or '')}';", init_sql):
                    problem(f"compose: {name} {k}: deploy/k8s/overlays/dev/postgres-init.sql creates no role {user} with that password")
gw_env = compose_env(services.get("gateway") or {})
for k in ("USER_SERVERS", "AVAILABILITY_SERVERS", "SUGGESTION_SERVERS", "WORKER_SERVERS", "MEETING_SERVERS"):
    for hp in str(gw_env.get(k) or "").split():
        host, _, port = hp.partition(":")
        if host not in services:
            problem(f"compose: gateway {k}: {host} is not a compose service")
        elif port != ports_of.get(host):
            problem(f"compose: gateway {k}: {host} listens on {ports_of.get(host)}, not {port}")

# Each compose service name gets an address of its own, so the rendering
# can be checked for every name's expansion.
with open(os.path.join(work, "hosts"), "w") as f:
    f.write("127.0.0.1 localhost\n::1 localhost\n")
    for i, name in enumerate(services, start=1):
        f.write(f"127.0.2.{i} {name}\n")
print("\n".join(dict.fromkeys(problems)))  # once each, in order
PY
) || fail "reading docker-compose.yml failed"
if [ -n "$problems" ]; then
    echo "$problems" | sed 's/^/FAIL: /' >&2
    fail "$(grep -c . <<<"$problems") problem(s) in the container deployment"
fi
echo "ok: services, replicas, healthchecks, networks, published ports"
echo "ok: Dockerfiles (one for the services, SERVICE a workspace binary; non-root USER, EXPOSE, HEALTHCHECK, COPY sources)"
echo "ok: environment of compose and images matches what the services read"

# --- 5. nginx: the container's rendering passes nginx -t ----------------------------
if ! command -v nginx >/dev/null; then
    apt_get nginx-light || apt_get nginx || fail "nginx is not installed (apt-get install nginx) and could not be installed: cannot run nginx -t"
fi
command -v unshare >/dev/null || fail "unshare (util-linux) is missing: cannot resolve the compose host names for nginx -t"
# As the container does: the image's and compose's environment, only with
# the prefix and log directory moved into a scratch directory.
gw_env=()
while IFS= read -r line; do gw_env+=("$line"); done <"$work/gateway.env"
mkdir -p "$work/prefix" "$work/logs"
nginx_args=()
run_in_hosts() { # run_in_hosts COMMAND...: with $work/hosts as /etc/hosts
    if is_root; then
        unshare -m sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$work/hosts" "$@"
    else
        unshare -rm sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$work/hosts" "$@"
    fi
}
# Not root: a user namespace where nginx believes it is root and would chown
# its temp directories to the unmapped "nobody"; keep them ours instead
# (-g replaces the entrypoint's -g, hence daemon off repeated).
is_root || nginx_args=(-g 'daemon off; user root;')
err=$(run_in_hosts true 2>&1) \
    || fail "cannot bind-mount a hosts file in a private mount namespace (unshare -m needs root or user namespaces) to resolve the compose host names for nginx -t: $err"
out=$(run_in_hosts env -i PATH="$PATH" "${gw_env[@]}" NGINX_PREFIX="$work/prefix" NGINX_LOG_DIR="$work/logs" \
    "$ROOT/nginx/docker-entrypoint.sh" nginx -t "${nginx_args[@]}" 2>&1) \
    || fail "the gateway container's nginx config fails nginx -t: $out"
conf="$work/prefix/nginx.conf"
address_of() { awk -v n="$1" '$2 == n { print $1 }' "$work/hosts"; }
grep -qE "listen 8080;" "$conf" || fail "the container's rendered nginx.conf has no 'listen 8080;'"
# Each upstream name expanded to its address (re-resolved while running).
for name in user-service availability-service suggestion-service worker-service meeting-service; do
    want="server $(address_of "$name"):8000 "
    grep -qF "$want" "$conf" || fail "the container's rendered nginx.conf has no '$want' ($name expanded)"
done
echo "ok: nginx -t on the container's rendering of nginx/nginx.conf.template"

# --- 6. the running gateway follows an upstream's new address ---------------------
# user-service first resolves to an address where nothing listens (502),
# then, as when compose recreates its container, to one where a server
# answers: the entrypoint notices within UPSTREAM_RESOLVE_SECONDS, re-renders
# and reloads nginx, and the same request is served.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
up_port=$(free_port)
gw_port=$(free_port)
mkdir -p "$work/upstream" "$work/live-prefix" "$work/live-logs"
echo '{"status":"healthy"}' >"$work/upstream/health"
python3 -m http.server "$up_port" --bind 127.0.3.2 --directory "$work/upstream" >/dev/null 2>&1 &
upstream_pid=$!
{ echo "127.0.0.1 localhost"; echo "127.0.3.1 user-service"; grep -v ' user-service$' "$work/hosts" | grep -v localhost; } >"$work/hosts-live"
live_env=()
for e in "${gw_env[@]}"; do [[ $e == USER_SERVERS=* || $e == NGINX_LISTEN=* ]] || live_env+=("$e"); done
( exec unshare -m sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$work/hosts-live" \
    env -i PATH="$PATH" "${live_env[@]}" USER_SERVERS="user-service:$up_port" NGINX_LISTEN="127.0.0.1:$gw_port" \
    UPSTREAM_RESOLVE_SECONDS=1 NGINX_PREFIX="$work/live-prefix" NGINX_LOG_DIR="$work/live-logs" \
    "$ROOT/nginx/docker-entrypoint.sh" "${nginx_args[@]}" ) 2>"$work/live.err" &
gateway_pid=$!
stop_live() { kill -TERM "$gateway_pid" "$upstream_pid" 2>/dev/null || true; wait "$gateway_pid" 2>/dev/null || true; }
status_of() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$gw_port/users/health" || true; }
for _ in $(seq 50); do [ "$(status_of)" = 000 ] || break; sleep 0.2; done
first=$(status_of)
[ "$first" = 502 ] || { stop_live; fail "before the move: expected 502 from an address with no server, got $first ($(cat "$work/live.err"))"; }
# The new address, written in place (the bind mount follows the inode).
sed 's/^127\.0\.3\.1 user-service$/127.0.3.2 user-service/' "$work/hosts-live" >"$work/hosts-next"
cat "$work/hosts-next" >"$work/hosts-live"
moved=""
for _ in $(seq 50); do
    [ "$(status_of)" = 200 ] && { moved=yes; break; }
    sleep 0.2
done
stop_live
[ -n "$moved" ] || fail "the gateway never followed user-service to its new address: $(cat "$work/live.err")"
grep -q "upstream addresses changed, reloading: USER_SERVERS=\"127.0.3.2:$up_port\"" "$work/live.err" \
    || fail "the entrypoint did not say what it reloaded: $(cat "$work/live.err")"
echo "ok: the running gateway follows an upstream to its new address (re-resolved, reloaded)"

# The same template rendered the native way (host:port lists), so a change for
# the containers cannot break scripts/up.
mkdir -p "$work/native/tmp"
NGINX_PREFIX="$work/native" NGINX_LISTEN=127.0.0.1:8080 USER_SERVERS="127.0.0.1:1 127.0.0.1:2" \
    AVAILABILITY_SERVERS="127.0.0.1:3 127.0.0.1:4" SUGGESTION_SERVERS="127.0.0.1:5" WORKER_SERVERS="127.0.0.1:6" MEETING_SERVERS="127.0.0.1:7" \
    "$ROOT/nginx/render" "$work/native/nginx.conf" || fail "nginx/render fails with a native host:port list"
out=$(nginx -t -q -p "$work/native" -c "$work/native/nginx.conf" -e stderr 2>&1) \
    || fail "the native rendering fails nginx -t: $out"
echo "ok: nginx -t on the native rendering"
echo "container deployment validated"
