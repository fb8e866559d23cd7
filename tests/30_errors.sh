#!/usr/bin/env bash
# Error handling through every service: the JSON error body with the Case-ID.
source "$(dirname "$0")/_lib.bash"

ghost="ghost.$RUN_TAG@example.com"
a="err.$RUN_TAG@example.com"
create_user "$a" '{"monday":[9]}'

req GET "/users/users/$ghost"
expect_error 404 "unknown user at user-service"
req GET "/availability/availabilities?userId1=$a&userId2=$ghost"
expect_error 404 "unknown user at availability-service"
jq -e '.detail[0].msg == "One or both users not found"' <<<"$BODY" >/dev/null || fail "404 message: $BODY"
grep -q "$ghost" <<<"$BODY" || fail "the unknown user is not named: $BODY"
req GET "/suggestion/suggestions?userId1=$a&userId2=$ghost"
expect_error 404 "unknown user at suggestion-service"
req GET /worker/tasks/00000000-0000-0000-0000-000000000000
expect_error 404 "unknown job"

req POST /users/users '{"email":"not-an-email"}'
expect_error 400 "invalid email"
req POST /users/users '{"email": 5'
expect_error 400 "malformed JSON"
req POST /users/users "{\"email\":\"x.$RUN_TAG@example.com\",\"availabilities\":{\"funday\":[1]}}"
expect_error 400 "unknown day"
req GET "/availability/availabilities?userId1=$a"
expect_error 400 "one user"
req GET "/suggestion/suggestions?userId1=$a&userId2=$a&duration=7"
expect_error 400 "bad duration"
req POST /worker/tasks '{"users":["only-one@example.com"]}'
expect_error 400 "job with one user"

req GET /nowhere
expect_error 404 "unknown gateway route"
req GET /users/nowhere
expect_error 404 "unknown service route"
req DELETE /availability/availabilities
expect_error 405 "wrong method"

big=$(mktemp)
{ printf '{"email":"big@example.com","name":"'; head -c 1100000 /dev/zero | tr '\0' 'a'; printf '"}'; } >"$big"
req POST /users/users "@$big"
rm -f "$big"
expect_error 413 "body over the gateway's limit"

# Large bodies and answers pass the gateway (held in memory, no temp files):
# 1000 emails in, 1000 missing out.
many=$(mktemp)
{ printf '{"emails":['; for i in $(seq 1 1000); do [ "$i" = 1 ] || printf ','; printf '"nobody-%s-%s@example.com"' "$i" "$RUN_TAG"; done; printf ']}'; } >"$many"
req POST /users/users/batch "@$many"
expect_status 200 "batch read of 1000 users through the gateway"
jq -e '(.missing | length) == 1000' <<<"$BODY" >/dev/null || fail "batch answer: $(head -c 300 <<<"$BODY")"
{ printf '{"users":["%s",' "$a"; for i in $(seq 1 600); do [ "$i" = 1 ] || printf ','; printf '"nobody-%s-%s@example.com"' "$i" "$RUN_TAG"; done; printf ']}'; } >"$many"
req POST /availability/availabilities "@$many"
expect_error 404 "600 unknown users in a 30 kB body"
rm -f "$many"

# Case-ID: kept when valid, replaced when not, echoed either way.
req GET "/users/users/$a" "" -H "Case-ID: e2e-$RUN_TAG"
[ "$(header case-id)" = "e2e-$RUN_TAG" ] || fail "valid Case-ID not echoed: $(header case-id)"
req GET "/users/users/$a" "" -H "Case-ID: bad id with spaces"
cid=$(header case-id)
[ -n "$cid" ] && [ "$cid" != "bad id with spaces" ] || fail "invalid Case-ID not replaced: $cid"
long=$(head -c 10000 /dev/zero | tr '\0' 'x')
req GET "/users/users/$a" "" -H "Case-ID: $long"
[ "$(header case-id | wc -c)" -lt 200 ] || fail "a 10 000-character Case-ID was kept"
echo "error handling passes"
