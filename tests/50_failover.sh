#!/usr/bin/env bash
# Replica failover: one replica of each stateless service killed during a
# burst of 1000 GETs through the gateway, and a job-API replica during a
# burst of job submissions; not one request may fail, and every killed
# process is restarted by its supervisor. Then a stopped user-service:
# availability answers 503 and suggestion 502/503, quickly. Restarts what it
# stopped (scripts/up is idempotent).
source "$(dirname "$0")/_lib.bash"
wait_healthy() { # wait_healthy URL: up to 15 s
    for _ in $(seq 1 150); do curl -fsS -o /dev/null --max-time 1 "$1" && return 0; sleep 0.1; done
    return 1
}

a="fo1.$RUN_TAG@example.com"
b="fo2.$RUN_TAG@example.com"
create_user "$a" '{"monday":[9,10]}'
create_user "$b" '{"monday":[10,11]}'

urls=$(mktemp)
for i in $(seq 1 1000); do
    case $((i % 3)) in
        0) echo "$GATEWAY/users/users/$a" ;;
        1) echo "$GATEWAY/availability/availabilities?userId1=$a&userId2=$b" ;;
        2) echo "$GATEWAY/suggestion/suggestions?userId1=$a&userId2=$b" ;;
    esac
done >"$urls"
codes=$(mktemp)
(xargs -P 8 -n 1 curl -s -o /dev/null --max-time 10 -w '%{http_code}\n' <"$urls" >"$codes") &
burst=$!
sleep 0.5
for svc in user-service availability-service suggestion-service; do
    pidfile="$RUN_DIR/pids/$svc-1.pid"
    [ -f "$pidfile" ] || fail "no pid file for $svc-1"
    kill -9 "$(cat "$pidfile")"
done
wait "$burst"
total=$(wc -l <"$codes")
bad=$(grep -vc '^200$' "$codes" || true)
echo "burst: $total requests, $bad not 200"
[ "$total" = 1000 ] || fail "only $total requests completed"
[ "$bad" = 0 ] || fail "$bad requests failed during failover: $(sort "$codes" | uniq -c | tr '\n' ' ')"

# The job API is replicated too: a worker-api replica killed during a burst
# of job submissions loses none of them (a refused connection is passed to
# the other replica, even for a POST, since nothing was sent).
body="{\"userId1\":\"$a\",\"userId2\":\"$b\",\"preference\":\"first\"}"
(seq 1 400 | xargs -P 8 -I{} curl -s -o /dev/null --max-time 10 -w '%{http_code}\n' \
    -H 'content-type: application/json' -d "$body" "$GATEWAY/worker/tasks" >"$codes") &
burst=$!
sleep 0.5
pidfile="$RUN_DIR/pids/worker-api-1.pid"
[ -f "$pidfile" ] || fail "no pid file for worker-api-1"
kill -9 "$(cat "$pidfile")"
wait "$burst"
total=$(wc -l <"$codes")
bad=$(grep -vc '^202$' "$codes" || true)
echo "job burst: $total submissions, $bad not 202"
[ "$total" = 400 ] || fail "only $total submissions completed"
[ "$bad" = 0 ] || fail "$bad submissions failed during failover: $(sort "$codes" | uniq -c | tr '\n' ' ')"

# Every killed process was restarted by its supervisor, without scripts/up.
for name in user-service-1 availability-service-1 suggestion-service-1 worker-api-1; do
    port=$(bind_addr "$name")
    check "$name restarted by its supervisor" wait_healthy "http://$port/health"
done

# Take every user-service replica down.
stop_replicas user-service
start=$(date +%s)
req GET "/availability/availabilities?userId1=$a&userId2=$b"
expect_error 503 "availability with user-service down"
req GET "/suggestion/suggestions?userId1=$a&userId2=$b"
expect_error 503 "suggestion with user-service down (availability's 503 passed on)"
[ $(($(date +%s) - start)) -le 10 ] || fail "answers took too long"

"$ROOT/scripts/up" --replicas 2 >/dev/null 2>&1 || fail "scripts/up could not restart the stopped replicas"
req GET "/users/users/$a"
expect_status 200 "user-service back"
echo "failover passes"
