#!/usr/bin/env bash
# The web app in a real headless Chromium (Debian's chromium, driven by
# playwright-core; web/e2e/): three people sign up, paint their weeks (mouse
# drag, touch, keyboard alone), share, see the group heatmap, run a job,
# book a suggestion, answer the invite, download the .ics, use the feed,
# RSVP; axe-core on every page. Each service's /docs (Swagger UI) lists
# its operations and Try it out answers through the gateway. Then the error path: every
# availability-service replica stopped → the page shows a readable message
# with the Case-ID the gateway logged; scripts/up brings them back.
# Screenshots of every step: $W2MEET_SCREENSHOTS (default
# target/web-screenshots).
source "$(dirname "$0")/_lib.bash"

command -v chromium >/dev/null || fail "chromium is not installed (scripts/test installs Debian's chromium)"
[ -d "$ROOT/web/node_modules" ] || fail "web/node_modules is missing (scripts/up runs npm ci)"
# How the gateway serves the app: index.html never cached, with the CSP;
# hashed assets immutable, typed, gzipped; nothing else is a file.
req GET /
expect_status 200 "the web app at /"
[ "$(header cache-control)" = no-cache ] || fail "/: Cache-Control $(header cache-control)"
[[ "$(header content-type)" == text/html* ]] || fail "/: Content-Type $(header content-type)"
[[ "$(header content-security-policy)" == *"script-src 'self'"* ]] || fail "/: no CSP"
[ -n "$(header case-id)" ] || fail "/: no Case-ID"
asset=$(grep -o '/assets/[^"]*\.js' <<<"$BODY" | head -n1)
[ -n "$asset" ] || fail "index.html names no script under /assets/"
req GET "$asset" "" -H 'Accept-Encoding: gzip' -o /dev/null
expect_status 200 "the script $asset"
[ "$(header cache-control)" = "public, max-age=31536000, immutable" ] || fail "$asset: Cache-Control $(header cache-control)"
[ "$(header content-type)" = text/javascript ] || fail "$asset: Content-Type $(header content-type)"
[ "$(header content-encoding)" = gzip ] || fail "$asset: not gzipped"
[ "$(header vary)" = Accept-Encoding ] || fail "$asset: no Vary: Accept-Encoding"
req GET /assets/nothing-here.js
expect_error 404 "an unknown asset"
req GET /index.html
expect_error 404 "/index.html (only / serves it)"
req POST / '{}'
expect_error 405 "POST /"
[ "$(header allow)" = "GET, HEAD" ] || fail "POST /: Allow $(header allow)"

export W2MEET_URL="$GATEWAY"
export W2MEET_SCREENSHOTS="${W2MEET_SCREENSHOTS:-$ROOT/target/web-screenshots}"
export W2MEET_ACCESS_LOG="$RUN_DIR/logs/gateway-access.log"
cd "$ROOT/web"
npx vitest run --config vitest.e2e.config.ts e2e/app.e2e.ts || fail "the browser flow failed (screenshots: $W2MEET_SCREENSHOTS)"
# Every service's /docs: Swagger UI, Try it out through the gateway.
npx vitest run --config vitest.e2e.config.ts e2e/docs.e2e.ts || fail "the interactive API docs failed"

# Every availability-service replica stopped for good.
stop_replicas availability-service
status=0
npx vitest run --config vitest.e2e.config.ts e2e/errors.e2e.ts || status=$?
"$ROOT/scripts/up" --replicas 2 >/dev/null 2>&1 || fail "scripts/up could not restart availability-service"
[ "$status" = 0 ] || fail "the error path failed (screenshots: $W2MEET_SCREENSHOTS)"
req GET "/availability/availabilities?userId1=nobody.$RUN_TAG@example.com&userId2=none.$RUN_TAG@example.com"
expect_error 404 "availability-service back (two unknown users)"
echo "web passes; screenshots in $W2MEET_SCREENSHOTS"
