#!/usr/bin/env bash
# Run the server with demo data: make sure PostgreSQL is there, build the
# binary, apply migrations, load the demo data (prints the demo logins), serve.
#
#   PROFILE=release   build with --release (binary in target/release)
#   BIND              listen address, default 127.0.0.1:8000 (read by the binary)
#   REDIS_URL         when set, Redis is the channel layer (it must answer
#                     PING); otherwise the server uses its in-memory layer
# Extra arguments go to `tenantchat serve`.
set -euo pipefail

# shellcheck source=scripts/lib/services.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/services.sh"
cd "$ROOT"

ensure_postgres
export DATABASE_URL

if [ -n "${REDIS_URL:-}" ]; then
    _tc_ensure_redis_cli
    _tc_redis_url_ok "$REDIS_URL" || die "REDIS_URL=$(_tc_redact "$REDIS_URL") does not answer PING (unset it to use the in-memory channel layer)"
    export REDIS_URL
    say "channel layer: Redis at $(_tc_redact "$REDIS_URL")"
else
    say "channel layer: in-memory, single node (set REDIS_URL to use Redis)"
fi

case "${PROFILE:-debug}" in
    release)
        build_flags=(--release)
        profile_dir=release
        ;;
    debug | dev | "")
        build_flags=()
        profile_dir=debug
        ;;
    *) die "PROFILE must be 'release' or 'debug', not '${PROFILE}'" ;;
esac
bin="${CARGO_TARGET_DIR:-$ROOT/target}/$profile_dir/tenantchat"

say "cargo build --bin tenantchat ${build_flags[*]}"
cargo build --bin tenantchat "${build_flags[@]}"

say "tenantchat migrate"
"$bin" migrate
say "tenantchat demo"
"$bin" demo

say "tenantchat serve on http://${BIND:-127.0.0.1:8000}/ (Ctrl-C to stop)"
exec "$bin" serve "$@"
