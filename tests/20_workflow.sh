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

req GET "/availability/availabilities?userId1=$a&userId2=$b"
expect_status 200 "availability"
jq -e '.common_availabilities.monday == [10,11] and .common_availabilities.wednesday == [15]
       and .user1preference == "first" and .user2preference == "last"' <<<"$BODY" >/dev/null \
    || fail "availability answer: $BODY"

req GET "/suggestion/suggestions?userId1=$a&userId2=$b"
expect_status 200 "suggestion"
jq -e '.suggestions[0].day == "monday" and .suggestions[0].slot == [10,11]
       and .suggestions[1].day == "wednesday" and .suggestions[1].slot == [15,16]
       and .empty_reason == null' <<<"$BODY" >/dev/null || fail "suggestion answer: $BODY"

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
jq -e '.result.suggestions[0].slot == [10,11] and .attempts >= 1' <<<"$BODY" >/dev/null || fail "job result: $BODY"
echo "workflow passes (job $job)"
