#!/usr/bin/env bash
# Watches through the gateway (SPEC §10), with every real service: a watch
# over two people fires quorum_reached when one of them frees the common
# hour, nothing for a change that leaves the best meeting as it is, and
# quorum_lost when a meeting booked through meeting-service takes that
# hour (meeting-service's event → user-service's busy time → user.changed
# → the watch). A receiver written as a customer would (Python's hmac)
# verifies every signature.
source "$(dirname "$0")/_lib.bash"

ann="wa.$RUN_TAG@example.com"
bob="wb.$RUN_TAG@example.com"
create_user "$ann" '{"monday":[9]}'
create_user "$bob" '{"monday":[10]}'

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 "$ROOT/tests/webhook_receiver.py" "$port" "$dir/secret" "$dir/got" &
receiver=$!
trap 'kill $receiver 2>/dev/null; rm -rf "$dir"' EXIT

req POST /worker/watches "{\"users\":[\"$ann\",\"$bob\"],\"duration\":60,\"from\":\"2031-03-03\",\"days\":7,\"callback_url\":\"http://127.0.0.1:$port/hook\"}"
expect_status 201 "create a watch"
id=$(jq -r .watch_id <<<"$BODY")
jq -r .secret <<<"$BODY" >"$dir/secret"
jq -e '.outcome == {"quorum": false, "best": null} and .status == "active"' <<<"$BODY" >/dev/null \
    || fail "a new watch over people never free together: $BODY"

events() { [ -f "$dir/got" ] && jq -s -c '[.[] | .event.type]' "$dir/got" || echo '[]'; }
wait_events() { # wait_events JSON_LIST
    for _ in $(seq 1 150); do [ "$(events)" = "$1" ] && return 0; sleep 0.1; done
    fail "webhooks: expected $1, got $(events)"
}

# bob frees Monday 9:00: the quorum is reached.
req PUT "/users/users/$bob" '{"availabilities":{"monday":[9,10]}}'
expect_status 200 "bob frees 9:00"
wait_events '["quorum_reached"]'
jq -s -e 'all(.verified and (.duplicate | not))' "$dir/got" >/dev/null || fail "an unverified webhook: $(cat "$dir/got")"
jq -s -e --arg id "$id" '.[0].event | .watch_id == $id and .seq == 1 and .best_slot.start == "2031-03-03T09:00:00Z"' \
    "$dir/got" >/dev/null || fail "quorum_reached body: $(cat "$dir/got")"

# A change that leaves the best meeting as it is: evaluated, no event.
req GET "/worker/watches/$id"
before=$(jq .evaluations <<<"$BODY")
req PUT "/users/users/$bob" '{"availabilities":{"monday":[9,10,11]}}'
expect_status 200 "bob adds 11:00"
for _ in $(seq 1 150); do
    req GET "/worker/watches/$id"
    [ "$(jq .evaluations <<<"$BODY")" -gt "$before" ] && break
    sleep 0.1
done
[ "$(jq .evaluations <<<"$BODY")" -gt "$before" ] || fail "the change was never evaluated: $BODY"
[ "$(events)" = '["quorum_reached"]' ] || fail "a change that did not alter the outcome fired: $(events)"

# A meeting takes ann's only hour: the quorum is lost.
req POST /meetings/meetings "{\"title\":\"Elsewhere\",\"organizer\":\"$ann\",\"attendees\":[\"$bob\"],\"start\":\"2031-03-03T09:00:00Z\",\"end\":\"2031-03-03T10:00:00Z\"}"
expect_status 201 "book ann's hour"
wait_events '["quorum_reached","quorum_lost"]'
jq -s -e 'all(.verified)' "$dir/got" >/dev/null || fail "an unverified webhook: $(cat "$dir/got")"

req GET "/worker/watches/$id"
expect_status 200 "read the watch"
jq -e '[.events[] | [.seq, .type, .status]] == [[1,"quorum_reached","delivered"],[2,"quorum_lost","delivered"]]' \
    <<<"$BODY" >/dev/null || fail "the watch's events: $BODY"
jq -e 'has("secret") | not' <<<"$BODY" >/dev/null || fail "GET shows the secret"

req POST /worker/watches '{"users":["a@example.com"],"callback_url":"nope"}'
expect_error 400 "a bad watch"
req DELETE "/worker/watches/$id"
expect_status 204 "delete the watch"
req GET "/worker/watches/$id"
expect_error 404 "a deleted watch"
echo "ok: watches fire on changes of outcome, signed and in order"
