#!/bin/bash
# The official postgres image's entrypoint contract, for Debian's PostgreSQL 15:
# - `postgres ...` (or bare `-c ...` flags) starts the server: as root it prepares $PGDATA and
#   drops to `postgres`; the first start runs initdb with $POSTGRES_PASSWORD (scram over TCP);
# - `postgres --version` / `--help` and any other command (`bash`, `psql`...) just run.
set -euo pipefail
export PATH="/usr/lib/postgresql/15/bin:$PATH"
: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA
[ "${1:0:1}" = - ] && set -- postgres "$@"

wants_server() {
  [ "${1:-}" = postgres ] || return 1
  shift
  for arg; do
    case "$arg" in -'?' | --help | --describe-config | -C | --version | -V) return 1 ;; esac
  done
}

if ! wants_server "$@"; then exec "$@"; fi
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /run/postgresql
  chown -R postgres:postgres "$PGDATA" /run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile="$(mktemp)"
  printf '%s' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required on first start}" >"$pwfile"
  initdb -D "$PGDATA" -U postgres -E UTF8 --auth-local=trust --auth-host=scram-sha-256 --pwfile="$pwfile" >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
fi
shift
# Listen beyond loopback, as the official image's config does (later arguments override it).
exec postgres -c listen_addresses='*' "$@"
