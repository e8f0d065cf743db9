#!/usr/bin/env bash
# Test "servers": containers running systemd, sshd and their own dockerd.
# Usage: tests/testbed/server.sh up NAME ADDR [IMAGE]     start NAME with 22/80/443 published on ADDR (e.g. 127.0.0.11)
#        tests/testbed/server.sh authorize NAME PUBKEY   add a public key to root's authorized_keys
#        tests/testbed/server.sh down NAME               remove NAME and its anonymous volumes
# IMAGE defaults to berth-test/server:bookworm; berth-test/server-bare:bookworm is one without Docker.
# BERTH_TESTBED_EXTRA_PORTS="8081 8444" publishes those ports on ADDR too (e.g. a second proxy beside ours).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SERVER_IMAGE=${BERTH_TESTBED_SERVER_IMAGE:-berth-test/server:bookworm}
EXTRA_PORTS=${BERTH_TESTBED_EXTRA_PORTS:-}
BOOT_TIMEOUT=90

usage() { sed -n '3,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

ready() {
  local state
  state=$(docker exec "$1" systemctl is-system-running 2>/dev/null || true)
  [ "$state" = running ] || [ "$state" = degraded ] || return 1
  docker exec "$1" systemctl is-active --quiet ssh.service || return 1
  # A bare server has no Docker until the host role installs it.
  ! docker exec "$1" test -e /usr/bin/dockerd || docker exec "$1" docker info >/dev/null 2>&1
}

up() {
  local name=$1 addr=$2 image=${3:-$SERVER_IMAGE} t=$(now_us) state port
  local -a publish=(-p "$addr:22:22" -p "$addr:80:80" -p "$addr:443:443")
  for port in $EXTRA_PORTS; do
    [[ $port =~ ^[0-9]+$ ]] || die "BERTH_TESTBED_EXTRA_PORTS: $port is not a port number"
    publish+=(-p "$addr:$port:$port")
  done
  state=$(docker container inspect -f '{{.State.Running}}' "$name" 2>/dev/null) || state=absent
  if [ "$state" != absent ] && [ "$(docker port "$name" 22/tcp)" != "$addr:22" ]; then
    die "$name exists but is not published on $addr (remove it with: $0 down $name)"
  fi
  case "$state" in
    true) ;;
    false) quiet docker start "$name" ;;
    absent)
      # A failed run (e.g. address already taken) leaves a created container behind: remove it.
      (quiet docker run -d --name "$name" --hostname "$name" --label berth-testbed=1 \
        --cap-add ALL --cap-drop SYS_RESOURCE \
        --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
        --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /run/lock \
        "${publish[@]}" "$image") || { docker rm -f -v "$name" >/dev/null 2>&1; exit 1; } ;;
  esac
  if ! (wait_for "$BOOT_TIMEOUT" "$name to boot" ready "$name"); then
    docker exec "$name" systemctl --failed --no-pager >&2 || true
    docker exec "$name" systemctl is-system-running >&2 || true
    die "$name not ready after ${BOOT_TIMEOUT}s"
  fi
  say "$t" "$name up on $addr (systemd, sshd, docker ready)"
}

authorize() {
  local name=$1 key t=$(now_us)
  key=$(cat "$2")
  docker exec -i "$name" sh -c 'umask 077; mkdir -p /root/.ssh; f=/root/.ssh/authorized_keys
    touch "$f"; k=$(cat); grep -qxF "$k" "$f" || printf "%s\n" "$k" >>"$f"' <<<"$key"
  say "$t" "key $(basename "$2") authorized on $name"
}

down() {
  local t=$(now_us)
  docker rm -f -v "$1" >/dev/null 2>&1 || true
  say "$t" "$1 removed"
}

case "${1:-}" in
  up) [ $# -eq 3 ] || [ $# -eq 4 ] || usage; up "$2" "$3" "${4:-}" ;;
  authorize) [ $# -eq 3 ] || usage; authorize "$2" "$3" ;;
  down) [ $# -eq 2 ] || usage; down "$2" ;;
  *) usage ;;
esac
