#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback, for tests and CI.
#
#   postgres.sh start DIR   initdb a cluster in DIR, start it on 127.0.0.1:$PGPORT (default 25432) and a
#                           unix socket in DIR, create the database `kubevend`; prints its postgres:// URL
#                           on its last line. PGLISTEN: another local address (a node's bridge) to
#                           listen on too, open to its /24; the URL then names that address
#   postgres.sh stop DIR    stop the cluster and remove DIR
#
# Durability is off (fsync, synchronous_commit): the data is meant to be thrown away. PostgreSQL
# refuses to run as root, so as root the server runs as the `postgres` OS user.
set -euo pipefail

cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: postgres.sh start|stop DIR" >&2; exit 2; }
port=${PGPORT:-25432}
listen=${PGLISTEN:-}
[ "$cmd" = start ] && [ -z "${POSTGRES_BIN:-}" ] && "$(dirname "$0")/../ensure-packages.sh" /usr/lib/postgresql=postgresql
bin=${POSTGRES_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$bin/pg_ctl" ] || { echo "postgres.sh: no PostgreSQL server found (apt-get install postgresql)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop() {
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" stop -D "$dir/data" -m immediate -w >/dev/null || true
  fi
  rm -rf "$dir"
}

start() {
  mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  as_owner "$bin/initdb" -D "$dir/data" -U postgres -A reject --encoding=UTF8 --locale=C -N >"$dir/initdb.log" \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  # Trust, and only on loopback and the socket in DIR: nothing else may connect.
  cat > "$dir/data/pg_hba.conf" <<HBA
local all all trust
host all all 127.0.0.1/32 trust
HBA
  if [ -n "$listen" ]; then echo "host all all ${listen%.*}.0/24 trust" >> "$dir/data/pg_hba.conf"; fi
  cat >> "$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1${listen:+,$listen}'
port = $port
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
CONF
  as_owner "$bin/pg_ctl" start -D "$dir/data" -l "$dir/postgres.log" -w -t 60 >/dev/null \
    || { cat "$dir/postgres.log" >&2; exit 1; }
  as_owner "$bin/createdb" -h "$dir" -p "$port" -U postgres kubevend
  echo "postgres://postgres@${listen:-127.0.0.1}:$port/kubevend"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: postgres.sh start|stop DIR" >&2; exit 2 ;;
esac
