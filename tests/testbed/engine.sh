#!/usr/bin/env bash
# Ensure a Docker engine and the test registry (172.17.0.1:5000) are up.
# Usage: tests/testbed/engine.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
# Concurrent runs would each start a dockerd or a registry.
exec 9>/var/lock/berth-testbed-engine.lock
flock 9

PACKAGES=(docker.io docker-registry busybox-static debootstrap curl)
REGISTRY_DIR=/var/lib/berth-test-registry
DOCKERD_LOG=/tmp/berth-dockerd.log
REGISTRY_LOG=/tmp/berth-registry.log

install_packages() {
  local t=$(now_us) missing=() p
  for p in "${PACKAGES[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  [ "$(id -u)" = 0 ] || die "must run as root to install ${missing[*]}"
  quiet apt-get update
  quiet env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  say "$t" "installed ${missing[*]}"
}

ensure_engine() {
  local t=$(now_us) insecure
  if docker info >/dev/null 2>&1; then
    say "$t" "engine already running"
  else
    install_packages
    t=$(now_us)
    # A systemd machine starts dockerd when the package is installed; start one only if none runs.
    # 9>&-: a daemon must not inherit the lock, or it holds it forever.
    if ! docker info >/dev/null 2>&1 && ! pidof dockerd >/dev/null; then
      setsid -f dockerd --insecure-registry "$REGISTRY" </dev/null >"$DOCKERD_LOG" 2>&1 9>&-
    fi
    if ! (wait_for 60 "docker info" docker info); then
      tail -n 20 "$DOCKERD_LOG" >&2 || true
      die "engine did not come up (log: $DOCKERD_LOG)"
    fi
    say "$t" "engine started (log $DOCKERD_LOG)"
  fi
  insecure=$(docker info --format '{{range .RegistryConfig.IndexConfigs}}{{if not .Secure}}{{.Name}} {{end}}{{end}}')
  [[ " $insecure" == *" $REGISTRY "* ]] ||
    die "the running engine does not treat $REGISTRY as insecure; restart dockerd with --insecure-registry $REGISTRY"
}

ensure_registry() {
  local t=$(now_us)
  if curl -fsS -o /dev/null "http://$REGISTRY/v2/" 2>/dev/null; then
    say "$t" "registry already answers on $REGISTRY"
    return
  fi
  command -v docker-registry >/dev/null || install_packages
  mkdir -p "$REGISTRY_DIR/data"
  cat >"$REGISTRY_DIR/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $REGISTRY_DIR/data
  delete:
    enabled: true
http:
  addr: $REGISTRY
EOF
  setsid -f docker-registry serve "$REGISTRY_DIR/config.yml" </dev/null >>"$REGISTRY_LOG" 2>&1 9>&-
  if ! (wait_for 30 "registry" curl -fsS "http://$REGISTRY/v2/"); then
    tail -n 20 "$REGISTRY_LOG" >&2 || true
    die "registry did not come up (log: $REGISTRY_LOG)"
  fi
  say "$t" "registry started on $REGISTRY (storage $REGISTRY_DIR, log $REGISTRY_LOG)"
}

ensure_engine
ensure_registry
