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
#
# Output: the figures on stdout; the server's log under target/bench-search/. The scratch
# database is dropped at the end (pass SEARCH_DATABASE_URL=… to keep one: not dropped).
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
_tc_port_in_use "$LOAD_PORT" && die "port $LOAD_PORT is in use (set BENCH_PORT)"
if [ "$profile" = release ]; then
    say "cargo build --release --bin tenantchat"
    cargo build --release --bin tenantchat
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
