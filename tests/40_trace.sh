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

# W3C trace context beside the Case-ID: a caller's traceparent is carried
# through the gateway to every service, whose lines all name its trace id.
tid="4bf92f3577b34da6a3ce929d0e0e$(printf '%04x' $((RANDOM % 65536)))"
tcid="w3c-$RUN_TAG"
req GET "/suggestion/suggestions?userId1=$a&userId2=$b" "" -H "Case-ID: $tcid" \
    -H "traceparent: 00-$tid-00f067aa0ba902b7-01" -H "tracestate: w2m=e2e"
expect_status 200 "suggestion with a traceparent"
for _ in $(seq 1 50); do
    "$ROOT/scripts/trace" "$tcid" --json 2>/dev/null | jq -e 'map(select(.service == "user-service")) | length > 0' >/dev/null && break
    sleep 0.1
done
lines=$("$ROOT/scripts/trace" "$tcid" --json)
for svc in suggestion-service availability-service user-service; do
    jq -e --arg s "$svc" 'map(select(.service == $s)) | length > 0' <<<"$lines" >/dev/null || fail "no $svc line for $tcid"
done
jq -e --arg t "$tid" 'map(select(.service != null and .service != "gateway")) | all(.trace_id == $t)' <<<"$lines" >/dev/null \
    || fail "a service line without the caller's trace id $tid: $(jq -c 'map({service, trace_id})' <<<"$lines")"
# Without one, each request starts a trace of its own, still on every line.
jq -e 'map(select(.service == "suggestion-service")) | all(.trace_id | test("^[0-9a-f]{32}$"))' \
    <<<"$("$ROOT/scripts/trace" "$cid" --json)" >/dev/null || fail "lines without a trace_id"
if "$ROOT/scripts/trace" "no-such-id-$RUN_TAG" >/dev/null 2>&1; then fail "unknown id should exit 1"; fi

jcid="job-$RUN_TAG"
jtid="7af92f3577b34da6a3ce929d0e0e$(printf '%04x' $((RANDOM % 65536)))"
req POST /worker/tasks "{\"users\":[\"$a\",\"$b\"],\"count\":2,\"preference\":\"first\"}" -H "Case-ID: $jcid" \
    -H "traceparent: 00-$jtid-00f067aa0ba902b7-01"
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
# The job joins the submitter's trace: the consumer's lines (through the
# queue) and the services it called name the same trace id.
jq -e --arg t "$jtid" 'map(select(.service != null and .service != "gateway")) | (length > 3) and all(.trace_id == $t)' \
    <<<"$("$ROOT/scripts/trace" "$jcid" --json)" >/dev/null \
    || fail "a job line without the submitter's trace id: $("$ROOT/scripts/trace" "$jcid" --json | jq -c 'map({service, instance, trace_id})')"
# Rotated files (LOG_MAX_BYTES: `….log.{timestamp}`) are read too: the same
# job's lines, moved into one, still make the same timeline.
rotated=$(mktemp -d)
"$ROOT/scripts/trace" "$jcid" --json | jq -c '.[]' >"$rotated/worker-service-x.log.20260101T000000"
LOG_DIR="$rotated" "$ROOT/scripts/trace" "$jcid" | grep -q "POST /worker/tasks" || fail "a rotated file is not read"
rm -rf "$rotated"
echo "trace passes"
