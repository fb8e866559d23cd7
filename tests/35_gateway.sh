#!/usr/bin/env bash
# The gateway's own answers, from a private nginx rendered from the same
# template: 429 past the per-client rate, 502 when no replica is up, 504 when
# a replica never answers — each with the JSON error body and the Case-ID.
source "$(dirname "$0")/_lib.bash"
command -v python3 >/dev/null || fail "python3 is needed for the silent upstream"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

dir=$(mktemp -d)
mkdir -p "$dir/tmp"
chmod 777 "$dir/tmp"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
gw=$(port)
closed=$(port)
silent=$(port)
# Accepts connections and never answers.
python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $silent)); s.listen(64)
held = []
end = time.time() + 60
s.settimeout(1)
while time.time() < end:
    try: held.append(s.accept()[0])
    except OSError: pass
" &
silent_pid=$!
cleanup() {
    [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null
    kill "$silent_pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

NGINX_PREFIX="$dir" NGINX_LISTEN="127.0.0.1:$gw" USER_SERVERS="127.0.0.1:$closed" \
    AVAILABILITY_SERVERS="127.0.0.1:$closed" SUGGESTION_SERVERS="127.0.0.1:$closed" \
    WORKER_SERVERS="127.0.0.1:$silent" MEETING_SERVERS="127.0.0.1:$closed" RATE_LIMIT=5 RATE_BURST=5 READ_TIMEOUT=1s \
    "$ROOT/nginx/render" "$dir/nginx.conf"
"$NGINX" -q -p "$dir" -c "$dir/nginx.conf" -e stderr || fail "private gateway did not start"
GATEWAY="http://127.0.0.1:$gw"

req GET /users/users/a@x.io "" -H "Case-ID: gw-502-$RUN_TAG"
expect_error 502 "no replica up"
[ "$(header case-id)" = "gw-502-$RUN_TAG" ] || fail "502 lost the Case-ID"
sleep 1.2   # let the rate limiter refill
start=$(date +%s%N)
req GET /worker/tasks/x "" -H "Case-ID: gw-504-$RUN_TAG"
expect_error 504 "a replica that never answers"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
[ "$elapsed_ms" -lt 5000 ] || fail "504 took ${elapsed_ms} ms with a 1 s read timeout"
sleep 1.2
limited=0
# (/health is answered before the limiter runs, so use a proxied route.)
for _ in $(seq 1 30); do
    req GET /users/users/a@x.io
    if [ "$STATUS" = 429 ]; then
        limited=1
        expect_error 429 "rate limited"
        break
    fi
done
[ "$limited" = 1 ] || fail "30 quick requests at 5 r/s (burst 5) were never rate limited"
# The access log is buffered (flushed every second).
for _ in $(seq 1 30); do grep -q '"status":429' "$dir/gateway-access.log" 2>/dev/null && break; sleep 0.1; done
grep -q '"status":429' "$dir/gateway-access.log" || fail "access log lacks the 429"
jq -e -s 'map(select(.status == 502)) | .[0] | .case_id != null and (.upstream | length > 0)' \
    "$dir/gateway-access.log" >/dev/null || fail "access log line for the 502 lacks case_id/upstream"
echo "gateway limits pass"
