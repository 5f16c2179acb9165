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
#   loadtest_compare URL ROUNDS A "A_ARGS" B "B_ARGS" ARGS…   what B costs against A:
#                              the `closed` scenario with ARGS, alternately with A_ARGS and
#                              B_ARGS (A B A B …, ROUNDS pairs) on the running server
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

loadtest_compare() {
    local url="$1" rounds="$2" round side out rate ms
    local -A name=([a]="$3" [b]="$5") side_args=([a]="$4" [b]="$6") total=([a]=0 [b]=0) cpu=([a]=0 [b]=0)
    local -a extra
    shift 6
    # Throughput swings with whatever else the machine runs, so A and B alternate and both
    # see it alike; the server's own CPU time per send (one delivery per send in `closed`)
    # swings less, so both are reported.
    for round in $(seq 1 "$rounds"); do
        for side in a b; do
            read -r -a extra <<<"${side_args[$side]}"
            out="$LOAD_OUT/run-$round-$side.out"
            loadtest_run "$url" closed "$@" "${extra[@]}" >"$out"
            rate="$(grep -oE '[0-9]+ msg/s answered' "$out" | head -n1 | cut -d' ' -f1)"
            [ -n "$rate" ] || die "no rate in $out"
            ms="$(grep -oE '"ms_per_1000_deliveries":[0-9.]+' "$out" | cut -d: -f2)"
            say "round $round, ${name[$side]}: $rate msg/s, server CPU $ms ms per 1,000 sends; send $(grep -m1 -oE 'p99 [0-9.]+ ?ms' "$out" || true)"
            total[$side]=$((total[$side] + rate))
            cpu[$side]="$(awk "BEGIN { print ${cpu[$side]} + $ms }")"
        done
    done
    awk -v a="${name[a]}" -v b="${name[b]}" -v n="$rounds" -v ra="${total[a]}" -v rb="${total[b]}" \
        -v ca="${cpu[a]}" -v cb="${cpu[b]}" 'BEGIN {
        printf "==> mean over %d rounds: %s %.0f msg/s, %s %.0f msg/s: %s is %.1f %% of %s\n",
            n, a, ra / n, b, rb / n, b, 100 * rb / ra, a
        printf "==> server CPU per 1,000 sends: %s %.0f ms, %s %.0f ms: %s costs %+.1f %%\n",
            a, ca / n, b, cb / n, b, 100 * (cb - ca) / ca }'
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
