#!/usr/bin/env bash
# Reproduce docs/performance.md in one command: build the release server and the load
# tool, start the server on a scratch database (Redis channel layer, per-user limits
# raised: the bench sends far faster per user than a person; connection caps lifted to
# the file limit: the bench opens up to 19,000 sockets from 4 loopback addresses), run
# the scenarios, then
# pgbench the database side of a send on another scratch database.
#
#   BENCH_ARGS     arguments for tenantchat-bench (default: all scenarios at their
#                  defaults); e.g. BENCH_ARGS="group pairs --seconds 5"
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
cd "$ROOT"

ensure_postgres
case "${CHANNEL_LAYER:-redis}" in
    redis) ensure_redis ;;
    memory) unset REDIS_URL ;;
    *) die "CHANNEL_LAYER must be 'redis' or 'memory', not '${CHANNEL_LAYER}'" ;;
esac
command -v pgbench >/dev/null 2>&1 || _tc_apt_install postgresql-contrib || die "pgbench is missing"

out="${CARGO_TARGET_DIR:-$ROOT/target}/bench"
bin="${CARGO_TARGET_DIR:-$ROOT/target}/release"
mkdir -p "$out"
port="${BENCH_PORT:-8090}"
_tc_port_in_use "$port" && die "port $port is in use (set BENCH_PORT)"
# Both processes hold one file descriptor per socket.
ulimit -n "$(ulimit -Hn)"

say "cargo build --release --features bench --bins"
cargo build --release --features bench --bins

admin_url="$DATABASE_URL"
scratch="tenantchat_bench_$$"
bench_url="${admin_url%/*}/$scratch"
pgbench_url="${admin_url%/*}/${scratch}_pgbench"
server=""
cleanup() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    psql "$admin_url" -X -q -c "DROP DATABASE IF EXISTS $scratch" -c "DROP DATABASE IF EXISTS ${scratch}_pgbench" >/dev/null 2>&1 || true
}
trap cleanup EXIT
psql "$admin_url" -X -q -c "CREATE DATABASE $scratch" -c "CREATE DATABASE ${scratch}_pgbench"
# Durability settles what a send costs more than anything in the server does.
say "PostgreSQL: $(psql "$admin_url" -X -Atc "SELECT 'fsync ' || current_setting('fsync') || ', synchronous_commit ' || current_setting('synchronous_commit')")"

DATABASE_URL="$bench_url" "$bin/tenantchat" migrate

# A fresh server process on the scratch database; its pid in $server.
start_server() {
    DATABASE_URL="$bench_url" REDIS_PREFIX="bench$$" BIND="127.0.0.1:$port" \
        RATE_SEND_PER_MINUTE=10000000 RATE_SEND_BURST=10000 RATE_CONVERSATIONS_PER_MINUTE=1000 \
        MAX_CONNECTIONS_PER_IP=0 MAX_CONNECTIONS="$(($(ulimit -n) - 500))" \
        RUST_LOG="${RUST_LOG:-warn}" "$bin/tenantchat" serve >>"$out/server.log" 2>&1 &
    server=$!
    _tc_wait_for 60 "the server" curl -fsS -o /dev/null "http://127.0.0.1:$port/login/" ||
        die "the server did not start: see $out/server.log"
}

stop_server() {
    kill "$server"
    wait "$server" 2>/dev/null || true
    server=""
}

# tenantchat-bench ARGS… against the running server, its output kept in $out/bench.out.
run_bench() {
    say "tenantchat-bench $* (machine load before: $(cut -d' ' -f1-3 /proc/loadavg))"
    DATABASE_URL="$bench_url" "$bin/tenantchat-bench" --url "http://127.0.0.1:$port" --server-pid "$server" "$@" |
        tee -a "$out/bench.out"
}

: >"$out/server.log"
: >"$out/bench.out"
say "server: release build, ${CHANNEL_LAYER:-redis} channel layer, on 127.0.0.1:$port (log: $out/server.log)"
start_server
# shellcheck disable=SC2086  # BENCH_ARGS is a list of words
run_bench ${BENCH_ARGS:-all}
stop_server
idle="${IDLE_SOCKETS:-19000}"
if [ "$idle" -gt 0 ]; then
    say "a fresh server for the idle sockets"
    start_server
    run_bench idle --users 0 --churn-users 0 --idle-sockets "$idle"
    stop_server
fi
say "server log: warnings and errors by kind"
sed 's/\x1b\[[0-9;]*m//g' "$out/server.log" | grep -E " (WARN|ERROR) " | sed -E 's/^[^ ]+ +(WARN|ERROR) +([^ ]+) ([^=]{0,70}).*/\1 \2 \3/' |
    sort | uniq -c | sort -rn | head -n 12 >&2 || true

clients="${PGBENCH_CLIENTS:-8}"
say "pgbench: the database side of a send (scripts/bench/send.pgbench.sql), $clients clients, 10 s"
DATABASE_URL="$pgbench_url" "$bin/tenantchat" migrate
psql "$pgbench_url" -X -q -f scripts/bench/pgbench-seed.sql >/dev/null
pgbench "$pgbench_url" -n -M prepared -c "$clients" -j 2 -T 10 -f scripts/bench/send.pgbench.sql |
    tee "$out/pgbench.out" | grep -E "^(tps|latency|number of transactions actually)"
