#!/usr/bin/env bash
# The soak test: a server on a scratch database, minutes of everyday use by signed-in
# users (sends, reads, logins, uploads, sockets coming and going), quiet first, then with a
# hostile client at the same time (slow headers, a socket flood, a login flood), all on
# loopback. Fails when a well-behaved user would notice: a 5xx, a failed request, a lost
# message, the server's memory past its bound, or (at full size) their p95 latency more
# than 3 times the quiet one. See docs/performance.md#soak for the figures.
#
#   SOAK_SIZE  full (default: 1,000 members + 200 churning, 180 s, release build) or
#              small (what CI runs from scripts/test.sh: 40 + 10, 30 s, debug build;
#              latency reported, not judged)
#   SOAK_ARGS  further tenantchat-bench arguments (they win over the size's)
#   SOAK_PORT  the server's port (default 8091)
#
# Output: the figures on stdout; the server's log and the soak's output under target/soak/.
set -euo pipefail

# shellcheck source=scripts/lib/services.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/services.sh"
# shellcheck source=scripts/lib/loadtest.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/loadtest.sh"
cd "$ROOT"

case "${SOAK_SIZE:-full}" in
    full)
        profile=release
        size=(--users 1000 --churn-users 200 --sources 16 --soak-seconds 180 --soak-rate 50 --slow-connections 2000)
        ;;
    small)
        profile=debug
        size=(--users 40 --churn-users 10 --sources 16 --soak-seconds 30 --soak-rate 5 --slow-connections 300
            --soak-max-p95-ratio 0)
        ;;
    *) die "SOAK_SIZE must be 'full' or 'small', not '${SOAK_SIZE}'" ;;
esac

ensure_postgres
ensure_redis

target="${CARGO_TARGET_DIR:-$ROOT/target}"
LOAD_OUT="$target/soak"
LOAD_BIN="$target/$profile"
LOAD_PORT="${SOAK_PORT:-8091}"
mkdir -p "$LOAD_OUT"
_tc_port_in_use "$LOAD_PORT" && die "port $LOAD_PORT is in use (set SOAK_PORT)"
# The hostile client holds thousands of connections; so does the server.
ulimit -n "$(ulimit -Hn)"

build=(cargo build --features bench --bins)
[ "$profile" = release ] && build+=(--release)
say "${build[*]}"
"${build[@]}"

trap loadtest_cleanup EXIT
url="$(loadtest_scratch_db "tenantchat_soak_$$")"
DATABASE_URL="$url" "$LOAD_BIN/tenantchat" migrate
: >"$LOAD_OUT/server.log"
: >"$LOAD_OUT/bench.out"
say "server: $profile build, Redis channel layer, default limits, on 127.0.0.1:$LOAD_PORT (log: $LOAD_OUT/server.log)"
loadtest_start_server "$url"
status=0
# shellcheck disable=SC2086  # SOAK_ARGS is a list of words
loadtest_run "$url" soak "${size[@]}" ${SOAK_ARGS:-} || status=$?
if [ "$status" -ne 0 ]; then
    say "the soak FAILED (see the checks above; server log: $LOAD_OUT/server.log)"
    exit "$status"
fi
say "the soak passed"
