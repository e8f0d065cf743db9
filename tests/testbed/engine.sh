#!/usr/bin/env bash
# Ensure a Docker engine, the test registry (172.17.0.1:5000) and the one that requires a login
# (127.0.0.1:5001, htpasswd user berth) are up.
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
AUTH_REGISTRY_DIR=/var/lib/berth-test-registry-auth
AUTH_REGISTRY_LOG=/tmp/berth-registry-auth.log

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

# auth_status [CURL ARGS...]: the HTTP status of the auth registry's /v2/ (000 when nothing answers)
auth_status() { curl -s -o /dev/null -w '%{http_code}' "$@" "http://$AUTH_REGISTRY/v2/" 2>/dev/null || true; }

auth_ready() {
  [ "$(auth_status)" = 401 ] && [ "$(auth_status -u "$AUTH_USER:$AUTH_PASSWORD")" = 200 ]
}

# The htpasswd entry, bcrypt (the only scheme distribution accepts) from the C library's crypt()
# (libxcrypt) through perl-base: both are always installed on Debian, so no extra package.
htpasswd_line() {
  U=$AUTH_USER P=$AUTH_PASSWORD perl -e '
    my @c = (".", "/", "A".."Z", "a".."z", "0".."9");
    open my $r, "<", "/dev/urandom" or die "urandom: $!"; read $r, my $b, 22;
    my @b = map ord, split //, $b;
    # 128 salt bits in 22 characters: the last one carries 2 bits, its low 4 bits must be 0.
    my $salt = join "", (map { $c[$_ % 64] } @b[0 .. 20]), $c[16 * ($b[21] % 4)];
    print "$ENV{U}:", crypt($ENV{P}, "\$2b\$05\$$salt") // "", "\n";'
}

ensure_auth_registry() {
  local t=$(now_us) line
  if auth_ready; then
    say "$t" "auth registry already answers on $AUTH_REGISTRY"
    return
  fi
  [ "$(auth_status)" = 000 ] ||
    die "$AUTH_REGISTRY answers, but not as the auth registry for user $AUTH_USER; stop that process"
  command -v docker-registry >/dev/null || install_packages
  mkdir -p "$AUTH_REGISTRY_DIR/data"
  line=$(htpasswd_line)
  [[ "$line" =~ ^"$AUTH_USER":\$2b\$05\$.{53}$ ]] || die "crypt() gave no bcrypt hash: '$line'"
  (umask 077 && printf '%s\n' "$line" >"$AUTH_REGISTRY_DIR/htpasswd")
  cat >"$AUTH_REGISTRY_DIR/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $AUTH_REGISTRY_DIR/data
  delete:
    enabled: true
http:
  addr: $AUTH_REGISTRY
auth:
  htpasswd:
    realm: berth-test
    path: $AUTH_REGISTRY_DIR/htpasswd
EOF
  setsid -f docker-registry serve "$AUTH_REGISTRY_DIR/config.yml" </dev/null >>"$AUTH_REGISTRY_LOG" 2>&1 9>&-
  if ! (wait_for 30 "auth registry" auth_ready); then
    tail -n 20 "$AUTH_REGISTRY_LOG" >&2 || true
    die "auth registry did not come up (log: $AUTH_REGISTRY_LOG)"
  fi
  say "$t" "auth registry started on $AUTH_REGISTRY (user $AUTH_USER, storage $AUTH_REGISTRY_DIR, log $AUTH_REGISTRY_LOG)"
}

ensure_engine
ensure_registry
ensure_auth_registry
