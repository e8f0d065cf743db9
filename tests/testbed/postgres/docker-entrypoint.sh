#!/usr/bin/env bash
# Entrypoint of berth-test/postgres, the contract of the official postgres image:
#   POSTGRES_PASSWORD   the superuser's password; required unless POSTGRES_HOST_AUTH_METHOD=trust
#   POSTGRES_USER       the superuser (default postgres)
#   POSTGRES_DB         a database created at init (default: POSTGRES_USER)
#   POSTGRES_HOST_AUTH_METHOD   pg_hba method for host connections (default scram-sha-256)
#   POSTGRES_INITDB_ARGS, POSTGRES_INITDB_WALDIR   more initdb arguments, a separate WAL directory
#   PGDATA              the cluster (default /var/lib/postgresql/data)
#   NAME_FILE           for POSTGRES_PASSWORD, _USER, _DB, _INITDB_ARGS: read the value from a file
# On an empty PGDATA: initdb, listen_addresses = '*', "host all all all METHOD", the database, then
# /docker-entrypoint-initdb.d/*.sh (run if executable, else sourced), *.sql and *.sql.gz, once.
# Run as root, it makes PGDATA the postgres user's and runs again as that user; then it execs the
# command, so that postgres is PID 1 and gets the stop signal. "-opt ..." means "postgres -opt ...".
# No -u: sourced init scripts expect unset variables to be empty (as in the official image).
set -Eeo pipefail
shopt -s nullglob

log() { echo "docker-entrypoint: $*"; }
fail() { echo "docker-entrypoint: error: $*" >&2; exit 1; }

# file_env VAR [DEFAULT]: export VAR from $VAR, or from the file that ${VAR}_FILE names
file_env() {
  local var=$1 file_var=${1}_FILE value=${2:-}
  if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
    fail "both $var and $file_var are set (they are exclusive)"
  fi
  if [ -n "${!var:-}" ]; then
    value=${!var}
  elif [ -n "${!file_var:-}" ]; then
    value=$(<"${!file_var}")
  fi
  export "$var=$value"
  unset "$file_var"
}

# only_informs ARGS...: the postgres command only prints something (no server, no init)
only_informs() {
  local arg
  for arg; do
    case "$arg" in
      -C | --describe-config | -V | --version | --help | '-?') return 0 ;;
    esac
  done
  return 1
}

setup_env() {
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  export PGDATA=${PGDATA:-/var/lib/postgresql/data}
  : "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
}

# As root: directories owned by postgres (only what is not yet, a large PGDATA is left alone).
fix_ownership() {
  mkdir -p "$PGDATA"
  chmod 00700 "$PGDATA" || :
  find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
  if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
    mkdir -p "$POSTGRES_INITDB_WALDIR"
    find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres:postgres '{}' +
    chmod 700 "$POSTGRES_INITDB_WALDIR"
  fi
  mkdir -p /var/run/postgresql
  chown postgres:postgres /var/run/postgresql
  chmod 3777 /var/run/postgresql
}

# psql_init DB ARGS...: psql to DB over the local socket, stopping at the first error
psql_init() {
  local db=$1
  shift
  PGHOST='' PGHOSTADDR='' psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password \
    --username "$POSTGRES_USER" --dbname "$db" "$@"
}

init_cluster() {
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
    fail "the database is uninitialized and POSTGRES_PASSWORD is not set.
  Set POSTGRES_PASSWORD to a non-empty value for the superuser, or POSTGRES_HOST_AUTH_METHOD=trust
  to allow every connection without a password (never do that outside a test)."
  fi
  local args=(--username="$POSTGRES_USER")
  [ -z "${POSTGRES_INITDB_WALDIR:-}" ] || args+=(--waldir="$POSTGRES_INITDB_WALDIR")
  # POSTGRES_INITDB_ARGS is split into words, as in the official image.
  # shellcheck disable=SC2206
  args+=($POSTGRES_INITDB_ARGS)
  if [ -n "$POSTGRES_PASSWORD" ]; then
    initdb "${args[@]}" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD")
  else
    initdb "${args[@]}"
  fi
  # Local socket connections stay "trust" (initdb's default), as in the official image.
  printf '\n%s\n' "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  printf '\n%s\n' "host all all all $POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
    log "warning: host connections are trusted (POSTGRES_HOST_AUTH_METHOD=trust): no password needed"
  fi

  # A temporary server on the socket only, for the database and the init scripts.
  export PGPASSWORD=${PGPASSWORD:-$POSTGRES_PASSWORD}
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start
  if [ "$POSTGRES_DB" != postgres ]; then
    psql_init postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  local f
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh)
        if [ -x "$f" ]; then
          log "running $f"
          "$f"
        else
          log "sourcing $f"
          # shellcheck disable=SC1090
          . "$f"
        fi
        ;;
      *.sql) log "running $f"; psql_init "$POSTGRES_DB" -f "$f" ;;
      *.sql.gz) log "running $f"; gunzip -c "$f" | psql_init "$POSTGRES_DB" ;;
      *) log "ignoring $f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop
  unset PGPASSWORD
  log "PostgreSQL init process complete; ready for start up"
}

if [ "${1:0:1}" = - ]; then
  set -- postgres "$@"
fi

if [ "$1" = postgres ] && ! only_informs "$@"; then
  setup_env
  if [ "$(id -u)" = 0 ]; then
    fix_ownership
    HOME=/var/lib/postgresql exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
  fi
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    init_cluster
  else
    log "PostgreSQL database directory appears to contain a database; skipping initialization"
  fi
fi

exec "$@"
