#!/usr/bin/env bash
# The gateway container's entrypoint: renders nginx.conf.template with
# nginx/render — the same template and renderer scripts/up uses natively —
# from the environment (NGINX_PREFIX, NGINX_LOG_DIR, NGINX_LISTEN,
# USER_SERVERS, AVAILABILITY_SERVERS, SUGGESTION_SERVERS, WORKER_SERVERS, MEETING_SERVERS,
# RATE_LIMIT, RATE_BURST, BODY_LIMIT, WEB_ROOT; see nginx/render), then runs nginx in
# the foreground on the rendered file.
#   docker-entrypoint.sh [nginx [NGINX_ARGS...]]   e.g. `nginx -t` only tests
#   docker-entrypoint.sh OTHER_COMMAND...          renders, then runs it
# tests/60_containers.sh runs this very script (with `nginx -t`) to validate
# the container's configuration on a machine without a container engine.
#
# Upstream names are re-resolved (UPSTREAM_RESOLVE_SECONDS, default 5; 0
# turns it off): nginx 1.22 resolves `server name:port` once, at start, so a
# replica added, recreated or scaled away later would stay invisible (or
# stay a dead address) until a restart. Instead, each *_SERVERS name is
# expanded here to every address it has now (Docker's DNS answers a compose
# service name with all its containers), nginx runs on that, and when the
# answer changes the configuration is rendered again and nginx reloaded
# gracefully: upstream keepalive and the retry rules stay as they are. A
# name that resolves to nothing (every replica down) keeps its last
# addresses. tests/60_containers.sh proves a change of address is followed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${NGINX_PREFIX:?NGINX_PREFIX is required}"
export NGINX_LOG_DIR="${NGINX_LOG_DIR:-$NGINX_PREFIX}"
mkdir -p "$NGINX_PREFIX/tmp" "$NGINX_LOG_DIR"
conf="$NGINX_PREFIX/nginx.conf"
every=${UPSTREAM_RESOLVE_SECONDS:-5}
LISTS=(USER_SERVERS AVAILABILITY_SERVERS SUGGESTION_SERVERS WORKER_SERVERS MEETING_SERVERS)
declare -A named=() current=()
for list in "${LISTS[@]}"; do named[$list]=${!list:-}; done

# expand LIST: prints its host:port entries with every host replaced by
# each of its addresses now (an address stays as it is); fails if a name
# resolves to nothing.
expand() {
    local entry host port addrs out=()
    for entry in ${named[$1]}; do
        host=${entry%:*} port=${entry##*:}
        if [[ $host =~ ^[0-9.]+$ ]]; then
            out+=("$entry")
            continue
        fi
        addrs=$(getent ahostsv4 "$host" 2>/dev/null | awk '{ print $1 }' | sort -u) || return 1
        [ -n "$addrs" ] || return 1
        for a in $addrs; do out+=("$a:$port"); done
    done
    printf '%s' "${out[*]}"
}

# resolve: sets each *_SERVERS to its expansion (a list with a name that
# resolves to nothing keeps its last expansion, or at first its names);
# returns 0 when any changed, naming them in $changed.
resolve() {
    local list value
    changed=""
    for list in "${LISTS[@]}"; do
        value=$(expand "$list") || value=${current[$list]:-${named[$list]}}
        if [ "$value" != "${current[$list]:-}" ]; then
            current[$list]=$value
            changed+=" $list=\"$value\""
        fi
        export "$list=$value"
    done
    [ -n "$changed" ]
}

[ "$every" = 0 ] || resolve || true
"$here/render" "$conf"
if [ $# -gt 0 ] && [ "$1" != nginx ]; then
    exec "$@"
fi
[ $# -eq 0 ] || shift
run_nginx=(nginx -p "$NGINX_PREFIX" -c "$conf" -e stderr)
if [ "$every" = 0 ] || [[ " $* " == *" -t "* ]]; then
    exec "${run_nginx[@]}" -g 'daemon off;' "$@"
fi
"${run_nginx[@]}" -g 'daemon off;' "$@" &
nginx_pid=$!
# Docker stops the container with SIGTERM (nginx: fast shutdown) or, with
# STOPSIGNAL, SIGQUIT (graceful): pass either on, then wait for nginx.
trap 'kill -TERM "$nginx_pid" 2>/dev/null' TERM INT
trap 'kill -QUIT "$nginx_pid" 2>/dev/null' QUIT
while kill -0 "$nginx_pid" 2>/dev/null; do
    sleep "$every" & wait $! || true
    kill -0 "$nginx_pid" 2>/dev/null || break
    if resolve; then
        echo "gateway: upstream addresses changed, reloading:$changed" >&2
        if "$here/render" "$conf.next" && nginx -p "$NGINX_PREFIX" -c "$conf.next" -e stderr -t -q; then
            mv "$conf.next" "$conf"
            "${run_nginx[@]}" -s reload
        else
            echo "gateway: the re-rendered configuration does not pass nginx -t; keeping the running one" >&2
        fi
    fi
done
wait "$nginx_pid"
