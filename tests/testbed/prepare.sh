#!/usr/bin/env bash
# Prepare this machine (Debian/Ubuntu, root) for the demo and the tests: system packages,
# Python packages, a Docker engine, a registry and the test images. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
missing=()
for pair in docker:docker.io dockerd:docker.io docker-registry:docker-registry debootstrap:debootstrap \
            ssh:openssh-client ssh-keygen:openssh-client curl:curl git:git; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
[ -x /bin/busybox ] || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)
  echo "prepare: installing ${packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi
python3 -m pip install -q -r tests/requirements.txt 2>&1 | grep -v "Running pip as the 'root' user" || true
bash tests/testbed/engine.sh
bash tests/testbed/build_images.sh
