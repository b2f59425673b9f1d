#!/bin/bash
# The official mariadb image's entrypoint contract, for Debian's MariaDB 10.11:
# - `mariadbd ...` (or bare `--flags`) starts the server: as root it prepares the data directory
#   and drops to `mysql`; the first start initialises it with root's password from
#   $MARIADB_ROOT_PASSWORD, root@localhost and root@$MARIADB_ROOT_HOST (default %);
# - `mariadbd --version` / `--help` and any other command (`bash`, `mariadb`...) just run.
set -euo pipefail
DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock
[ "${1:0:1}" = - ] && set -- mariadbd "$@"

wants_server() {
  case "${1:-}" in mariadbd | mysqld) ;; *) return 1 ;; esac
  shift
  for arg; do
    case "$arg" in --help | -'?' | --version | -V | --verbose) return 1 ;; esac
  done
}

if ! wants_server "$@"; then exec "$@"; fi
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$DATADIR" /run/mysqld
  chown -R mysql:mysql "$DATADIR" /run/mysqld
  exec setpriv --reuid=mysql --regid=mysql --init-groups "$0" "$@"
fi
if [ ! -d "$DATADIR/mysql" ]; then
  : "${MARIADB_ROOT_PASSWORD:?MARIADB_ROOT_PASSWORD is required on first start}"
  host="${MARIADB_ROOT_HOST:-%}"
  mariadb-install-db --datadir="$DATADIR" --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve >/dev/null
  # A first-run server on the socket only: nothing reaches it over the network half set up.
  mariadbd --skip-networking --socket="$SOCKET" --datadir="$DATADIR" &
  pid=$!
  for _ in $(seq 60); do
    mariadb-admin --socket="$SOCKET" -u root ping >/dev/null 2>&1 && break
    sleep 1
  done
  sql() { printf '%s' "$1" | sed "s/'/''/g; s/\\\\/\\\\\\\\/g"; }
  mariadb --socket="$SOCKET" -u root <<SQL
DELETE FROM mysql.global_priv WHERE NOT (User = 'root' AND Host = 'localhost') AND User <> 'mariadb.sys';
DELETE FROM mysql.proxies_priv WHERE Host <> 'localhost';
FLUSH PRIVILEGES;
ALTER USER root@localhost IDENTIFIED BY '$(sql "$MARIADB_ROOT_PASSWORD")';
$(if [ "$host" != localhost ]; then
    echo "CREATE USER root@'$(sql "$host")' IDENTIFIED BY '$(sql "$MARIADB_ROOT_PASSWORD")';"
    echo "GRANT ALL ON *.* TO root@'$(sql "$host")' WITH GRANT OPTION;"
  fi)
SQL
  kill -TERM "$pid"
  wait "$pid"
fi
exec "$@"
