# shellcheck shell=bash
# What scripts/bench.sh and scripts/soak.sh share: a scratch database, a server process
# on it, and the load tool against it. Source after scripts/lib/services.sh, with
# DATABASE_URL set (ensure_postgres) and these set by the caller:
#
#   LOAD_BIN   directory of the tenantchat and tenantchat-bench binaries
#   LOAD_OUT   directory for server.log and the load tool's output
#   LOAD_PORT  the server's port
#
#   loadtest_scratch_db NAME [TEMPLATE]   creates database NAME beside DATABASE_URL's (a
#                              copy of database TEMPLATE if given); prints its URL;
#                              dropped by loadtest_cleanup
#   loadtest_start_server URL [VAR=value …]   serves the scratch database URL (extra
#                              environment for the server after it); pid in $LOAD_SERVER
#   loadtest_stop_server
#   loadtest_run URL ARGS…     tenantchat-bench ARGS against the server, output teed to
#                              $LOAD_OUT/bench.out; its exit status
#   loadtest_cleanup           stops the server, drops the scratch databases (trap it on EXIT)

LOAD_SERVER=""
# The scratch databases' names, one a line: a file, not a variable, because callers take
# a database's URL with $(loadtest_scratch_db …), a subshell whose variables are lost.
_LOAD_SCRATCH="$(mktemp)"

loadtest_scratch_db() {
    local name="$1" copy=""
    # A file copy: much faster than the default (WAL_LOG) for a database of gigabytes.
    [ -n "${2:-}" ] && copy=" TEMPLATE $2 STRATEGY FILE_COPY"
    psql "$DATABASE_URL" -X -q -c "CREATE DATABASE $name$copy" >&2
    echo "$name" >>"$_LOAD_SCRATCH"
    printf '%s/%s' "${DATABASE_URL%/*}" "$name"
}

loadtest_start_server() {
    local url="$1"
    shift
    env DATABASE_URL="$url" REDIS_PREFIX="load$$" BIND="127.0.0.1:$LOAD_PORT" \
        RUST_LOG="${RUST_LOG:-warn}" "$@" "$LOAD_BIN/tenantchat" serve >>"$LOAD_OUT/server.log" 2>&1 &
    LOAD_SERVER=$!
    _tc_wait_for 120 "the server" curl -fsS -o /dev/null "http://127.0.0.1:$LOAD_PORT/login/" ||
        die "the server did not start: see $LOAD_OUT/server.log"
}

loadtest_stop_server() {
    [ -n "$LOAD_SERVER" ] || return 0
    kill "$LOAD_SERVER" 2>/dev/null || true
    wait "$LOAD_SERVER" 2>/dev/null || true
    LOAD_SERVER=""
}

loadtest_run() {
    local url="$1"
    shift
    say "tenantchat-bench $* (machine load before: $(cut -d' ' -f1-3 /proc/loadavg))"
    DATABASE_URL="$url" "$LOAD_BIN/tenantchat-bench" --url "http://127.0.0.1:$LOAD_PORT" \
        --server-pid "$LOAD_SERVER" "$@" | tee -a "$LOAD_OUT/bench.out"
    return "${PIPESTATUS[0]}"
}

loadtest_cleanup() {
    loadtest_stop_server
    local name
    while read -r name; do
        # FORCE: the server processes of a client that just ended may still be exiting.
        psql "$DATABASE_URL" -X -q -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null 2>&1 || true
    done <"$_LOAD_SCRATCH"
    rm -f "$_LOAD_SCRATCH"
}
