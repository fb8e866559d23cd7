# Shared by scripts/up, scripts/down and scripts/test. Sourced, not run.
# Everything here works on a bare Debian machine (installs with apt-get when
# running as root) and on a machine whose servers already run (uses them).

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# --- configuration (see the README's table) ---------------------------------
W2M_RUN_DIR="${W2M_RUN_DIR:-$ROOT/run}"
W2M_PROFILE="${W2M_PROFILE:-release}"
GATEWAY_HOST="${GATEWAY_HOST:-127.0.0.1}"
GATEWAY_PORT="${GATEWAY_PORT:-8080}"
W2M_PORT_BASE="${W2M_PORT_BASE:-8100}"
W2M_DB_SUFFIX="${W2M_DB_SUFFIX:-}"
PG_HOST="${PG_HOST:-127.0.0.1}"
PG_PORT="${PG_PORT:-5432}"
PG_USER="${PG_USER:-postgres}"
PG_PASSWORD="${PG_PASSWORD:-postgres}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
AMQP_URL="${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"
REDIS_KEY_PREFIX="${REDIS_KEY_PREFIX:-w2meet:users:}"
JOB_QUEUE="${JOB_QUEUE:-meeting_jobs}"

PG_ADMIN_URL="postgres://$PG_USER:$PG_PASSWORD@$PG_HOST:$PG_PORT/postgres"
USERS_DB="w2meet_users$W2M_DB_SUFFIX"
JOBS_DB="w2meet_jobs$W2M_DB_SUFFIX"
MEETINGS_DB="w2meet_meetings$W2M_DB_SUFFIX"
MEETING_EXCHANGE="${MEETING_EXCHANGE:-w2meet.meetings}"
# user-service's change events, which worker-service's watches read.
USER_EXCHANGE="${USER_EXCHANGE:-w2meet.users}"

log() { printf '\033[1m[w2meet]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[w2meet] error:\033[0m %s\n' "$*" >&2; exit 1; }

