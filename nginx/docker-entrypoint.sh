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
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${NGINX_PREFIX:?NGINX_PREFIX is required}"
export NGINX_LOG_DIR="${NGINX_LOG_DIR:-$NGINX_PREFIX}"
mkdir -p "$NGINX_PREFIX/tmp" "$NGINX_LOG_DIR"
conf="$NGINX_PREFIX/nginx.conf"
"$here/render" "$conf"
if [ $# -eq 0 ] || [ "$1" = nginx ]; then
    [ $# -eq 0 ] || shift
    exec nginx -p "$NGINX_PREFIX" -c "$conf" -e stderr -g 'daemon off;' "$@"
fi
exec "$@"
