#!/usr/bin/env bash
# The search benchmark of docs/performance.md: a scratch database with one tenant of
# 1,000,000 messages (scripts/bench/search-seed.sql), its index sizes, then the latency of
# GET /api/chat/search/ as a member of 50 of its 500 groups: common words, a rare word,
# phrases, accents, with and without filters. Each case runs SEARCH_RUNS times (default
# 50) one after another; the figures are curl's total time per request.
#
#   BENCH_PROFILE  release (default, built first) or debug (uses the existing debug build)
#   BENCH_PORT     the server's port (default 8091)
#   SEARCH_RUNS    requests per case (default 50)
#   SEARCH_DATABASE_URL  a database seeded by an earlier run to reuse (seeding takes
#                  minutes); it is kept
#   SEND_COST_SECONDS  seconds per pgbench run of the send cost (default 20: about 5 minutes in
#                  all; 0 skips it)
#   PGBENCH_CLIENTS  pgbench clients and the bench's closed-loop senders (default 8, as
#                  scripts/bench.sh)
#   SEND_COST_ROUNDS  rounds of the send through the server, search off then on (default 3)
#
# The send cost of the index comes last: two copies of the seeded database, one with the
# search column and its index and one without (the index dropped, the vector the send
# computes made NULL), each made ready for scripts/bench/send.pgbench.sql by
# scripts/bench/search-send-seed.sql;
# then pgbench's send into each, alternated for three rounds (with, without, …) so that
# both see the same load from whatever else runs on the machine: the rate with
# PGBENCH_CLIENTS clients, and the database's CPU time per send with one. Last, the whole
# send through the server: the bench's closed-loop senders on the copy with the index, the
# bench tenant's search off and on, alternated (scripts/lib/loadtest.sh loadtest_compare).
# The copies are dropped.
#
# Output: the figures on stdout; the server's log under target/bench-search/. The scratch
# databases are dropped at the end (pass SEARCH_DATABASE_URL=… to keep one: not dropped).
set -euo pipefail

# shellcheck source=scripts/lib/services.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/services.sh"
# shellcheck source=scripts/lib/loadtest.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/loadtest.sh"
cd "$ROOT"
ensure_postgres
unset REDIS_URL

profile="${BENCH_PROFILE:-release}"
LOAD_OUT="${CARGO_TARGET_DIR:-$ROOT/target}/bench-search"
LOAD_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/$profile"
LOAD_PORT="${BENCH_PORT:-8091}"
runs="${SEARCH_RUNS:-50}"
mkdir -p "$LOAD_OUT"
: >"$LOAD_OUT/send-cost"
_tc_port_in_use "$LOAD_PORT" && die "port $LOAD_PORT is in use (set BENCH_PORT)"
if [ "$profile" = release ]; then
    say "cargo build --release --features bench --bins"
    cargo build --release --features bench --bins
fi

trap loadtest_cleanup EXIT
if [ -n "${SEARCH_DATABASE_URL:-}" ]; then
    url="$SEARCH_DATABASE_URL"
else
    url="$(loadtest_scratch_db "tenantchat_search_$$")"
    DATABASE_URL="$url" "$LOAD_BIN/tenantchat" migrate
    say "seeding 1,000,000 messages"
    start=$(date +%s)
    psql "$url" -X -q -f scripts/bench/search-seed.sql
    say "seeded in $(($(date +%s) - start)) s"
fi
psql "$url" -X -At -F ' ' -c "
    SELECT 'messages table (heap + toast):', pg_size_pretty(pg_table_size('messages'))
    UNION ALL SELECT 'search column (avg bytes per message):', avg(pg_column_size(search))::int::text FROM messages
    UNION ALL SELECT 'GIN index messages_search_idx:', pg_size_pretty(pg_relation_size('messages_search_idx'))"

loadtest_start_server "$url"
base="http://127.0.0.1:$LOAD_PORT/api/chat/search/"
group7="$(printf '%032x' 100007 | sed -E 's/(.{8})(.{4})(.{4})(.{4})(.{12})/\1-\2-\3-\4-\5/')"
sender="$(printf '%032x' 16 | sed -E 's/(.{8})(.{4})(.{4})(.{4})(.{12})/\1-\2-\3-\4-\5/')"
day_ago="$(date -u -d '1 day ago' +%Y-%m-%dT%H:%M:%SZ)"

# One case: its name, then curl --data-urlencode arguments.
measure() {
    local name="$1" results count
    shift
    count="$(curl -fsS -G -H 'Authorization: Bearer tc_searchbench' "$@" "$base" | jq '.results | length')"
    for _ in $(seq "$runs"); do
        curl -fsS -o /dev/null -w '%{time_total}\n' -G -H 'Authorization: Bearer tc_searchbench' "$@" "$base"
    done | sort -n >"$LOAD_OUT/times"
    results="$(awk -v n="$runs" '{ t[NR] = $1 * 1000 } END {
        printf "p50 %6.1f ms  p95 %6.1f ms", t[int((n + 1) * 0.5)], t[int(n * 0.95 + 0.5)] }' "$LOAD_OUT/times")"
    printf '%-44s %s  (%s results)\n' "$name" "$results" "$count"
}

