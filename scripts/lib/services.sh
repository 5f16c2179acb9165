# shellcheck shell=bash
# Helpers shared by scripts/test.sh and scripts/run.sh: find or start the
# services tenantchat needs (PostgreSQL, Redis, Node + Chromium for the
# browser tests). Source it; every function is safe under `set -euo pipefail`.
#
#   ensure_postgres           -> exports DATABASE_URL
#   ensure_redis              -> exports REDIS_URL
#   ensure_node_and_chromium  -> installs tests/e2e/node_modules when needed
#   stop_private_postgres / stop_private_redis   stop this checkout's private servers
#   stop_started_services     stop only what ensure_* started in this run
#
# Knobs: DATABASE_URL / REDIS_URL (used when reachable), TENANTCHAT_PG_PORT
# (default: 5433, or the next free port when another program holds it),
# TENANTCHAT_REDIS_PORT (default: 6380, likewise).
#
# The private servers live in target/pg (data, run, log) and target/redis and
# keep running between runs: `cargo clean` deletes their files, so call
# stop_private_postgres / stop_private_redis first.

# Repo root, from this file's location (scripts/lib/services.sh).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"

_TC_APT_UPDATED="${_TC_APT_UPDATED:-0}"

say() { printf '==> %s\n' "$*" >&2; }
warn() { printf '==> WARNING: %s\n' "$*" >&2; }
die() {
    printf '==> ERROR: %s\n' "$*" >&2
    exit 1
}

_tc_is_root() { [ "$(id -u)" -eq 0 ]; }

