#!/usr/bin/env bash
# What encryption at rest costs (docs/performance.md "Encryption at rest"): the bench's
# closed-loop send scenario and closed-loop history reads on a release server, with
# CHAT_ENCRYPTION_KEY off and on, interleaved off, on, off, on (the machine is shared),
# each run on a fresh scratch database.
#
#   ROUNDS        off/on pairs (default 2)
#   BENCH_SECONDS seconds per scenario (default 10)
#   BENCH_PORT    the server's port (default 8091)
#
# Output: one JSON report per scenario and run on stdout (also in target/bench/bench.out).
set -euo pipefail
# shellcheck source=scripts/lib/services.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/services.sh"
# shellcheck source=scripts/lib/loadtest.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/loadtest.sh"
cd "$ROOT"
ensure_postgres
ensure_redis
LOAD_OUT="${CARGO_TARGET_DIR:-$ROOT/target}/bench"
LOAD_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
LOAD_PORT="${BENCH_PORT:-8091}"
mkdir -p "$LOAD_OUT"
: >"$LOAD_OUT/server.log"
: >"$LOAD_OUT/bench.out"
say "cargo build --release --features bench --bins"
cargo build --release --features bench --bins
trap loadtest_cleanup EXIT
key="bench:$(head -c 32 /dev/urandom | base64)"
for round in $(seq "${ROUNDS:-2}"); do
    for mode in off on; do
        url="$(loadtest_scratch_db "tenantchat_crypt_${round}_${mode}_$$")"
        DATABASE_URL="$url" "$LOAD_BIN/tenantchat" migrate
        encryption=()
        [ "$mode" = on ] && encryption=(CHAT_ENCRYPTION_KEY="$key")
        loadtest_start_server "$url" RATE_SEND_PER_MINUTE=10000000 RATE_SEND_BURST=10000 \
            RATE_CONVERSATIONS_PER_MINUTE=1000 MAX_CONNECTIONS_PER_IP=0 "${encryption[@]}"
        say "round $round: encryption $mode"
        loadtest_run "$url" closed history --users 100 --churn-users 0 --seconds "${BENCH_SECONDS:-10}"
        loadtest_stop_server
    done
done