say "search latency, $runs requests per case ($profile build)"
measure "common word: invoice" --data-urlencode 'q=invoice'
measure "common words: reunião relatório" --data-urlencode 'q=reunião relatório'
measure "accent-free: acao" --data-urlencode 'q=acao'
measure "phrase: \"the invoice\"" --data-urlencode 'q="the invoice"'
measure "rare word: zeppelin" --data-urlencode 'q=zeppelin'
measure "common word, one conversation" --data-urlencode 'q=invoice' --data-urlencode "conversation=$group7"
measure "common word, one sender" --data-urlencode 'q=invoice' --data-urlencode "sender=$sender"
measure "common word, last day" --data-urlencode 'q=invoice' --data-urlencode "from=$day_ago"

seconds="${SEND_COST_SECONDS:-20}"
[ "$seconds" -gt 0 ] || exit 0
loadtest_stop_server
command -v pgbench >/dev/null 2>&1 || _tc_apt_install postgresql-contrib || die "pgbench is missing"
clients="${PGBENCH_CLIENTS:-8}"
say "send cost of the index: copying the database twice"
with="$(loadtest_scratch_db "tenantchat_search_$$_with" "${url##*/}")"
without="$(loadtest_scratch_db "tenantchat_search_$$_without" "${url##*/}")"
for copy in "$with" "$without"; do
    psql "$copy" -X -q -f scripts/bench/search-send-seed.sql
done
# Without: no index on the column, and the vector the send computes is NULL (the function
# the send statement calls returns NULL at no cost), so the send writes what it writes
# today minus the vector and its index entries.
psql "$without" -X -q -c "DROP INDEX messages_search_idx" \
    -c "CREATE OR REPLACE FUNCTION message_search_vector(body text) RETURNS tsvector
        LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN NULL::tsvector"
# The database's CPU time per send: one pgbench client for the run, its server process's
# utime + stime read from /proc while it lives (so only when PostgreSQL runs on this
# machine; "n/a" otherwise) over the transactions it ran. Unlike a rate, this hardly
# moves with whatever else the machine is doing.
cpu_per_send() {
    local db="$1" out="$LOAD_OUT/pgbench-cpu.out" pid="" ticks=0 now bench
    # Its own application name: the server processes of the run before may still be exiting.
    PGAPPNAME=send-cost-cpu pgbench "$db" -n -M prepared -c 1 -T "$seconds" -f scripts/bench/send.pgbench.sql >"$out" &
    bench=$!
    while kill -0 "$bench" 2>/dev/null; do
        [ -n "$pid" ] || pid="$(psql "$db" -X -At -c "SELECT pid FROM pg_stat_activity
            WHERE application_name = 'send-cost-cpu' AND datname = current_database()")"
        if [ -n "$pid" ] && now="$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null)"; then
            ticks="$now"
        fi
        sleep 0.1
    done
    wait "$bench"
    awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" '/^number of transactions actually processed/ {
        if (t == 0) print "n/a"; else printf "%.0f µs", t / hz * 1e6 / $NF }' "$out"
}

say "pgbench: the database side of a send (scripts/bench/send.pgbench.sql): the rate with $clients clients, and the database's CPU per send with one; $seconds s per run"
for round in 1 2 3; do
    for copy in with without; do
        db="$with"
        [ "$copy" = without ] && db="$without"
        load="$(cut -d' ' -f1 /proc/loadavg)"
        tps="$(pgbench "$db" -n -M prepared -c "$clients" -j 2 -T "$seconds" -f scripts/bench/send.pgbench.sql |
            sed -nE 's/^tps = ([0-9.]+).*/\1/p')"
        cpu="$(cpu_per_send "$db")"
        printf 'round %s  %-8s %8.0f tx/s  CPU per send %s  (load %s)\n' "$round" "$copy" "$tps" "$cpu" "$load"
        echo "$copy $tps ${cpu% µs}" >>"$LOAD_OUT/send-cost"
    done
done
awk '{ rate[$1] += $2; if ($3 == "n/a") nocpu = 1; else cpu[$1] += $3 } END {
    printf "with the index: %.0f %% of the rate without", 100 * rate["with"] / rate["without"]
    if (!nocpu) printf ", %.0f %% of the CPU per send", 100 * cpu["with"] / cpu["without"]
    print " (means of the rounds)" }' "$LOAD_OUT/send-cost"

# The same through the server: tenantchat-bench's closed-loop senders on the copy with the
# index, the bench tenant's search off (no vector, no index entries: the index is partial)
# and on, alternated.
say "the send through the server, search off and on (tenantchat-bench closed, $clients senders)"
loadtest_start_server "$with" RATE_SEND_PER_MINUTE=10000000 RATE_SEND_BURST=10000 RATE_CONVERSATIONS_PER_MINUTE=1000
loadtest_compare "$with" "${SEND_COST_ROUNDS:-3}" "search off" "--search-off" "search on" "" \
    --users 16 --churn-users 0 --closed-senders "$clients" --seconds "$seconds"
