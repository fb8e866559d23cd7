#!/usr/bin/env bash
# The whole workflow: users → cached read → availability → suggestion → job.
source "$(dirname "$0")/_lib.bash"

a="ann.$RUN_TAG@example.com"
b="bob.$RUN_TAG@example.com"
create_user "$a" '{"monday":[9,10,11],"wednesday":["14:00-16:00"]}'
create_user "$b" '{"monday":[10,11,12],"wednesday":["15:00-17:00"]}' last

req GET "/users/users/$a"
expect_status 200 "first read"
[ "$(header x-cache)" = MISS ] || fail "first read should MISS, got $(header x-cache)"
req GET "/users/users/$a"
[ "$(header x-cache)" = HIT ] || fail "second read should HIT, got $(header x-cache)"
req GET "/users/user-avail/cache-aside?user1email=$a"
expect_status 200 "original cache-aside read"
jq -e '.availabilities.monday == [9,10,11]' <<<"$BODY" >/dev/null || fail "cache-aside record: $BODY"

# The original requests get the original bodies exactly (plus the Case-ID):
# whole objects compared, no field more or less.
req GET "/availability/availabilities?userId1=$a&userId2=$b"
expect_status 200 "availability"
jq -e --arg c "$(header case-id)" '. == {
        case_id: $c,
        common_availabilities: {monday: [10,11], tuesday: [], wednesday: [15], thursday: [],
                                friday: [], saturday: [], sunday: []},
        user1preference: "first", user2preference: "last"}' <<<"$BODY" >/dev/null \
    || fail "original availability answer: $BODY"

req GET "/suggestion/suggestions?userId1=$a&userId2=$b"
expect_status 200 "suggestion"
jq -e --arg c "$(header case-id)" '. == {case_id: $c, suggestions: [
        {day: "monday", slot: [10,11]}, {day: "wednesday", slot: [15,16]}]}' <<<"$BODY" >/dev/null \
    || fail "original suggestion answer: $BODY"

# The group form of the same question gets the rich answer.
req GET "/suggestion/suggestions?users=$a,$b"
expect_status 200 "group suggestion"
jq -e --arg a "$a" --arg b "$b" '.suggestions[0].slot == [10,11] and .suggestions[0].attendees == [$a, $b]
       and .empty_reason == null and (.alternatives | length == 0)' <<<"$BODY" >/dev/null \
    || fail "group suggestion answer: $BODY"

req POST /worker/tasks "{\"userId1\":\"$a\",\"userId2\":\"$b\",\"preference\":\"first\"}"
expect_status 202 "submit job"
job=$(jq -r .job_id <<<"$BODY")
jq -e '.status == "enqueued" and (.queue | length > 0)' <<<"$BODY" >/dev/null || fail "submit answer: $BODY"
for _ in $(seq 1 150); do
    req GET "/worker/tasks/$job"
    status=$(jq -r .status <<<"$BODY")
    [ "$status" = succeeded ] && break
    [ "$status" = failed ] && fail "job failed: $BODY"
    sleep 0.1
done
[ "$status" = succeeded ] || fail "job did not finish: $BODY"
# The original job body's stored result keeps the original shape exactly.
jq -e '.result == {case_id: .case_id, suggestions: [{day: "monday", slot: [10,11]}]}
       and .attempts >= 1' <<<"$BODY" >/dev/null || fail "job result: $BODY"
echo "workflow passes (job $job)"
