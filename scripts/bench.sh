#!/usr/bin/env bash
# Reproduce docs/performance.md in one command: build the release server and the load
# tool, start the server on a scratch database (Redis channel layer, per-user limits
# raised: the bench sends far faster per user than a person; connection caps lifted to
# the file limit: the bench opens up to 19,000 sockets from 4 loopback addresses), run
# the scenarios, then
# pgbench the database side of a send on another scratch database.
#
#   BENCH_ARGS     arguments for tenantchat-bench (default: all scenarios at their
#                  defaults); e.g. BENCH_ARGS="group pairs --seconds 5"; add
#                  "--send-via socket" to send over the senders' sockets, "--webhook"
#                  to give the bench tenant a webhook of every message
#   IDLE_SOCKETS   idle sockets measured afterwards on a fresh server (default 19000;
#                  0 skips it)
#   BENCH_PORT     the server's port (default 8090)
#   CHANNEL_LAYER  redis (default) or memory
#   PGBENCH_CLIENTS  pgbench clients (default 8, as the bench's closed-loop senders)
#
# Output: the figures on stdout; the server's log and the bench's output under
# target/bench/. The scratch databases are dropped at the end.
set -euo pipefail

# shellcheck source=scripts/lib/services.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/services.sh"
# shellcheck source=scripts/lib/loadtest.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/loadtest.sh"
cd "$ROOT"

ensure_postgres
case "${CHANNEL_LAYER:-redis}" in
    redis) ensure_redis ;;
    memory) unset REDIS_URL ;;
    *) die "CHANNEL_LAYER must be 'redis' or 'memory', not '${CHANNEL_LAYER}'" ;;
esac
command -v pgbench >/dev/null 2>&1 || _tc_apt_install postgresql-contrib || die "pgbench is missing"

LOAD_OUT="${CARGO_TARGET_DIR:-$ROOT/target}/bench"
LOAD_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
LOAD_PORT="${BENCH_PORT:-8090}"
mkdir -p "$LOAD_OUT"
_tc_port_in_use "$LOAD_PORT" && die "port $LOAD_PORT is in use (set BENCH_PORT)"
# Both processes hold one file descriptor per socket.
ulimit -n "$(ulimit -Hn)"

say "cargo build --release --features bench --bins"
cargo build --release --features bench --bins

trap loadtest_cleanup EXIT
bench_url="$(loadtest_scratch_db "tenantchat_bench_$$")"
pgbench_url="$(loadtest_scratch_db "tenantchat_bench_$$_pgbench")"
# Durability settles what a send costs more than anything in the server does.
say "PostgreSQL: $(psql "$DATABASE_URL" -X -Atc "SELECT 'fsync ' || current_setting('fsync') || ', synchronous_commit ' || current_setting('synchronous_commit')")"

DATABASE_URL="$bench_url" "$LOAD_BIN/tenantchat" migrate

# The bench sends far faster per user than a person: the per-user limits are raised (the
# frame budget too, for sends over the socket); and it opens thousands of sockets from a
# few addresses: the connection caps are lifted. `--webhook`'s receiver is on loopback.
start_server() {
    loadtest_start_server "$bench_url" RATE_SEND_PER_MINUTE=10000000 RATE_SEND_BURST=10000 \
        RATE_WS_FRAMES_PER_MINUTE=10000000 WEBHOOK_ALLOWED_HOSTS=127.0.0.1 \
        RATE_CONVERSATIONS_PER_MINUTE=1000 MAX_CONNECTIONS_PER_IP=0 MAX_CONNECTIONS="$(($(ulimit -n) - 500))"
}

: >"$LOAD_OUT/server.log"
: >"$LOAD_OUT/bench.out"
say "server: release build, ${CHANNEL_LAYER:-redis} channel layer, on 127.0.0.1:$LOAD_PORT (log: $LOAD_OUT/server.log)"
start_server
# shellcheck disable=SC2086  # BENCH_ARGS is a list of words
loadtest_run "$bench_url" ${BENCH_ARGS:-all}
loadtest_stop_server
idle="${IDLE_SOCKETS:-19000}"
if [ "$idle" -gt 0 ]; then
    say "a fresh server for the idle sockets"
    start_server
    loadtest_run "$bench_url" idle --users 0 --churn-users 0 --idle-sockets "$idle"
    loadtest_stop_server
fi
say "server log: warnings and errors by kind"
sed 's/\x1b\[[0-9;]*m//g' "$LOAD_OUT/server.log" | grep -E " (WARN|ERROR) " | sed -E 's/^[^ ]+ +(WARN|ERROR) +([^ ]+) ([^=]{0,70}).*/\1 \2 \3/' |
    sort | uniq -c | sort -rn | head -n 12 >&2 || true

clients="${PGBENCH_CLIENTS:-8}"
say "pgbench: the database side of a send (scripts/bench/send.pgbench.sql), $clients clients, 10 s"
DATABASE_URL="$pgbench_url" "$LOAD_BIN/tenantchat" migrate
psql "$pgbench_url" -X -q -f scripts/bench/pgbench-seed.sql >/dev/null
pgbench "$pgbench_url" -n -M prepared -c "$clients" -j 2 -T 10 -f scripts/bench/send.pgbench.sql |
    tee "$LOAD_OUT/pgbench.out" | grep -E "^(tps|latency|number of transactions actually)"
