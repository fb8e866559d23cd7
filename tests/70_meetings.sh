#!/usr/bin/env bash
# Meetings through the gateway (SPEC §7): three people, a suggestion booked
# as a meeting, invites answered, the double booking refused with who and
# what, the calendar, an ICS file and the feed parsed by Python's icalendar
# (an independent RFC 5545 parser), the history of events — and booked time
# flowing back: the booked slot is no longer suggested to a group with any
# of its attendees (within 2 s), and offered again once cancelled.
source "$(dirname "$0")/_lib.bash"

ann="ann.$RUN_TAG@example.com"
bob="bob.$RUN_TAG@example.com"
cat="cat.$RUN_TAG@example.com"
create_user "$ann" '{"monday":[9,10,11]}'
create_user "$bob" '{"monday":[10,11,12]}'
create_user "$cat" '{"monday":["10:00-12:00"]}'

# A suggestion for the three, booked as it is.
req POST /suggestion/suggestions "{\"users\":[\"$ann\",\"$bob\",\"$cat\"],\"from\":\"2031-03-03\",\"days\":7,\"count\":1}"
expect_status 200 "suggestion for three"
start=$(jq -r '.suggestions[0].start' <<<"$BODY")
end=$(jq -r '.suggestions[0].end' <<<"$BODY")
[ "$start" = "2031-03-03T10:00:00Z" ] || fail "expected Monday 10:00 UTC, got $start ($BODY)"

booking="{\"title\":\"Kick-off, phase 1\",\"organizer\":\"$ann\",\"attendees\":[\"$bob\",\"$cat\"],\"start\":\"$start\",\"end\":\"$end\"}"
req POST /meetings/meetings "$booking" -H 'Case-ID: meet-book-1' -H "Idempotency-Key: k-$RUN_TAG"
expect_status 201 "book the suggestion"
id=$(jq -r .id <<<"$BODY")
[ "$(header etag)" = '"1"' ] || fail "ETag of a new meeting: $(header etag)"
jq -e '[.attendees[].answer] == ["PENDING","PENDING"]' <<<"$BODY" >/dev/null || fail "invites not pending: $BODY"
req POST /meetings/meetings "$booking" -H "Idempotency-Key: k-$RUN_TAG"
expect_status 200 "the same booking again"
[ "$(jq -r .id <<<"$BODY")" = "$id" ] || fail "a replayed booking made another meeting"

# Booked time flows back into scheduling (meeting-service's event →
# user-service's busy time): within 2 s the slot is gone for any group with
# one of them in it.
first_start() { # first_start USERS_JSON: the best suggestion's start
    req POST /suggestion/suggestions "{\"users\":$1,\"from\":\"2031-03-03\",\"days\":1,\"count\":1}"
    jq -r '.suggestions[0].start // "none"' <<<"$BODY"
}
wait_for_start() { # wait_for_start USERS_JSON START WHAT
    local deadline=$((SECONDS + 2)) got
    while :; do
        got=$(first_start "$1")
        [ "$got" = "$2" ] && return 0
        [ $SECONDS -ge $deadline ] && fail "$3: the first suggestion is $got, not $2, 2 s after the change"
        sleep 0.1
    done
}
wait_for_start "[\"$ann\",\"$bob\",\"$cat\"]" "2031-03-03T11:00:00Z" "after the booking"
dan="dan.$RUN_TAG@example.com"
create_user "$dan" '{"monday":[10,11]}'
wait_for_start "[\"$bob\",\"$dan\"]" "2031-03-03T11:00:00Z" "a group with one attendee"

# Nobody of the three can be booked over it; the 409 says who and with what.
req POST /meetings/meetings "{\"title\":\"Clash\",\"organizer\":\"$cat\",\"start\":\"$start\",\"end\":\"$end\"}"
expect_error 409 "double booking"
jq -e --arg c "$cat" --arg id "$id" '.detail[0].loc[2] == $c and (.detail[0].msg | contains($id))' <<<"$BODY" >/dev/null \
    || fail "the conflict does not name $cat and meeting $id: $BODY"

