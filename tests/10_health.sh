#!/usr/bin/env bash
# Every /health through the gateway.
source "$(dirname "$0")/_lib.bash"

req GET /health
expect_status 200 "gateway /health"
[ "$BODY" = ok ] || fail "gateway /health says '$BODY'"
for svc in users availability suggestion worker; do
    req GET "/$svc/health"
    expect_status 200 "/$svc/health"
    jq -e '.status == "healthy" and (.dependencies | length > 0)
           and ([.dependencies[] | .status == "healthy" and (.response_time_ms | type == "number")] | all)' \
        <<<"$BODY" >/dev/null || fail "/$svc/health: $BODY"
    req GET "/$svc/openapi.json"
    expect_status 200 "/$svc/openapi.json"
    jq -e '.openapi | startswith("3.")' <<<"$BODY" >/dev/null || fail "/$svc/openapi.json is not OpenAPI 3"
    req GET "/$svc/docs"
    expect_status 200 "/$svc/docs"
    grep -q 'href="openapi.json"' <<<"$BODY" || fail "/$svc/docs does not link its document"
    req GET "/$svc/metrics"
    grep -q '^http_requests_total' <<<"$BODY" || fail "/$svc/metrics has no request counter"
done
echo "all health checks pass"
