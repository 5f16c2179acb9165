#!/usr/bin/env bash
# What the content checks cost a send (docs/performance.md, "Content safety"): the
# `closed` scenario of tenantchat-bench (closed-loop senders, each sending its next
# message when the last is answered) against one server, alternating the bench tenant's
# `pii_mode` off and redact, A B A B …, so a busy shared machine weighs on both alike.
# Each run makes a tenant of its own; bench messages carry digits, so every detector runs.
#
#   BENCH_PROFILE  release (default, built first) or debug (uses the existing debug build)
#   BENCH_PORT     the server's port (default 8092)
#   SAFETY_ROUNDS  off/redact pairs (default 3)
#   SAFETY_ARGS    arguments for each run (default "--users 16 --churn-users 0
#                  --closed-senders 8 --seconds 10")
#
# Output: msg/s and p99 per run, then the mean of each mode and their ratio; the server's
# log and the bench's output under target/bench-safety/. The scratch database is dropped.
set -euo pipefail

# shellcheck source=scripts/lib/services.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/services.sh"
# shellcheck source=scripts/lib/loadtest.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/loadtest.sh"
cd "$ROOT"
ensure_postgres
unset REDIS_URL

profile="${BENCH_PROFILE:-release}"
LOAD_OUT="${CARGO_TARGET_DIR:-$ROOT/target}/bench-safety"
LOAD_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/$profile"
LOAD_PORT="${BENCH_PORT:-8092}"
rounds="${SAFETY_ROUNDS:-3}"
read -r -a args <<<"${SAFETY_ARGS:---users 16 --churn-users 0 --closed-senders 8 --seconds 10}"
mkdir -p "$LOAD_OUT"
_tc_port_in_use "$LOAD_PORT" && die "port $LOAD_PORT is in use (set BENCH_PORT)"

if [ "$profile" = release ]; then
    say "cargo build --release --features bench --bins"
    cargo build --release --features bench --bins
fi

trap loadtest_cleanup EXIT
url="$(loadtest_scratch_db "tenantchat_bench_safety_$$")"
DATABASE_URL="$url" "$LOAD_BIN/tenantchat" migrate
: >"$LOAD_OUT/server.log"
: >"$LOAD_OUT/bench.out"
loadtest_start_server "$url" RATE_SEND_PER_MINUTE=10000000 RATE_SEND_BURST=10000 RATE_CONVERSATIONS_PER_MINUTE=1000

loadtest_compare "$url" "$rounds" "pii_mode off" "--pii-mode off" "pii_mode redact" "--pii-mode redact" "${args[@]}"
