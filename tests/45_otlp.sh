#!/usr/bin/env bash
# OTLP export: one request through the gateway → suggestion → availability
# → user-service makes one trace of correctly parented spans at the
# receiver scripts/test runs (tests/otlp_receiver.py, $OTLP_RECEIVED).
source "$(dirname "$0")/_lib.bash"
[ -n "${OTLP_RECEIVED:-}" ] || fail "needs the stack scripts/test starts, exporting to tests/otlp_receiver.py (OTLP_RECEIVED unset)"

a="otlp1.$RUN_TAG@example.com"
b="otlp2.$RUN_TAG@example.com"
create_user "$a" '{"monday":[9,10]}'
create_user "$b" '{"monday":[10,11]}'
trace=$(python3 -c 'import uuid; print(uuid.uuid4().hex)')
caller=00f067aa0ba902b7
req GET "/suggestion/suggestions?userId1=$a&userId2=$b" "" -H "traceparent: 00-$trace-$caller-01"
expect_status 200 "suggestion with a traceparent"

# The receiver's lines, flattened to one object per span of this trace.
spans() {
    jq -c --arg t "$trace" '
        .resourceSpans[]
        | (.resource.attributes[] | select(.key == "service.name") | .value.stringValue) as $svc
        | .scopeSpans[].spans[] | select(.traceId == $t)
        | {service: $svc, name, kind, spanId, parentSpanId}' "$OTLP_RECEIVED" 2>/dev/null
}
for _ in $(seq 1 50); do   # batches leave every 0.5 s
    [ "$(spans | jq -s '[.[] | select(.name == "request") | .service] | unique | length')" = 3 ] && break
    sleep 0.2
done
all=$(spans | jq -s .)
echo "$all" | jq -c '.[] | select(.name == "request")'
request_of() { jq -c --arg s "$1" '[.[] | select(.name == "request" and .service == $s)] | first' <<<"$all"; }
suggestion=$(request_of suggestion-service)
availability=$(request_of availability-service)
user=$(request_of user-service)
for s in "$suggestion" "$availability" "$user"; do
    [ "$s" != null ] || fail "a service's request span is missing from trace $trace: $all"
done
# SERVER spans (kind 2), each the child of its caller's.
[ "$(jq -r .kind <<<"$suggestion")" = 2 ] || fail "request spans are not SERVER spans: $suggestion"
[ "$(jq -r .parentSpanId <<<"$suggestion")" = "$caller" ] || fail "suggestion's span is not the caller's child: $suggestion"
[ "$(jq -r .parentSpanId <<<"$availability")" = "$(jq -r .spanId <<<"$suggestion")" ] \
    || fail "availability's span is not suggestion's child: $availability vs $suggestion"
[ "$(jq -r .parentSpanId <<<"$user")" = "$(jq -r .spanId <<<"$availability")" ] \
    || fail "user-service's span is not availability's child: $user vs $availability"
echo "ok: one trace, suggestion → availability → user-service, correctly parented"
