#!/bin/bash
# The official postgres image's entrypoint contract, for Debian's PostgreSQL 15: as root it
# prepares $PGDATA and drops to `postgres`; the first start runs initdb with
# $POSTGRES_PASSWORD (scram over TCP); `postgres ...` arguments go to the server.
set -euo pipefail
export PATH="/usr/lib/postgresql/15/bin:$PATH"
: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA
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
[ "${1:-}" = postgres ] && shift
exec postgres -c listen_addresses='*' "$@"
