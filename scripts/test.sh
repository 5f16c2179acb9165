#!/usr/bin/env bash
# Run the whole test suite: Rust tests (nextest when installed, else
# cargo test) against a real PostgreSQL and Redis, then the browser tests in
# tests/e2e when they exist, then the contract checks in tests/contract
# (schemathesis and generated clients against the real server), then a small soak. Extra arguments
# go to the cargo test runner, e.g. `scripts/test.sh some_test_name`.
#
# DATABASE_URL / REDIS_URL are used when set and reachable; otherwise private
# servers are started under target/ (see scripts/lib/services.sh).
set -euo pipefail

# shellcheck source=scripts/lib/services.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/services.sh"
cd "$ROOT"

banner() { printf '\n==== %s ====\n' "$*" >&2; }

# In CI, stop the servers this run started once it is over.
if [ "${CI:-}" = true ]; then
    trap stop_started_services EXIT
fi

banner "services"
ensure_postgres
ensure_redis
export DATABASE_URL REDIS_URL

failed=()

banner "Rust tests"
if cargo nextest --version >/dev/null 2>&1; then
    say "cargo nextest run --workspace --no-fail-fast $*"
    cargo nextest run --workspace --no-fail-fast "$@" || failed+=("Rust tests")
else
    say "cargo test --workspace --no-fail-fast $* (cargo-nextest is not installed)"
    cargo test --workspace --no-fail-fast "$@" || failed+=("Rust tests")
fi

# The browser tests and the contract checks run the server binary. The Rust test phase
# built it already (the integration tests run it); only build it when that phase was
# skipped or filtered away.
export TENANTCHAT_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/tenantchat"
server_binary_ready() {
    [ -x "$TENANTCHAT_BIN" ] || { say "cargo build --bin tenantchat"; cargo build --bin tenantchat; }
}

if [ -f tests/e2e/package.json ]; then
    banner "browser tests (tests/e2e)"
    ensure_node_and_chromium
    if server_binary_ready; then
        say "npm test --prefix tests/e2e (TENANTCHAT_BIN=$TENANTCHAT_BIN)"
        npm test --prefix tests/e2e || failed+=("browser tests")
    else
        failed+=("build for the browser tests")
    fi
else
    say "no tests/e2e/package.json: no browser tests to run"
fi

banner "contract checks (tests/contract)"
if server_binary_ready; then
    say "tests/contract/run.sh (TENANTCHAT_BIN=$TENANTCHAT_BIN)"
    bash tests/contract/run.sh || failed+=("contract checks")
else
    failed+=("build for the contract checks")
fi

# A short soak at a small size: everyday use with a hostile client at once, judged by
# what the well-behaved users notice (scripts/soak.sh; docs/performance.md#soak).
banner "soak (small)"
say "SOAK_SIZE=small scripts/soak.sh"
SOAK_SIZE=small bash scripts/soak.sh || failed+=("soak")

banner "summary"
if [ "${#failed[@]}" -gt 0 ]; then
    say "FAILED: ${failed[*]}"
    exit 1
fi
say "all test phases passed"
