# shellcheck shell=bash disable=SC2034
# Shared helpers for the testbed scripts (sourced, not run).
export LC_ALL=C
REGISTRY=172.17.0.1:5000
# A second registry that requires a login (htpasswd), for the registry-credential tests.
# 127.0.0.0/8 is insecure for dockerd by default, so it needs neither TLS nor a dockerd flag.
AUTH_REGISTRY=127.0.0.1:5001
AUTH_USER=berth
AUTH_PASSWORD=berth-registry-secret
CACHE_DIR=/var/cache/berth-testbed
TESTBED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

now_us() { echo "${EPOCHREALTIME/./}"; }

# say START MSG: one line "script: MSG (1.2s)" with the time since START (from now_us)
say() {
  local d=$(( $(now_us) - $1 ))
  printf '%s: %s (%d.%ds)\n' "$(basename "$0" .sh)" "$2" $((d / 1000000)) $((d % 1000000 / 100000))
}

die() { echo "$(basename "$0" .sh): ERROR: $*" >&2; exit 1; }

# quiet CMD...: run CMD, show its output only if it fails
quiet() {
  local out
  if ! out=$("$@" 2>&1); then
    printf '%s\n' "$out" | tail -n 40 >&2
    die "failed: $*"
  fi
}

# wait_for SECONDS DESCRIPTION CMD...: poll CMD every 0.2 s until it succeeds
wait_for() {
  local limit=$(( $(now_us) + $1 * 1000000 )) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$(now_us)" -lt "$limit" ] || die "timed out waiting for $what"
    sleep 0.2
  done
}
