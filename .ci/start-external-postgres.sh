#!/usr/bin/env bash
# Starts a PostgreSQL server that the project itself does not start (Debian's package), so the
# end-to-end test mirrors into a server given only by host and port. Prints its URL on stdout;
# prints nothing (and exits 0) when no such server can be had on this machine.
set -uo pipefail

port=${EXTERNAL_PG_PORT:-55432}
dir=/tmp/affiliate-mirror-external-pg
password=external-test-password

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ] || [ ! -x "$bin/postgres" ]; then
  if command -v apt-get >/dev/null; then
    timeout 300 apt-get install -y -qq postgresql >/dev/null 2>&1 ||
      { timeout 300 apt-get update -qq >/dev/null 2>&1 &&
        timeout 300 apt-get install -y -qq postgresql >/dev/null 2>&1; } || true
  fi
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
[ -n "$bin" ] && [ -x "$bin/postgres" ] || exit 0
id postgres >/dev/null 2>&1 || exit 0

as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ ! -f "$dir/data/PG_VERSION" ]; then
  rm -rf "$dir" && mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  echo "$password" > "$dir/pw" && [ "$(id -u)" = 0 ] && chown postgres "$dir/pw"
  as_postgres "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pw" -A scram-sha-256 >/dev/null || exit 0
fi
as_postgres "$bin/pg_ctl" -D "$dir/data" -o "-p $port -k $dir -c listen_addresses=127.0.0.1" \
  -l "$dir/log" -w start >/dev/null 2>&1 || true
"$bin/pg_isready" -h 127.0.0.1 -p "$port" >/dev/null 2>&1 || exit 0

echo "postgres://postgres:$password@127.0.0.1:$port/postgres"