# apt-get install, running `apt-get update` at most once per script run.
# Returns 1 (without installing) when not root.
_tc_apt_install() {
    _tc_is_root || return 1
    if [ "$_TC_APT_UPDATED" != 1 ]; then
        say "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        _TC_APT_UPDATED=1
    fi
    say "apt-get install -y $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

# _tc_wait_for SECONDS DESCRIPTION CMD...: poll CMD every 0.2 s until it
# succeeds; returns 1 after SECONDS.
_tc_wait_for() {
    local timeout="$1" what="$2"
    shift 2
    local deadline=$((SECONDS + timeout))
    until "$@" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            warn "timed out after ${timeout}s waiting for $what"
            return 1
        fi
        sleep 0.2
    done
}

# Is something listening on 127.0.0.1:PORT?
_tc_port_in_use() {
    # shellcheck disable=SC2016  # expanded by the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" >/dev/null 2>&1
}

# _tc_pick_port EXPLICIT DEFAULT: EXPLICIT when given (must be free), otherwise
# the first free port from DEFAULT on.
_tc_pick_port() {
    local explicit="$1" port="$2" last=$(($2 + 50))
    if [ -n "$explicit" ]; then
        if _tc_port_in_use "$explicit"; then
            die "port $explicit is already in use by another program (choose another one)"
        fi
        printf '%s\n' "$explicit"
        return 0
    fi
    while [ "$port" -le "$last" ]; do
        if ! _tc_port_in_use "$port"; then
            printf '%s\n' "$port"
            return 0
        fi
        port=$((port + 1))
    done
    die "no free port between $2 and $last"
}

_tc_short_hash() { printf '%s' "$ROOT" | sha256sum | cut -c1-12; }

# Hide the password of a URL when printing it.
_tc_redact() { printf '%s' "$1" | sed -E 's#^([a-z+]+://[^:/@]*):[^@/]*@#\1:***@#'; }

# --------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------

_tc_ensure_psql() {
    command -v psql >/dev/null 2>&1 && command -v pg_isready >/dev/null 2>&1 && return 0
    if _tc_is_root; then
        say "psql is missing: installing Debian's postgresql-client"
        _tc_apt_install postgresql-client
    else
        die "psql is missing: install Debian's postgresql-client package (sudo apt-get install -y postgresql-client)"
    fi
}

# Does this URL answer `select 1`?
_tc_pg_url_ok() {
    local out
    out="$(PGCONNECT_TIMEOUT=5 timeout 15 psql "$1" -X -Atc 'select 1' 2>/dev/null)" || return 1
    [ "$out" = 1 ]
}

# Server bin dir: the one matching an existing data dir's PG_VERSION if
# installed, else the highest installed version.
_tc_pg_bindir() {
    local want="" d
    if [ -n "${1:-}" ] && [ -f "$1/PG_VERSION" ]; then
        want="$(cat "$1/PG_VERSION")"
        if [ -x "/usr/lib/postgresql/$want/bin/pg_ctl" ]; then
            printf '%s\n' "/usr/lib/postgresql/$want/bin"
            return 0
        fi
    fi
    d="$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/initdb' 2>/dev/null | sort -V | tail -n1)"
    [ -n "$d" ] || return 1
    d="$(dirname "$d")"
    [ -x "$d/pg_ctl" ] || return 1
    if [ -n "$want" ]; then
        printf '==> ERROR: %s\n' "the private cluster in $1 was made by PostgreSQL $want, which is not installed (found $(basename "$(dirname "$d")")); remove $1 or install postgresql-$want" >&2
        return 3
    fi
    printf '%s\n' "$d"
}

# Run a command as the cluster's owner (postgres when we are root).
_tc_as_pg() {
    if _tc_is_root; then
        if command -v runuser >/dev/null 2>&1; then
            (cd / && runuser -u postgres -- "$@")
        else
            local q
            q="$(printf '%q ' "$@")"
            (cd / && su postgres -s /bin/sh -c "$q")
        fi
    else
        "$@"
    fi
}

# Where the private cluster lives: $ROOT/target/pg, or (root only) a /tmp dir
# when the postgres user cannot get into the repo.
_tc_pg_base() {
    local base="$ROOT/target/pg"
    if _tc_is_root; then
        id postgres >/dev/null 2>&1 || die "no 'postgres' OS user: install Debian's postgresql package"
        mkdir -p "$base"
        chown postgres: "$base"
        if ! _tc_as_pg test -w "$base" -a -x "$base"; then
            local alt
            alt="/tmp/tenantchat-pg-$(_tc_short_hash)"
            rmdir "$base" 2>/dev/null || true
            mkdir -p "$alt"
            chown postgres: "$alt"
            chmod 0700 "$alt"
            say "the postgres user cannot reach $ROOT; using $alt for the private cluster instead"
            base="$alt"
        fi
    else
        mkdir -p "$base"
    fi
    printf '%s\n' "$base"
}

_TC_PG_BASE=""
_TC_PG_BIN=""
_TC_PG_STARTED=0    # 1 once ensure_postgres started the private cluster in this run
_TC_REDIS_STARTED=0 # 1 once ensure_redis started the private redis-server in this run

_tc_pg_setup_paths() {
    if [ -z "$_TC_PG_BASE" ]; then
        _TC_PG_BASE="$(_tc_pg_base)" || exit 1
    fi
    if [ -z "$_TC_PG_BIN" ]; then
        local rc=0
        _TC_PG_BIN="$(_tc_pg_bindir "$_TC_PG_BASE/data")" || rc=$?
        if [ "$rc" -eq 3 ]; then exit 1; fi
        if [ "$rc" -ne 0 ]; then
            if _tc_is_root; then
                say "no PostgreSQL server binaries found: installing Debian's postgresql package" \
                    "(it may create and start its own 'main' cluster; that one is ignored here)"
                _tc_apt_install postgresql
                _TC_PG_BIN="$(_tc_pg_bindir "$_TC_PG_BASE/data")" ||
                    die "PostgreSQL server binaries still not found under /usr/lib/postgresql/*/bin"
            else
                printf '%s\n' "==> PostgreSQL server binaries not found: install Debian's \`postgresql\` package (\`sudo apt-get install -y postgresql\`)" >&2
                exit 1
            fi
        fi
    fi
}

# The private cluster's port while it runs (line 4 of postmaster.pid).
_tc_pg_running_port() {
    local data="$_TC_PG_BASE/data"
    _tc_as_pg "$_TC_PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1 || return 1
    sed -n 4p "$data/postmaster.pid" 2>/dev/null
}

_tc_pg_conf_quote() { printf "'%s'" "${1//\'/\'\'}"; }

_tc_pg_start() {
    local port="$1" data="$_TC_PG_BASE/data" run="$_TC_PG_BASE/run" log="$_TC_PG_BASE/log"
    # A Unix socket path may not exceed 107 bytes.
    if [ $((${#run} + 20)) -gt 107 ]; then
        run="/tmp/tenantchat-pg-$(_tc_short_hash)-run"
    fi
    mkdir -p "$run"
    touch "$log"
    if _tc_is_root; then chown postgres: "$run" "$log"; fi
    # Settings that may change between starts live in tenantchat.conf,
    # included from postgresql.conf (written at initdb).
    {
        echo "# written by scripts/lib/services.sh at every start"
        echo "port = $port"
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = $(_tc_pg_conf_quote "$run")"
    } >"$data/tenantchat.conf"
    if _tc_is_root; then chown postgres: "$data/tenantchat.conf"; fi
    say "starting the private PostgreSQL cluster ($data) on 127.0.0.1:$port, log: $log"
    _tc_as_pg "$_TC_PG_BIN/pg_ctl" -D "$data" -l "$log" -W start >/dev/null
    _TC_PG_STARTED=1
    local started=$SECONDS
    until "$_TC_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -t 1 >/dev/null 2>&1; do
        if [ $((SECONDS - started)) -ge 30 ]; then
            tail -n 30 "$log" >&2 || true
            die "PostgreSQL did not accept connections on 127.0.0.1:$port within 30s (log: $log)"
        fi
        # After a 2 s grace period (pid file), stop waiting if the postmaster died.
        if [ $((SECONDS - started)) -ge 2 ] &&
            ! _tc_as_pg "$_TC_PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
            tail -n 30 "$log" >&2 || true
            die "PostgreSQL failed to start (log: $log)"
        fi
        sleep 0.2
    done
}

_tc_pg_initdb() {
    local data="$_TC_PG_BASE/data" locale=C
    if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then locale=C.UTF-8; fi
    say "creating a private PostgreSQL cluster in $data (PostgreSQL $(basename "$(dirname "$_TC_PG_BIN")"), locale $locale)"
    rm -rf "$data"
    mkdir -p "$data"
    if _tc_is_root; then chown postgres: "$data"; fi
    chmod 0700 "$data"
    if ! _tc_as_pg "$_TC_PG_BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale="$locale" >"$_TC_PG_BASE/initdb.log" 2>&1; then
        if [ "$locale" != C ]; then
            warn "initdb with locale $locale failed; retrying with --locale=C"
            rm -rf "$data"
            mkdir -p "$data"
            if _tc_is_root; then chown postgres: "$data"; fi
            chmod 0700 "$data"
            _tc_as_pg "$_TC_PG_BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C >"$_TC_PG_BASE/initdb.log" 2>&1 || {
                cat "$_TC_PG_BASE/initdb.log" >&2
                die "initdb failed"
            }
        else
            cat "$_TC_PG_BASE/initdb.log" >&2
            die "initdb failed"
        fi
    fi
    # A throwaway dev/test cluster: trade durability for speed.
    cat >>"$data/postgresql.conf" <<'EOF'

# --- tenantchat private dev/test cluster (scripts/lib/services.sh) ---
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
include_if_exists = 'tenantchat.conf'
EOF
}

ensure_postgres() {
    if [ -n "${DATABASE_URL:-}" ]; then
        _tc_ensure_psql
        if _tc_pg_url_ok "$DATABASE_URL"; then
            say "PostgreSQL: using DATABASE_URL=$(_tc_redact "$DATABASE_URL")"
            export DATABASE_URL
            return 0
        fi
        warn "DATABASE_URL=$(_tc_redact "$DATABASE_URL") is not reachable; using a private cluster instead"
    fi
    _tc_ensure_psql
    _tc_pg_setup_paths

    local data="$_TC_PG_BASE/data" port running
    if [ ! -f "$data/PG_VERSION" ]; then
        _tc_pg_initdb
    fi
    if running="$(_tc_pg_running_port)" && [ -n "$running" ]; then
        if [ -n "${TENANTCHAT_PG_PORT:-}" ] && [ "$TENANTCHAT_PG_PORT" != "$running" ]; then
            say "the private cluster runs on port $running but TENANTCHAT_PG_PORT=$TENANTCHAT_PG_PORT: restarting it"
            _tc_as_pg "$_TC_PG_BIN/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null
            port="$(_tc_pick_port "$TENANTCHAT_PG_PORT" 5433)" || exit 1
            _tc_pg_start "$port"
        else
            port="$running"
            say "reusing the private PostgreSQL cluster running on 127.0.0.1:$port ($data)"
            _tc_wait_for 30 "PostgreSQL on 127.0.0.1:$port" \
                "$_TC_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -t 1 ||
                die "the private cluster on port $port does not accept connections (log: $_TC_PG_BASE/log)"
        fi
    else
        port="$(_tc_pick_port "${TENANTCHAT_PG_PORT:-}" 5433)" || exit 1
        _tc_pg_start "$port"
    fi

    local admin="postgres://postgres@127.0.0.1:$port/postgres"
    if [ "$(PGCONNECT_TIMEOUT=5 psql "$admin" -X -Atc "select 1 from pg_database where datname = 'tenantchat'")" != 1 ]; then
        say "creating database tenantchat"
        psql "$admin" -X -q -v ON_ERROR_STOP=1 -c 'create database tenantchat' >/dev/null
    fi
    export DATABASE_URL="postgres://postgres@127.0.0.1:$port/tenantchat"
    say "PostgreSQL: using the private cluster, DATABASE_URL=$DATABASE_URL"
}

stop_private_postgres() {
    _tc_pg_setup_paths
    if _tc_pg_running_port >/dev/null; then
        say "stopping the private PostgreSQL cluster ($_TC_PG_BASE/data)"
        _tc_as_pg "$_TC_PG_BIN/pg_ctl" -D "$_TC_PG_BASE/data" -m fast -w -t 30 stop >/dev/null
    else
        say "the private PostgreSQL cluster is not running"
    fi
}

# --------------------------------------------------------------------------
# Redis
# --------------------------------------------------------------------------

_TC_REDIS_DIR="$ROOT/target/redis"

_tc_ensure_redis_cli() {
    command -v redis-cli >/dev/null 2>&1 && return 0
    if _tc_is_root; then
        say "redis-cli is missing: installing Debian's redis-tools"
        _tc_apt_install redis-tools
    else
        die "redis-cli is missing: install Debian's redis-tools package (sudo apt-get install -y redis-tools)"
    fi
}

_tc_redis_url_ok() {
    local out
    out="$(timeout 5 redis-cli -u "$1" ping 2>/dev/null)" || return 1
    [ "$out" = PONG ]
}

_tc_redis_port_ok() {
    local out
    out="$(timeout 5 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" || return 1
    [ "$out" = PONG ]
}

# Port of our private redis-server if it is running, else fail.
_tc_redis_running_port() {
    local pidfile="$_TC_REDIS_DIR/redis.pid" portfile="$_TC_REDIS_DIR/port" pid port
    [ -f "$pidfile" ] && [ -f "$portfile" ] || return 1
    pid="$(cat "$pidfile")"
    port="$(cat "$portfile")"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    _tc_redis_port_ok "$port" || return 1
    printf '%s\n' "$port"
}

_tc_redis_start() {
    local port="$1" pidfile="$_TC_REDIS_DIR/redis.pid" log="$_TC_REDIS_DIR/redis.log"
    rm -f "$pidfile"
    say "starting a private redis-server on 127.0.0.1:$port (dir $_TC_REDIS_DIR, log $log)"
    redis-server --daemonize yes --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$_TC_REDIS_DIR" --pidfile "$pidfile" --logfile "$log" >/dev/null
    printf '%s\n' "$port" >"$_TC_REDIS_DIR/port"
    _TC_REDIS_STARTED=1
    if ! _tc_wait_for 30 "redis-server on 127.0.0.1:$port" _tc_redis_port_ok "$port"; then
        tail -n 30 "$log" >&2 || true
        die "redis-server did not answer PING on 127.0.0.1:$port within 30s (log: $log)"
    fi
}

ensure_redis() {
    _tc_ensure_redis_cli
    if [ -n "${REDIS_URL:-}" ]; then
        if _tc_redis_url_ok "$REDIS_URL"; then
            say "Redis: using REDIS_URL=$(_tc_redact "$REDIS_URL")"
            export REDIS_URL
            return 0
        fi
        warn "REDIS_URL=$(_tc_redact "$REDIS_URL") does not answer PING; using a private redis-server instead"
    fi
    if ! command -v redis-server >/dev/null 2>&1; then
        if _tc_is_root; then
            say "redis-server is missing: installing Debian's redis-server package" \
                "(it may start its own server on 6379; that one is ignored here)"
            _tc_apt_install redis-server
        else
            die "redis-server is missing: install Debian's redis-server package (sudo apt-get install -y redis-server)"
        fi
    fi
    mkdir -p "$_TC_REDIS_DIR"

    local port running
    if running="$(_tc_redis_running_port)"; then
        if [ -n "${TENANTCHAT_REDIS_PORT:-}" ] && [ "$TENANTCHAT_REDIS_PORT" != "$running" ]; then
            say "the private redis-server runs on port $running but TENANTCHAT_REDIS_PORT=$TENANTCHAT_REDIS_PORT: restarting it"
            stop_private_redis
            port="$(_tc_pick_port "$TENANTCHAT_REDIS_PORT" 6380)" || exit 1
            _tc_redis_start "$port"
        else
            port="$running"
            say "reusing the private redis-server running on 127.0.0.1:$port"
        fi
    else
        port="$(_tc_pick_port "${TENANTCHAT_REDIS_PORT:-}" 6380)" || exit 1
        _tc_redis_start "$port"
    fi
    export REDIS_URL="redis://127.0.0.1:$port/"
    say "Redis: using the private redis-server, REDIS_URL=$REDIS_URL"
}

stop_private_redis() {
    local port pid
    if port="$(_tc_redis_running_port)"; then
        pid="$(cat "$_TC_REDIS_DIR/redis.pid")"
        say "stopping the private redis-server on port $port (pid $pid)"
        timeout 10 redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
        # shellcheck disable=SC2016  # expanded by the inner sh
        _tc_wait_for 10 "redis-server pid $pid to exit" sh -c '! kill -0 "$1" 2>/dev/null' _ "$pid" || true
    else
        say "the private redis-server is not running"
    fi
}

# Stop whatever ensure_postgres / ensure_redis started in this run (not what
# they merely reused). For an EXIT trap, e.g. in CI.
stop_started_services() {
    if [ "$_TC_PG_STARTED" = 1 ]; then stop_private_postgres || true; fi
    if [ "$_TC_REDIS_STARTED" = 1 ]; then stop_private_redis || true; fi
}

# --------------------------------------------------------------------------
# Node.js + Chromium (browser tests in tests/e2e)
# --------------------------------------------------------------------------

ensure_node_and_chromium() {
    local e2e="$ROOT/tests/e2e"
    if [ ! -f "$e2e/package.json" ]; then
        say "no tests/e2e/package.json: no browser tests to prepare"
        return 0
    fi
    if [ ! -x /usr/bin/chromium ]; then
        if _tc_is_root; then
            say "Chromium is missing: installing Debian's chromium"
            _tc_apt_install chromium
        else
            warn "/usr/bin/chromium is missing: install Debian's chromium package (sudo apt-get install -y chromium)"
        fi
    fi
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        if _tc_is_root; then
            say "node/npm are missing: installing Debian's nodejs and npm"
            _tc_apt_install nodejs npm
        else
            die "node/npm are missing: install Debian's nodejs and npm packages (sudo apt-get install -y nodejs npm)"
        fi
    fi
    export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
    if [ -d "$e2e/node_modules" ]; then
        say "tests/e2e/node_modules is present: skipping npm install"
        return 0
    fi
    # Browsers come from Debian; test tools must not try to download their own.
    export PUPPETEER_SKIP_DOWNLOAD=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
    if [ -f "$e2e/package-lock.json" ]; then
        say "installing the browser-test dependencies: npm ci (tests/e2e)"
        (cd "$e2e" && npm ci --no-audit --no-fund >&2)
    else
        say "installing the browser-test dependencies: npm install (tests/e2e, no lockfile)"
        (cd "$e2e" && npm install --no-audit --no-fund >&2)
    fi
}
