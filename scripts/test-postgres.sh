#!/usr/bin/env bash
# Run a command (the test suite) with a PostgreSQL server for the store tests.
#
#   scripts/test-postgres.sh python -m pytest -q
#
# Uses $OPENCREDIT_TEST_PG_URL if set, else the server at 127.0.0.1:5432 (database "test",
# user "postgres") if one answers, else starts a throwaway server: initdb in a temporary
# folder, a free port, database "test"; stopped and deleted when the command ends. Debian's
# postgresql package is installed with apt-get if no initdb is found (as root only).
# OPENCREDIT_PG_PROBE_PORT changes the probed port (to try the throwaway path).
set -euo pipefail

probe_port="${OPENCREDIT_PG_PROBE_PORT:-5432}"
probe_url="postgresql://postgres@127.0.0.1:${probe_port}/test"

py="$(command -v python || command -v python3)"

say() { echo "test-postgres: $*" >&2; }

reachable() {  # can we log in to database "test"?
    if command -v pg_isready >/dev/null &&
        ! pg_isready -q -h 127.0.0.1 -p "$1" -t 3; then
        return 1
    fi
    "$py" - "$2" <<'EOF' 2>/dev/null
import sys

import psycopg

psycopg.connect(sys.argv[1], connect_timeout=3).close()
EOF
}

find_bindir() {  # the newest Debian server binaries, else whatever is on PATH
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [[ -n "$dir" && -x "$dir/initdb" ]]; then
        echo "$dir"
    elif command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(command -v pg_ctl)"
    fi
}

free_port() {
    "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_throwaway() {
    local bindir user
    bindir="$(find_bindir)"
    if [[ -z "$bindir" ]]; then
        if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null; then
            say "no PostgreSQL server at 127.0.0.1:${probe_port} and no initdb to start one;"
            say "install PostgreSQL (Debian: apt-get install postgresql) or set OPENCREDIT_TEST_PG_URL"
            exit 1
        fi
        say "installing PostgreSQL with apt-get"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        bindir="$(find_bindir)"
    fi

    pg_tmp="$(mktemp -d "${TMPDIR:-/tmp}/opencredit-pg.XXXXXX")"
    as_user=()
    if [[ "$(id -u)" -eq 0 ]]; then  # the server refuses to run as root
        user=postgres
        id -u "$user" >/dev/null 2>&1 || user=nobody
        chown "$user" "$pg_tmp"
        if command -v runuser >/dev/null; then
            as_user=(runuser -u "$user" --)
        else
            as_user=(su "$user" -s /bin/sh -c '"$0" "$@"' --)
        fi
    fi
    pg_ctl_cmd=("${as_user[@]}" "$bindir/pg_ctl" -D "$pg_tmp/data")
    trap stop_throwaway EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    local port
    port="$(free_port)"
    say "starting a throwaway server in $pg_tmp on port $port"
    "${as_user[@]}" "$bindir/initdb" -D "$pg_tmp/data" -U postgres --auth=trust -E UTF8 \
        --locale=C --no-sync >"$pg_tmp/initdb.log" 2>&1 ||
        { cat "$pg_tmp/initdb.log" >&2; exit 1; }
    # fsync off: a throwaway server need not survive a power cut, and tests run faster
    "${pg_ctl_cmd[@]}" -l "$pg_tmp/server.log" -w -t 60 \
        -o "-p $port -k $pg_tmp -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null ||
        { cat "$pg_tmp/server.log" >&2; exit 1; }
    "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres test
    export OPENCREDIT_TEST_PG_URL="postgresql://postgres@127.0.0.1:${port}/test"
}

stop_throwaway() {
    "${pg_ctl_cmd[@]}" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$pg_tmp"
    say "stopped and removed the throwaway server"
}

if [[ -n "${OPENCREDIT_TEST_PG_URL:-}" ]]; then
    say "using OPENCREDIT_TEST_PG_URL"
elif reachable "$probe_port" "$probe_url"; then
    export OPENCREDIT_TEST_PG_URL="$probe_url"
    say "using the server at $probe_url"
else
    start_throwaway
fi

status=0
"$@" || status=$?
exit "$status"
