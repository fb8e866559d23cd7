#!/usr/bin/env bash
# deploy/k8s, offline: both overlays render, match the Kubernetes schemas and
# the platform's rules (scripts/k8s validate); each rule the check relies on
# fails when broken in a copy; and the `migrate` command each Job runs works
# on an empty database with the stack's binaries.
source "$(dirname "$0")/_lib.bash"
source "$ROOT/scripts/lib.sh"

"$ROOT/scripts/k8s" validate || fail "scripts/k8s validate"

# sabotaged DESCRIPTION EXPECTED PYTHON: a copy of deploy/k8s edited by
# PYTHON (with `base` = its base/ folder, `edit(file, old, new)`) must fail
# validation with EXPECTED in the output.
sabotaged() {
    local what=$1 expected=$2 edit=$3 copy out
    copy=$(mktemp -d)
    cp -r "$ROOT/deploy/k8s" "$copy/"
    python3 - "$copy/k8s" "$edit" <<'EOF' || fail "could not sabotage: $what"
import sys
root, code = sys.argv[1], sys.argv[2]
def edit(path, old, new):
    p = f"{root}/{path}"
    s = open(p).read()
    assert old in s, f"{old!r} not in {path}"
    open(p, "w").write(s.replace(old, new, 1))
exec(code)
EOF
    if out=$("$ROOT/scripts/k8s" validate "$copy/k8s" 2>&1); then
        rm -rf "$copy"
        fail "validation passed with $what"
    fi
    rm -rf "$copy"
    grep -qF -- "$expected" <<<"$out" || fail "$what: expected '$expected' in: $out"
}
sabotaged "a misspelt field" "Additional properties are not allowed" \
    'edit("base/gateway.yaml", "      maxSurge: 1", "      maxSurge: 1\n      maxSurges: 1")'
sabotaged "no readiness probe" "no readinessProbe" \
    'edit("base/service-defaults.yaml", "          readinessProbe:", "          x-readinessProbe:")
edit("base/service-defaults.yaml", "          x-readinessProbe:\n            httpGet:\n              path: /readyz\n              port: http\n            periodSeconds: 5\n            timeoutSeconds: 3\n            failureThreshold: 2\n", "")'
sabotaged "replicas migrating themselves" "DB_MIGRATE is not external" \
    'edit("base/kustomization.yaml", "DB_MIGRATE=external", "DB_MIGRATE=start")'
sabotaged "a database without its migration Job" "no Job migrates meetings-database-url" \
    'edit("base/migrate.yaml", "key: meetings-database-url", "key: jobs-database-url")'
sabotaged "a password in the ConfigMap" "carries credentials" \
    'edit("base/kustomization.yaml", "      - RUST_LOG=info", "      - RUST_LOG=info\n      - REDIS_URL=redis://:hunter2@redis:6379")'
sabotaged "a Deployment with no budget" "no PodDisruptionBudget" \
    'edit("base/suggestion-service.yaml", "kind: PodDisruptionBudget\nmetadata:\n  name: suggestion-service\nspec:\n  maxUnavailable: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: suggestion-service", "kind: PodDisruptionBudget\nmetadata:\n  name: suggestion-service\nspec:\n  maxUnavailable: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: nothing")'
sabotaged "an unpinned production image" "is not pinned" \
    'edit("overlays/prod/kustomization.yaml", "  - name: w2meet/gateway\n    newTag: 0.1.0", "  - name: w2meet/gateway\n    newTag: latest")'
sabotaged "a gateway upstream with no Service" "no Service meeting-service on port 8001" \
    'edit("base/kustomization.yaml", "MEETING_SERVERS=meeting-service:8000", "MEETING_SERVERS=meeting-service:8001")'

# The Jobs' command: `SERVICE migrate` on an empty database applies every
# migration and exits 0 (the services then start with DB_MIGRATE=external).
bin="$ROOT/target/${W2M_PROFILE:-release}"
for service in user-service worker-service meeting-service; do
    db="w2m_k8s_migrate_$RUN_TAG"
    ensure_database "$db" >/dev/null
    logs=$(mktemp -d)
    url="${PG_ADMIN_URL%/postgres}/$db"
    if ! DATABASE_URL=$url DB_MIGRATE=external LOG_DIR=$logs timeout 60 "$bin/$service" migrate >"$logs/out" 2>&1; then
        cat "$logs/out" >&2
        drop_database "$db"
        fail "$service migrate"
    fi
    applied=$(psql -qtAX "$url" -c "SELECT count(*) FROM schema_migrations")
    drop_database "$db"
    rm -rf "$logs"
    [ "$applied" -ge 1 ] || fail "$service migrate applied nothing"
    echo "ok: $service migrate applied $applied migration(s)"
done
echo "ok: deploy/k8s"
