#!/usr/bin/env bash
# The workspace's `rust-version` is no lower than what its locked
# dependencies declare they need (cargo metadata, offline), so the claim in
# Cargo.toml is true. (Building with that exact toolchain is not done here:
# only the installed one is available offline.)
source "$(dirname "$0")/_lib.bash"
cd "$ROOT"
declared=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml)
[ -n "$declared" ] || fail "no rust-version in the workspace Cargo.toml"
# Offline when every locked crate is already downloaded; otherwise (a run of
# the e2e tests alone builds only the services) fetch the rest first.
cargo metadata --format-version 1 --offline >/dev/null 2>&1 || cargo fetch -q || fail "cargo fetch failed"
cargo metadata --format-version 1 --offline 2>/dev/null | python3 -c '
import json, sys
declared = tuple(int(x) for x in sys.argv[1].split("."))
m = json.load(sys.stdin)
members = set(m["workspace_members"])
need = [(tuple(int(x) for x in p["rust_version"].split(".")), p["name"], p["version"])
        for p in m["packages"] if p.get("rust_version") and p["id"] not in members]
worst = max(need)
pad = lambda v: v + (0,) * (3 - len(v))
version = ".".join(map(str, worst[0]))
if pad(worst[0]) > pad(declared):
    sys.exit(f"FAIL: rust-version {sys.argv[1]} but {worst[1]} {worst[2]} needs {version}")
print(f"rust-version {sys.argv[1]} covers every dependency (the most demanding: {worst[1]} {worst[2]}, {version})")
' "$declared" || fail "the declared rust-version is too low"