# --- installing and starting what is missing --------------------------------
APT_UPDATED=0
apt_install() {
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        die "missing: $*. Install it (Debian: sudo apt-get install -y $*) and run again."
    fi
    if [ "$APT_UPDATED" = 0 ]; then
        log "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        APT_UPDATED=1
    fi
    log "installing $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

need_cmd() { # need_cmd COMMAND [PACKAGE]
    command -v "$1" >/dev/null 2>&1 || apt_install "${2:-$1}"
}

need_cargo() {
    command -v cargo >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/cargo" ] \
        || die "cargo is missing: install the Rust toolchain (rustup, or Debian: apt-get install cargo) and run again"
    command -v cargo >/dev/null 2>&1 || export PATH="$HOME/.cargo/bin:$PATH"
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
    local deadline=$((SECONDS + $1)) what=$2
    shift 2
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

PG_INSTALLED_HERE=0
# "name stop-command" of every server these scripts started (not found running).
STARTED_INFRA=()
ensure_postgres() {
    if ! port_open "$PG_HOST" "$PG_PORT" && ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
        apt_install postgresql postgresql-client
        PG_INSTALLED_HERE=1
    fi
    need_cmd psql postgresql-client
    if ! port_open "$PG_HOST" "$PG_PORT"; then
        log "starting PostgreSQL"
        local version
        version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
        [ -n "$version" ] || die "PostgreSQL is installed but has no cluster in /etc/postgresql"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start \
            || die "could not start PostgreSQL $version"
        STARTED_INFRA+=("postgresql pg_ctlcluster --skip-systemctl-redirect $version main stop")
        wait_for 30 postgres port_open "$PG_HOST" "$PG_PORT" || die "PostgreSQL did not start"
    fi
    if ! psql "$PG_ADMIN_URL" -Atqc 'SELECT 1' >/dev/null 2>&1; then
        # A cluster this script just installed authenticates TCP clients by
        # password: give its superuser the configured one. An existing
        # server's passwords are never touched.
        if [ "$PG_INSTALLED_HERE" = 1 ] && [ "$(id -u)" = 0 ] && [[ $PG_PASSWORD =~ ^[A-Za-z0-9._-]+$ ]]; then
            log "setting the PostgreSQL password of $PG_USER on the new cluster"
            su postgres -c "psql -qc \"ALTER USER $PG_USER PASSWORD '$PG_PASSWORD'\"" >/dev/null || true
        fi
        psql "$PG_ADMIN_URL" -Atqc 'SELECT 1' >/dev/null \
            || die "cannot log in to PostgreSQL as $PG_USER at $PG_HOST:$PG_PORT (set PG_USER/PG_PASSWORD)"
    fi
}

ensure_database() { # ensure_database NAME
    if [ -z "$(psql "$PG_ADMIN_URL" -Atqc "SELECT 1 FROM pg_database WHERE datname = '$1'")" ]; then
        log "creating database $1"
        psql "$PG_ADMIN_URL" -qc "CREATE DATABASE \"$1\"" >/dev/null 2>&1 \
            || [ -n "$(psql "$PG_ADMIN_URL" -Atqc "SELECT 1 FROM pg_database WHERE datname = '$1'")" ] \
            || die "could not create database $1"
    fi
}

drop_database() { # drop_database NAME
    psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" >/dev/null 2>&1 || true
}

# host and port of a URL like scheme://[user[:pw]@]host[:port][/...]
url_host() { local u=${1#*://}; u=${u%%/*}; u=${u##*@}; echo "${u%%:*}"; }
url_port() { local u=${1#*://}; u=${u%%/*}; u=${u##*@}; [[ $u == *:* ]] && echo "${u##*:}" || echo "$2"; }

ensure_redis() {
    local host port
    host=$(url_host "$REDIS_URL")
    port=$(url_port "$REDIS_URL" 6379)
    port_open "$host" "$port" && return 0
    need_cmd redis-server redis-server
    log "starting Redis on $host:$port"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind "$host" --port "$port" --save "" --appendonly no \
        --dir "${TMPDIR:-/tmp}" --logfile "$W2M_RUN_DIR/logs/redis.log" >/dev/null
    wait_for 15 redis port_open "$host" "$port" || die "Redis did not start"
    STARTED_INFRA+=("redis redis-cli -h $host -p $port shutdown nosave")
}

ensure_rabbitmq() {
    local host port
    host=$(url_host "$AMQP_URL")
    port=$(url_port "$AMQP_URL" 5672)
    port_open "$host" "$port" && return 0
    command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
    log "starting RabbitMQ"
    rabbitmq-server -detached >/dev/null 2>&1 || true
    wait_for 90 rabbitmq port_open "$host" "$port" || die "RabbitMQ did not start on $host:$port"
    STARTED_INFRA+=("rabbitmq rabbitmqctl stop")
}

ensure_nginx() {
    command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || apt_install nginx-light || apt_install nginx
}

NGINX_BIN() { command -v nginx || echo /usr/sbin/nginx; }

# --- processes ---------------------------------------------------------------
# pid_alive PIDFILE [NAME]: the process in PIDFILE runs (and, given NAME,
# its command line mentions NAME — a pid reused after a reboot is not ours).
pid_alive() {
    [ -f "$1" ] || return 1
    local pid
    pid=$(cat "$1")
    kill -0 "$pid" 2>/dev/null || return 1
    [ -z "${2:-}" ] || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"
}

# start_process NAME ENV... -- COMMAND...: runs COMMAND under
# scripts/supervise, which restarts it whenever it dies. pids/NAME.pid holds
# the service's pid, pids/NAME.supervisor the supervisor's.
start_process() {
    local name=$1
    shift
    local pidfile="$W2M_RUN_DIR/pids/$name.pid"
    local envs=()
    while [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    if pid_alive "$W2M_RUN_DIR/pids/$name.supervisor" supervise; then
        log "$name already supervised (pid $(cat "$W2M_RUN_DIR/pids/$name.supervisor"))"
        return 0
    fi
    if pid_alive "$pidfile" "$1"; then
        log "$name already running (pid $(cat "$pidfile")); stopping it to supervise it"
        stop_pidfile "$pidfile" "$1"
    fi
    rm -f "$pidfile"
    env "${envs[@]}" nohup "$ROOT/scripts/supervise" "$pidfile" "$W2M_RUN_DIR/logs/$name.out" -- "$@" \
        >/dev/null 2>&1 &
    echo $! >"$W2M_RUN_DIR/pids/$name.supervisor"
    # The service's pid file appears once the supervisor has started it.
    for _ in $(seq 1 50); do [ -s "$pidfile" ] && return 0; sleep 0.05; done
    die "$name did not start (see $W2M_RUN_DIR/logs/$name.out)"
}

stop_pidfile() { # stop_pidfile FILE [NAME] — TERM, wait up to 20 s, then KILL
    local pidfile=$1 pid
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if pid_alive "$pidfile" "${2:-}"; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

# --- the web app (web/, SPEC §8) --------------------------------------------
# Node.js 18.19+ (or 20, or 22+: what Vite 6 and Vitest 3 support) with npm
# (Debian 12's packages are 18.19 and 9.2, and every tool in
# web/package-lock.json runs on them).
ensure_node() {
    need_cmd node nodejs
    need_cmd npm npm
    node -e '
        const [a, b] = process.versions.node.split(".").map(Number);
        process.exit((a === 18 && b >= 19) || a === 20 || a >= 22 ? 0 : 1);
    ' 2>/dev/null || die "web/ needs Node.js ^18.19, 20 or 22+, not $(node --version 2>&1): install one (Debian 12: apt-get install nodejs npm)"
}

# web_packages: npm ci in web/ when the lockfile is newer than the install.
web_packages() {
    if [ ! -f "$ROOT/web/node_modules/.package-lock.json" ] \
        || [ "$ROOT/web/package-lock.json" -nt "$ROOT/web/node_modules/.package-lock.json" ]; then
        log "installing the web app's packages (npm ci)"
        (cd "$ROOT/web" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci failed in web/"
    fi
}

# build_web: installs web/'s locked packages when the lockfile changed, then
# type-checks and builds web/dist (hashed assets; never committed).
build_web() {
    ensure_node
    (
        cd "$ROOT/web"
        web_packages
        log "building the web app"
        local out
        out=$(mktemp)
        npm run -s build >"$out" 2>&1 || { cat "$out" >&2; rm -f "$out"; die "the web app does not build (above)"; }
        rm -f "$out"
    )
}

# stage_web: a copy of web/dist that nginx's workers can read (they run as
# an unprivileged user, and a checkout may sit in a private directory such
# as mktemp -d's); prints its path. Each scripts/up stages a new one, and
# the previous one is removed once the gateway serves the new.
stage_web() {
    local dir
    [ -f "$ROOT/web/dist/index.html" ] || die "web/dist is not built (build_web)"
    dir=$(mktemp -d "${W2M_WEB_STAGE_DIR:-/tmp}/w2meet-web.XXXXXX")
    cp -R "$ROOT/web/dist/." "$dir/"
    chmod -R a+rX "$dir"
    chmod 755 "$dir"
    echo "$dir"
}

# isolated_stack_env NAME: exports what scripts/up needs to start a stack
# beside any other: its own run directory, free gateway and service ports,
# databases, Redis key prefix, job queue, and a gateway rate limit high
# enough not to interfere with load. Sets run_id and stack_dir.
isolated_stack_env() {
    local name=$1 s i base
    run_id="${name}_$(date +%s)_$$_$RANDOM"
    stack_dir="$(mktemp -d "${TMPDIR:-/tmp}/w2meet-$run_id.XXXX")"
    export W2M_RUN_DIR="$stack_dir"
    # Release builds, unless W2M_PROFILE_OVERRIDE=debug (as scripts/test).
    export W2M_PROFILE=${W2M_PROFILE_OVERRIDE:-release}
    free_port() {
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
            || echo $((20000 + RANDOM % 20000))
    }
    base_is_free() { # every port scripts/up may use: base+100·s+i, s=1..5, i=1..9
        for s in 1 2 3 4 5; do
            for i in 1 2 3 4 5 6 7 8 9; do
                port_open 127.0.0.1 $(($1 + 100 * s + i)) && return 1
            done
        done
        return 0
    }
    GATEWAY_PORT="$(free_port)"
    while [ "$GATEWAY_PORT" = 8080 ] || port_open 127.0.0.1 "$GATEWAY_PORT"; do GATEWAY_PORT="$(free_port)"; done
    export GATEWAY_PORT
    # Service ports base + 100·service + replica stay below the kernel's
    # ephemeral range (32768+), where outgoing connections take theirs.
    for _ in $(seq 1 20); do
        base=$((20000 + RANDOM % 120 * 100))
        base_is_free "$base" && break
    done
    base_is_free "$base" || die "no free port range found for the services"
    export W2M_PORT_BASE=$base
    export W2M_DB_SUFFIX="_$run_id"
    export REDIS_KEY_PREFIX="w2meet:$run_id:"
    export JOB_QUEUE="meeting_jobs_$run_id"
    export MEETING_EXCHANGE="w2meet.meetings.$run_id"
    export USER_EXCHANGE="w2meet.users.$run_id"
    export RATE_LIMIT=1000000 RATE_BURST=1000000
}

# drop_stack_data: the databases, Redis keys and queues of the stack
# isolated_stack_env described (the servers themselves keep running).
drop_stack_data() {
    drop_database "w2meet_users$W2M_DB_SUFFIX"
    drop_database "w2meet_jobs$W2M_DB_SUFFIX"
    drop_database "w2meet_meetings$W2M_DB_SUFFIX"
    redis-cli -u "$REDIS_URL" --scan --pattern "$REDIS_KEY_PREFIX*" 2>/dev/null \
        | xargs -r -d '\n' redis-cli -u "$REDIS_URL" DEL >/dev/null 2>&1 || true
    if command -v rabbitmqctl >/dev/null; then
        rabbitmqctl -q list_queues name 2>/dev/null | grep -E "^($JOB_QUEUE(\.|$)|$USER_EXCHANGE\.watches$)" \
            | while read -r q; do rabbitmqctl -q delete_queue "$q" </dev/null >/dev/null 2>&1 || true; done \
            || true
    fi
}

# harness_stack NAME: what scripts/chaos and scripts/soak (scripts/chaos.py)
# need — python3, redis-server and rabbitmq-server binaries for their private
# servers, the shared PostgreSQL, nginx — and an isolated stack environment
# whose databases are dropped and folder removed at exit.
harness_stack() {
    need_cmd python3
    need_cmd redis-server redis-server
    need_cmd curl
    ensure_postgres
    ensure_nginx
    [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || apt_install rabbitmq-server
    isolated_stack_env "$1"
    trap 'drop_stack_data; rm -rf "$stack_dir"' EXIT
}
