#!/usr/bin/env bash
# Accounts through the gateway (SPEC §6): register, log in, change your own
# availability, fail to change someone else's (403), share, read as the
# viewer; group answers count a claimed person the caller may not see; a
# client cannot pose as a service through the gateway.
source "$(dirname "$0")/_lib.bash"

ann="ann.$RUN_TAG@example.com"
bob="bob.$RUN_TAG@example.com"
pw="correct horse battery $RUN_TAG"

req POST /users/auth/register "{\"email\":\"$ann\",\"password\":\"$pw\",\"name\":\"Ann\"}"
expect_status 201 "register ann"
jq -e '.profile == "created" and .token_type == "Bearer" and (.access_token | length > 20)' <<<"$BODY" >/dev/null \
    || fail "registration answer: $BODY"
create_user "$bob" '{"monday":[9,10]}'
req POST /users/auth/register "{\"email\":\"$bob\",\"password\":\"$pw\"}"
expect_status 201 "register bob (claims his profile)"
jq -e '.profile == "claimed"' <<<"$BODY" >/dev/null || fail "bob's profile should be claimed: $BODY"

req POST /users/auth/login "{\"email\":\"$ann\",\"password\":\"$pw\"}"
expect_status 200 "login ann"
ann_token=$(jq -r .access_token <<<"$BODY")
ann_refresh=$(jq -r .refresh_token <<<"$BODY")
req POST /users/auth/login "{\"email\":\"$bob\",\"password\":\"$pw\"}"
bob_token=$(jq -r .access_token <<<"$BODY")

# Unknown email and wrong password: the same answer.
req POST /users/auth/login "{\"email\":\"nobody.$RUN_TAG@example.com\",\"password\":\"$pw\"}" -H 'Case-ID: same'
unknown="$STATUS $BODY"
req POST /users/auth/login "{\"email\":\"$ann\",\"password\":\"not the password\"}" -H 'Case-ID: same'
[ "$STATUS $BODY" = "$unknown" ] || fail "unknown email ($unknown) and wrong password ($STATUS $BODY) differ"
expect_error 401 "wrong password"

# Ann changes her own availability; nobody else can.
req PUT "/users/users/$ann" '{"name":"Ann","availabilities":{"monday":[10,11]}}' -H "Authorization: Bearer $ann_token"
expect_status 200 "ann changes her own availability"
req PUT "/users/users/$ann" '{"availabilities":{"monday":[1]}}'
expect_error 401 "anonymous change of a claimed profile"
req PUT "/users/users/$ann" '{"availabilities":{"monday":[1]}}' -H "Authorization: Bearer $bob_token"
expect_error 403 "bob changing ann's profile"
req DELETE "/users/users/$ann" "" -H "Authorization: Bearer $bob_token"
expect_error 403 "bob deleting ann's profile"

# Bob may not read Ann's pattern until she shares it.
req GET "/users/users/$ann" "" -H "Authorization: Bearer $bob_token"
expect_error 403 "bob reading ann before sharing"
req PUT "/users/users/$ann/shares/$bob" "" -H "Authorization: Bearer $ann_token"
expect_status 200 "ann shares with bob"
req GET "/users/users/$ann" "" -H "Authorization: Bearer $bob_token"
expect_status 200 "bob reading ann after sharing"
jq -e '.availabilities.monday == [10,11]' <<<"$BODY" >/dev/null || fail "bob sees ann's pattern: $BODY"
req GET "/users/users/$bob" "" -H "Authorization: Bearer $ann_token"
expect_error 403 "sharing is one-way"

# Group answers: anonymous callers see the two claimed people as a count.
req GET "/suggestion/suggestions?users=$ann,$bob&from=2026-11-23&count=1&preference=best"
expect_status 200 "anonymous group suggestion"
jq -e '.suggestions[0].attendees == [] and .suggestions[0].hidden_attendees == 2' <<<"$BODY" >/dev/null \
    || fail "anonymous suggestion should count, not name: $BODY"
! grep -q "$ann" <<<"$BODY" || fail "the anonymous answer names ann: $BODY"
req GET "/suggestion/suggestions?users=$ann,$bob&from=2026-11-23&count=1&preference=best" "" \
    -H "Authorization: Bearer $bob_token"
jq -e --arg a "$ann" --arg b "$bob" '.suggestions[0].attendees == [$a, $b]' <<<"$BODY" >/dev/null \
    || fail "bob sees himself and ann (shared): $BODY"

# A client cannot pose as a service through the gateway, even with the real
# credential: the gateway drops the header, so this is an anonymous read
# (401), not a service's (200).
token_file="$RUN_DIR/secrets/service-token"
[ -s "$token_file" ] || fail "no service credential at $token_file"
req GET "/users/users/$ann" "" -H "W2Meet-Service-Token: $(cat "$token_file")" -H "W2Meet-Viewer: $ann"
expect_error 401 "the service credential sent by a client through the gateway"

# Keys, refresh, logout.
req GET /users/.well-known/jwks.json
expect_status 200 "jwks"
jq -e '.keys[0].kty == "OKP" and .keys[0].crv == "Ed25519" and (.keys[0] | has("d") | not)' <<<"$BODY" >/dev/null \
    || fail "jwks: $BODY"
req POST /users/auth/refresh "{\"refresh_token\":\"$ann_refresh\"}"
expect_status 200 "refresh"
req POST /users/auth/refresh "{\"refresh_token\":\"$ann_refresh\"}"
expect_error 401 "a reused refresh token"
req GET /users/auth/me "" -H "Authorization: Bearer $ann_token"
expect_status 200 "me"
jq -e --arg a "$ann" --arg b "$bob" '.email == $a and .shared_with == [$b] and .name == "Ann"' <<<"$BODY" >/dev/null \
    || fail "me: $BODY"
echo "accounts ok"
