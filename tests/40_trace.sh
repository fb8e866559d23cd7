#!/usr/bin/env bash
# scripts/trace follows one Case-ID through every hop, and through a job.
source "$(dirname "$0")/_lib.bash"

a="tr1.$RUN_TAG@example.com"
b="tr2.$RUN_TAG@example.com"
create_user "$a" '{"tuesday":[9,10]}'
create_user "$b" '{"tuesday":[10,11]}'
cid="trace-$RUN_TAG"
req GET "/suggestion/suggestions?userId1=$a&userId2=$b" "" -H "Case-ID: $cid"
expect_status 200 "suggestion"
[ "$(header case-id)" = "$cid" ] || fail "Case-ID not echoed"

out=""
for _ in $(seq 1 50); do   # log writers flush in the background (the gateway's every second)
    out=$("$ROOT/scripts/trace" "$cid" 2>&1) || true
    grep -q "cache=" <<<"$out" && grep -q "GET /suggestion/suggestions" <<<"$out" && break
    sleep 0.1
done
echo "$out"
# gateway → suggestion → availability → user (with its cache result).
for hop in "gateway" "GET /suggestion/suggestions -> 200" "suggestion-service" "GET /suggestions -> 200" \
           "availability-service" "POST /timelines -> 200" "user-service" "POST /users/batch -> 200" "cache="; do
    grep -q -- "$hop" <<<"$out" || fail "trace lacks '$hop'"
done
"$ROOT/scripts/trace" "$cid" --json | jq -e 'length >= 5' >/dev/null || fail "trace --json"
if "$ROOT/scripts/trace" "no-such-id-$RUN_TAG" >/dev/null 2>&1; then fail "unknown id should exit 1"; fi

jcid="job-$RUN_TAG"
req POST /worker/tasks "{\"users\":[\"$a\",\"$b\"],\"count\":2,\"preference\":\"first\"}" -H "Case-ID: $jcid"
expect_status 202 "submit"
job=$(jq -r .job_id <<<"$BODY")
for _ in $(seq 1 150); do
    req GET "/worker/tasks/$job"
    [ "$(jq -r .status <<<"$BODY")" = succeeded ] && break
    sleep 0.1
done
[ "$(jq -r .status <<<"$BODY")" = succeeded ] || fail "job did not succeed: $BODY"
for _ in $(seq 1 50); do
    out=$("$ROOT/scripts/trace" "$jcid" 2>&1) || true
    # (the gateway's access log is flushed every second)
    grep -q "user-service" <<<"$out" && grep -q "POST /worker/tasks -> 202" <<<"$out" && break
    sleep 0.1
done
echo "$out"
for step in "POST /worker/tasks" "worker-service" "suggestion-service" "user-service" "$job"; do
    grep -q -- "$step" <<<"$out" || fail "job trace lacks '$step'"
done
# Rotated files (LOG_MAX_BYTES: `….log.{timestamp}`) are read too: the same
# job's lines, moved into one, still make the same timeline.
rotated=$(mktemp -d)
"$ROOT/scripts/trace" "$jcid" --json | jq -c '.[]' >"$rotated/worker-service-x.log.20260101T000000"
LOG_DIR="$rotated" "$ROOT/scripts/trace" "$jcid" | grep -q "POST /worker/tasks" || fail "a rotated file is not read"
rm -rf "$rotated"
echo "trace passes"