req PUT "/meetings/meetings/$id/invites/$bob" '{"answer":"YES"}'
expect_status 200 "bob accepts"
req PUT "/meetings/meetings/$id/invites/$cat" '{"answer":"maybe"}'
expect_status 200 "cat answers maybe"
req PUT "/meetings/meetings/$id/invites/$cat" '{"answer":"sure"}'
expect_error 400 "not an answer"
req GET "/meetings/calendars/$bob?from=2031-03-01&to=2031-03-10"
expect_status 200 "bob's calendar"
jq -e --arg id "$id" '.meetings | length == 1 and .[0].id == $id and .[0].role == "attendee" and .[0].my_answer == "YES"' \
    <<<"$BODY" >/dev/null || fail "bob's calendar: $BODY"

# ICS, read back by an independent parser.
venv="$ROOT/target/icalendar-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import icalendar' 2>/dev/null; then
    python3 -m venv "$venv" >/dev/null 2>&1 || fail "python3 -m venv failed (apt-get install python3-venv)"
    "$venv/bin/pip" install -q 'icalendar>=5' >/dev/null || fail "could not install icalendar from PyPI"
fi
ics=$(mktemp)
trap 'rm -f "$ics"' EXIT
curl -fsS --max-time 10 "$GATEWAY/meetings/meetings/$id/event.ics" -o "$ics" || fail "no event.ics"
"$venv/bin/python" - "$ics" "$id" "$ann" "$bob" "$cat" <<'PY' || fail "event.ics does not read back"
import sys, icalendar
path, mid, ann, bob, cat = sys.argv[1:]
raw = open(path, "rb").read()
assert b"\r\n" in raw and all(len(l) <= 75 for l in raw.split(b"\r\n")), "CRLF lines of at most 75 octets"
cal = icalendar.Calendar.from_ical(raw)
events = [c for c in cal.walk("VEVENT")]
assert len(events) == 1, events
e = events[0]
assert str(e["UID"]) == f"{mid}@w2meet", e["UID"]
assert str(e["SUMMARY"]) == "Kick-off, phase 1", e["SUMMARY"]
assert e.decoded("DTSTART").isoformat() == "2031-03-03T10:00:00+00:00", e.decoded("DTSTART")
assert int(e["SEQUENCE"]) == 0
assert str(e["STATUS"]) == "CONFIRMED"
assert str(e["ORGANIZER"]) == f"mailto:{ann}"
assert e.get("DTSTAMP") is not None
parts = {str(a): a.params["PARTSTAT"] for a in e.get("ATTENDEE")}
assert parts == {f"mailto:{bob}": "ACCEPTED", f"mailto:{cat}": "TENTATIVE"}, parts
PY

# Rescheduled: every answer back to PENDING, SEQUENCE bumped; then cancelled.
req PATCH "/meetings/meetings/$id" '{"start":"2031-03-03T11:00:00Z","end":"2031-03-03T12:00:00Z"}' -H 'If-Match: "1"'
expect_error 412 "a stale If-Match"
req GET "/meetings/meetings/$id"
version=$(header etag)
req PATCH "/meetings/meetings/$id" '{"start":"2031-03-03T11:00:00Z","end":"2031-03-03T12:00:00Z"}' -H "If-Match: $version"
expect_status 200 "reschedule"
jq -e '[.attendees[].answer] == ["PENDING","PENDING"] and .sequence == 1' <<<"$BODY" >/dev/null || fail "reschedule: $BODY"
req DELETE "/meetings/meetings/$id"
expect_status 200 "cancel"
wait_for_start "[\"$ann\",\"$bob\",\"$cat\"]" "2031-03-03T10:00:00Z" "after the cancellation"
curl -fsS --max-time 10 "$GATEWAY/meetings/meetings/$id/event.ics" -o "$ics" || fail "no event.ics"
"$venv/bin/python" - "$ics" <<'PY' || fail "the cancelled event.ics does not read back"
import sys, icalendar
e = icalendar.Calendar.from_ical(open(sys.argv[1], "rb").read()).walk("VEVENT")[0]
assert str(e["STATUS"]) == "CANCELLED" and int(e["SEQUENCE"]) == 2, (e["STATUS"], e["SEQUENCE"])
PY

