#!/usr/bin/env bash
# Entrypoint of berth-test/redis, the contract of the official redis image: a first argument that
# is an option (-...) or a config file (*.conf) means "redis-server ARGS". Run as root, it gives the
# working directory (/data) to the redis user and runs again as that user; then it execs the command,
# so that redis-server is PID 1 and gets SIGTERM. Debian's /etc/redis/redis.conf is never read: only
# a config file named in the arguments is.
set -euo pipefail

if [ "${1#-}" != "${1:-}" ] || [ "${1%.conf}" != "${1:-}" ]; then
  set -- redis-server "$@"
fi

if [ "${1:-}" = redis-server ]; then
  if [ "$(id -u)" = 0 ]; then
    find . \! -user redis -exec chown redis '{}' +
    HOME=/var/lib/redis exec setpriv --reuid=redis --regid=redis --init-groups "${BASH_SOURCE[0]}" "$@"
  fi
  # Without a config file, listen on every address without protected mode, as the official image
  # does (its redis-server is built with protected-mode off; Debian's is not). Arguments after it
  # still win (redis-server ... --protected-mode yes); --version and the like must stay first.
  case "${2:-}" in
    -v | --version | -h | --help | --test-memory | --check-system) ;;
    '' | -*) set -- redis-server --protected-mode no "${@:2}" ;;
  esac
  # Files written by the server (dump.rdb, appendonly) are the redis user's only.
  [ "$(umask)" != 0022 ] || umask 0077
fi

exec "$@"
