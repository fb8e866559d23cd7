# Helpers for the end-to-end tests; sourced by tests/*.sh. Each test runs
# against the gateway in $GATEWAY (scripts/test starts a stack for them).
set -euo pipefail
GATEWAY="${GATEWAY:-http://127.0.0.1:8080}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_TAG="$(date +%s%N | tail -c 9)$RANDOM"
# The stack's run directory (scripts/test exports W2M_RUN_DIR).
RUN_DIR="${W2M_RUN_DIR:-$ROOT/run}"

fail() { echo "FAIL: $*" >&2; exit 1; }
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    "$@" || fail "$what"
}

# req METHOD PATH [BODY] [extra curl args...]: sets STATUS, BODY, HEADERS.
req() {
    local method=$1 path=$2 body=${3:-}
    shift 3 2>/dev/null || shift $#
    local hdr
    hdr=$(mktemp)
    if [ -n "$body" ]; then
        # A body starting with @ names a file (large bodies exceed argv limits).
        BODY=$(curl -sS --max-time 15 -X "$method" -H 'content-type: application/json' -D "$hdr" \
            --data-binary "$body" "$@" -w '\n%{http_code}' "$GATEWAY$path")
    else
        BODY=$(curl -sS --max-time 15 -X "$method" -D "$hdr" "$@" -w '\n%{http_code}' "$GATEWAY$path")
    fi
    STATUS=${BODY##*$'\n'}
    BODY=${BODY%$'\n'*}
    HEADERS=$(tr -d '\r' <"$hdr")
    rm -f "$hdr"
}

header() { grep -i "^$1:" <<<"$HEADERS" | head -n1 | cut -d' ' -f2-; }

expect_status() { [ "$STATUS" = "$1" ] || fail "$2: expected $1, got $STATUS: $BODY"; }

# The common JSON error body, with the Case-ID header equal to its case_id.
expect_error() { # expect_error STATUS WHAT
    expect_status "$1" "$2"
    local cid
    cid=$(header case-id)
    [ -n "$cid" ] || fail "$2: no Case-ID header"
    jq -e --arg c "$cid" '.case_id == $c and (.detail | length > 0) and (.detail[0] | has("loc") and has("msg") and has("type"))' \
        <<<"$BODY" >/dev/null || fail "$2: not the JSON error body with case_id $cid: $BODY"
}

create_user() { # create_user EMAIL AVAILABILITY_JSON [PREFERENCE]
    req POST /users/users "{\"email\":\"$1\",\"preferences\":\"${3:-first}\",\"availabilities\":$2}"
    [ "$STATUS" = 201 ] || [ "$STATUS" = 200 ] || fail "create $1: $STATUS $BODY"
}

# bind_addr NAME: host:port the stack's running process NAME listens on
# (its BIND_ADDR, read from the process behind run/pids/NAME.pid).
bind_addr() { tr '\0' '\n' <"/proc/$(cat "$RUN_DIR/pids/$1.pid")/environ" 2>/dev/null | sed -n 's/^BIND_ADDR=//p'; }

# stop_replicas NAME: every replica of NAME (e.g. user-service) stopped for
# good — their supervisors are told to stop (a service stopped under a live
# supervisor would be restarted) — and waited for, up to 10 s each.
# scripts/up starts them again.
stop_replicas() {
    local f pid pids=()
    for f in "$RUN_DIR/pids/$1"-*.pid; do pids+=("$(cat "$f")"); done
    for f in "$RUN_DIR/pids/$1"-*.supervisor; do kill -TERM "$(cat "$f")" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done
}
