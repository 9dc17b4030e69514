#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL: creates a cluster in a temporary folder, starts it
# on a free 127.0.0.1 port, runs the command with MNESIS_TEST_DATABASE_URL set, then stops the
# server and removes the folder, whatever the command's outcome (its exit status is kept).
#
#   scripts/with-postgres.sh npx vitest run --config vitest.pg.config.ts
#
# It installs nothing: it finds `initdb` and `pg_ctl` on PATH or where Debian's `postgresql`
# package puts them (/usr/lib/postgresql/<version>/bin); without them it says what to install.
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user (Debian's
# package creates it), or as a `mnesis-pg` system user created for the purpose.
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 <command> [args...]" >&2
  exit 2
fi

find_bin() {
  if command -v "$1" >/dev/null 2>&1; then
    command -v "$1"
    return
  fi
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/$1" ]; then
      echo "$dir/$1"
      return
    fi
  done
}

initdb_bin="$(find_bin initdb)"
pg_ctl_bin="$(find_bin pg_ctl)"
if [ -z "$initdb_bin" ] || [ -z "$pg_ctl_bin" ]; then
  echo "with-postgres: initdb/pg_ctl not found; install PostgreSQL first (Debian: apt-get install -y postgresql)" >&2
  exit 1
fi

# the user the server runs as, and how to run a command as that user
run_as=()
if [ "$(id -u)" -eq 0 ]; then
  user=postgres
  if ! id "$user" >/dev/null 2>&1; then
    user=mnesis-pg
    id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
  fi
  if command -v runuser >/dev/null 2>&1; then run_as=(runuser -u "$user" --); else run_as=(su "$user" -s /bin/sh -c); fi
fi
as_server() {
  if [ "${#run_as[@]}" -eq 0 ]; then
    "$@"
  elif [ "${run_as[0]}" = runuser ]; then
    "${run_as[@]}" "$@"
  else
    "${run_as[@]}" "$(printf '%q ' "$@")"
  fi
}

dir="$(mktemp -d "${TMPDIR:-/tmp}/mnesis-pg.XXXXXX")"
chmod 755 "$dir"
if [ "${#run_as[@]}" -gt 0 ]; then chown "$user" "$dir"; fi

# a free port: bind port 0 and read what the kernel gave
port="$(node -e 'const s = require("node:net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close() })')"

started=0
cleanup() {
  local status=$?
  if [ "$started" -eq 1 ]; then as_server "$pg_ctl_bin" stop -D "$dir/data" -m fast -w >/dev/null 2>&1 || true; fi
  rm -rf "$dir"
  exit "$status"
}
trap cleanup EXIT INT TERM

as_server "$initdb_bin" -D "$dir/data" -U mnesis -A trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; exit 1; }
# fsync off: a test server loses nothing it needs when the machine crashes
as_server "$pg_ctl_bin" start -D "$dir/data" -w -t 60 -l "$dir/server.log" \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
  >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
started=1

export MNESIS_TEST_DATABASE_URL="postgres://mnesis@127.0.0.1:$port/postgres"
echo "with-postgres: PostgreSQL $("$pg_ctl_bin" --version | grep -oE "[0-9]+(\.[0-9]+)+" | head -1) at $MNESIS_TEST_DATABASE_URL" >&2
set +e
"$@"
status=$?
set -e
exit "$status"