# The feed, with its token.
req POST "/meetings/calendars/$ann/feed-token"
expect_status 201 "feed token"
feed=$(jq -r .feed_path <<<"$BODY")
curl -fsS --max-time 10 "$GATEWAY$feed&from=2031-03-01" -o "$ics" || fail "no feed.ics at $feed"
"$venv/bin/python" - "$ics" "$id" <<'PY' || fail "feed.ics does not read back"
import sys, icalendar
cal = icalendar.Calendar.from_ical(open(sys.argv[1], "rb").read())
uids = [str(e["UID"]) for e in cal.walk("VEVENT")]
assert uids == [f"{sys.argv[2]}@w2meet"], uids
PY
req GET "/meetings/calendars/$ann/feed.ics?token=nope"
expect_error 401 "a wrong feed token"

# The history: every change, in order, the booking under its Case-ID.
req GET "/meetings/meetings/$id/history"
expect_status 200 "history"
jq -e '[.events[].type] == ["meeting.booked","invite.answered","invite.answered","meeting.rescheduled","meeting.cancelled"]
       and .events[0].case_id == "meet-book-1"' <<<"$BODY" >/dev/null || fail "history: $BODY"
# An auto-book job (a saga in the worker): the organizer eve is busy at the
# first two candidates — which scheduling cannot know, she is not in the
# group — so the worker books the third; scripts/trace shows every try.
eve="eve.$RUN_TAG@example.com"
create_user "$eve" '{}'
req POST /meetings/meetings "{\"title\":\"Eve's\",\"organizer\":\"$eve\",\"start\":\"2031-03-03T10:00:00Z\",\"end\":\"2031-03-03T11:00:00Z\"}"
expect_status 201 "eve's own meeting"
jcid="autobook-$RUN_TAG"
req POST /worker/tasks "{\"users\":[\"$ann\",\"$bob\"],\"from\":\"2031-03-03\",\"days\":1,\"book\":{\"title\":\"Auto\",\"organizer\":\"$eve\"}}" -H "Case-ID: $jcid"
expect_status 202 "auto-book job"
job=$(jq -r .job_id <<<"$BODY")
for _ in $(seq 1 150); do
    req GET "/worker/tasks/$job"
    status=$(jq -r .status <<<"$BODY")
    [ "$status" = succeeded ] || [ "$status" = failed ] && break
    sleep 0.1
done
[ "$status" = succeeded ] || fail "the auto-book job did not succeed: $BODY"
jq -e '[.result.booking.attempts[].outcome] == ["conflict","conflict","booked"]
       and .result.booking.meeting.start == "2031-03-03T11:00:00Z"
       and .result.booking.meeting.organizer != null' <<<"$BODY" >/dev/null \
    || fail "the saga's tries: $(jq -c .result.booking <<<"$BODY")"
trace_ok=0
for _ in $(seq 1 30); do
    out=$("$ROOT/scripts/trace" "$jcid" 2>&1) || true
    if grep -q 'POST /meetings -> 409' <<<"$out" && grep -q 'POST /meetings -> 201' <<<"$out" \
        && grep -q 'candidate booked' <<<"$out"; then trace_ok=1; break; fi
    sleep 0.5
done
[ "$trace_ok" = 1 ] || fail "scripts/trace $jcid does not show each try: $out"
echo "meetings: booked, answered, refused a double booking, ICS parsed, history complete"
