#!/usr/bin/env bash
# Every /health through the gateway.
source "$(dirname "$0")/_lib.bash"

req GET /health
expect_status 200 "gateway /health"
[ "$BODY" = ok ] || fail "gateway /health says '$BODY'"
for svc in users availability suggestion worker meetings; do
    req GET "/$svc/health"
    expect_status 200 "/$svc/health"
    jq -e '.status == "healthy" and (.dependencies | length > 0)
           and ([.dependencies[] | .status == "healthy" and (.response_time_ms | type == "number")] | all)' \
        <<<"$BODY" >/dev/null || fail "/$svc/health: $BODY"
    req GET "/$svc/openapi.json"
    expect_status 200 "/$svc/openapi.json"
    jq -e '.openapi | startswith("3.")' <<<"$BODY" >/dev/null || fail "/$svc/openapi.json is not OpenAPI 3"
    # Every operation takes the Case-ID header and every answer names it.
    jq -e '[.paths[][] | [.parameters[]? | select(.in == "header" and .name == "Case-ID")] | length == 1] | all' \
        <<<"$BODY" >/dev/null || fail "/$svc/openapi.json: an operation does not document the Case-ID header"
    jq -e '[.paths[][] | .responses[] | .headers["Case-ID"] != null] | all' \
        <<<"$BODY" >/dev/null || fail "/$svc/openapi.json: an answer does not document its Case-ID header"
    if [ "$svc" = users ]; then
        jq -e '.paths["/users/{email}"].get.responses["200"].headers | has("ETag") and has("X-Cache")' \
            <<<"$BODY" >/dev/null || fail "/users/openapi.json: GET /users/{email} should document ETag and X-Cache"
    fi
    # The public base path, and one distinct, descriptive operationId each.
    jq -e --arg p "/$svc" '.servers[0].url == $p' <<<"$BODY" >/dev/null || fail "/$svc/openapi.json: servers should name $svc's gateway path"
    jq -e '[.paths[][] | .operationId] | (length == (unique | length))
           and all(. as $id | ["get","post","put","delete","list","add","remove","me","by_path","by_query"] | index($id) | not)' \
        <<<"$BODY" >/dev/null || fail "/$svc/openapi.json: operationIds must be distinct and descriptive: $(jq -c '[.paths[][] | .operationId]' <<<"$BODY")"
    req GET "/$svc/docs"
    expect_status 200 "/$svc/docs"
    grep -q 'href="openapi.json"' <<<"$BODY" || fail "/$svc/docs does not link its document"
    # Swagger UI, interactive, its files from the service itself (relative
    # links: they work under the gateway's prefix).
    grep -q 'src="docs/swagger-ui-bundle.js"' <<<"$BODY" || fail "/$svc/docs is not Swagger UI"
    req GET "/$svc/docs/swagger-ui-bundle.js" "" -o /dev/null
    expect_status 200 "/$svc/docs/swagger-ui-bundle.js"
    req GET "/$svc/docs/plain"
    expect_status 200 "/$svc/docs/plain"
    # Metrics are for the operator: not through the public gateway (the same
    # JSON 404 as any unknown path, however the path is spelled), but on
    # each replica's own port.
    for path in "/$svc/metrics" "/$svc/metrics?x=1" "/$svc/%6detrics" "/$svc/metrics/"; do
        req GET "$path"
        expect_error 404 "$path through the gateway"
    done
    req GET "/$svc/livez"
    expect_status 200 "/$svc/livez"
    req GET "/$svc/readyz"
    expect_status 200 "/$svc/readyz"
    jq -e '.status == "ready"' <<<"$BODY" >/dev/null || fail "/$svc/readyz: $BODY"
done
for name in user-service-1 availability-service-1 suggestion-service-1 worker-api-1 meeting-service-1; do
    port=$(bind_addr "$name")
    body=$(curl -fsS --max-time 5 "http://$port/metrics") || fail "$name: no /metrics on its own port"
    grep -q '^http_requests_total' <<<"$body" || fail "$name /metrics has no request counter"
done
echo "all health checks pass"
