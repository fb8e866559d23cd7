#!/usr/bin/env bash
# One parser for a group: every body the synchronous suggestion endpoint
# refuses with 400, POST /worker/tasks refuses with the same 400 (same
# locations, messages and types) before any job exists.
source "$(dirname "$0")/_lib.bash"

a="same.a.$RUN_TAG@example.com"
b="same.b.$RUN_TAG@example.com"
pair="\"$a\",\"$b\""
many=$(mktemp)
trap 'rm -f "$many"' EXIT
python3 -c 'import json; print(json.dumps({"users": ["u%d@example.com" % i for i in range(1001)]}))' >"$many"

bodies=(
    '{"users":[]}'
    '{"users":["only@example.com"]}'
    '{}'
    "{\"users\":[\"$a\",\"a@b\"]}"
    "{\"userId1\":\"$a\"}"
    "{\"userId1\":\"$a\",\"userId2\":\"$a\"}"
    "{\"users\":[$pair],\"userId1\":\"$a\"}"
    "{\"users\":[$pair],\"days\":0}"
    "{\"users\":[$pair],\"days\":\"seven\"}"
    "{\"users\":[$pair],\"from\":\"9999-12-31\",\"days\":366}"
    "{\"users\":[$pair],\"from\":\"2026-02-30\"}"
    "{\"users\":[$pair],\"tz\":\"Mars/Base\"}"
    "{\"users\":[$pair],\"min_attendees\":3}"
    "{\"users\":[$pair],\"required\":[\"c@example.com\"]}"
    "{\"users\":[$pair],\"duration\":7}"
    "{\"users\":[$pair],\"count\":51}"
    "{\"users\":[$pair],\"step\":3}"
    "{\"users\":[$pair],\"preference\":\"soonest\"}"
    "{\"users\":[$pair],\"seed\":-1}"
    "@$many"
)
for body in "${bodies[@]}"; do
    req POST /suggestion/suggestions "$body"
    expect_error 400 "suggestion refuses ${body:0:80}"
    sync_detail=$(jq -c .detail <<<"$BODY")
    req POST /worker/tasks "$body"
    expect_error 400 "worker refuses ${body:0:80}"
    job_detail=$(jq -c .detail <<<"$BODY")
    [ "$sync_detail" = "$job_detail" ] \
        || fail "different 400 for ${body:0:80}: suggestion $sync_detail, worker $job_detail"
done
echo "the worker refuses ${#bodies[@]} bad groups exactly as suggestion-service does"
