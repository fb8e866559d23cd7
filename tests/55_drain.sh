#!/usr/bin/env bash
# SIGTERM under load (SPEC §9): a replica of user-service and of the job API
# are sent SIGTERM during a burst of reads, user creations (POST, which the
# gateway never resends once sent) and job submissions through the gateway.
# Each turns unready at once (/readyz 503 "draining"), keeps answering for
# SHUTDOWN_DRAIN_MS with `Connection: close`, then stops accepting and
# finishes what is in flight: not one request may fail. Their supervisors
# start them again.
source "$(dirname "$0")/_lib.bash"

a="dr1.$RUN_TAG@example.com"
b="dr2.$RUN_TAG@example.com"
create_user "$a" '{"monday":[9,10]}'
create_user "$b" '{"monday":[10,11]}'

reqs=$(mktemp)
for i in $(seq 1 1200); do
    case $((i % 4)) in
        0) echo "GET $GATEWAY/users/users/$a" ;;
        1) echo "POST $GATEWAY/users/users {\"email\":\"drc$i.$RUN_TAG@example.com\",\"availabilities\":{\"monday\":[9]}}" ;;
        2) echo "POST $GATEWAY/worker/tasks {\"userId1\":\"$a\",\"userId2\":\"$b\",\"preference\":\"first\"}" ;;
        3) echo "GET $GATEWAY/suggestion/suggestions?userId1=$a&userId2=$b" ;;
    esac
done >"$reqs"
one() { # one "METHOD URL [BODY]"
    local method=${1%% *} rest=${1#* } url body
    url=${rest%% *}
    body=${rest#"$url"}
    if [ "$method" = POST ]; then
        curl -s -o /dev/null --max-time 15 -w '%{http_code}\n' -H 'content-type: application/json' -d "${body# }" "$url"
    else
        curl -s -o /dev/null --max-time 15 -w '%{http_code}\n' "$url"
    fi
}
export -f one
codes=$(mktemp)
trap 'kill "${burst:-}" 2>/dev/null || true; rm -f "$reqs" "$codes"' EXIT
(xargs -P 8 -d '\n' -n 1 bash -c 'one "$0"' <"$reqs" >"$codes") &
burst=$!
sleep 0.7
drained=()
for name in user-service-1 worker-api-1; do
    port=$(bind_addr "$name") || fail "no running $name"
    old_pid=$(cat "$RUN_DIR/pids/$name.pid")
    kill -TERM "$old_pid"
    ready=""
    for _ in $(seq 1 20); do
        ready=$(curl -s --max-time 2 -D - "http://$port/readyz" | tr -d '\r' || true)
        [[ $ready == *'"draining"'* ]] && break
        sleep 0.05
    done
    [[ $ready == *' 503'* && $ready == *'"draining"'* ]] || fail "$name should be draining after SIGTERM: $ready"
    grep -qi '^connection: close' <<<"$ready" || fail "$name should close connections while draining: $ready"
    drained+=("$name:$port:$old_pid")
done
wait "$burst"
total=$(wc -l <"$codes")
bad=$(grep -vcE '^(200|201|202)$' "$codes" || true)
echo "burst: $total requests, $bad failed"
[ "$total" = 1200 ] || fail "only $total requests completed"
[ "$bad" = 0 ] || fail "$bad requests failed during the drain: $(sort "$codes" | uniq -c | tr '\n' ' ')"

# Each came back under its supervisor, as a new process, ready.
for entry in "${drained[@]}"; do
    IFS=: read -r name host port old_pid <<<"$entry"
    ok=0
    for _ in $(seq 1 150); do
        new_pid=$(cat "$RUN_DIR/pids/$name.pid" 2>/dev/null || true)
        [ "$new_pid" != "$old_pid" ] && curl -fsS -o /dev/null --max-time 1 "http://$host:$port/readyz" && { ok=1; break; }
        sleep 0.1
    done
    [ "$ok" = 1 ] || fail "$name did not come back ready as a new process"
done
echo "drain ok"
