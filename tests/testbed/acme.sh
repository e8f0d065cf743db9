#!/usr/bin/env bash
# A local ACME server for the HTTPS tests: Debian's pebble (RFC 8555) and pebble-challtestsrv as its DNS.
#   tests/testbed/acme.sh up ADDRESS   every name resolves to ADDRESS (a test server's loopback address),
#                                      pebble validates challenges there: HTTP-01 on :80, TLS-ALPN-01 on :443
#   tests/testbed/acme.sh down
# The directory is https://172.17.0.1:14000/dir (reachable from the test servers' containers, like the
# registry); its TLS certificate is signed by $ACME_DIR/ca.pem (berth_proxy.acme.ca_certificate). Pebble's
# issuing root is at https://127.0.0.1:15000/roots/0 (a new one every start).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ACME_DIR=/var/lib/berth-test-acme
LISTEN=172.17.0.1:14000
MANAGEMENT=127.0.0.1:15000
DNS=127.0.0.1:8053

install() {
  [ "$(dpkg-query -W -f='${Status}' pebble 2>/dev/null)" = "install ok installed" ] && return 0
  local t=$(now_us)
  quiet apt-get update
  quiet env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends pebble openssl
  say "$t" "installed pebble"
}

certificates() {
  [ -s "$ACME_DIR/cert.pem" ] && return 0
  mkdir -p "$ACME_DIR"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj "/CN=berth test ACME CA" \
    -keyout "$ACME_DIR/ca.key" -out "$ACME_DIR/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=${LISTEN%:*}" \
    -keyout "$ACME_DIR/key.pem" -out "$ACME_DIR/cert.csr" 2>/dev/null
  printf 'subjectAltName=IP:%s,IP:127.0.0.1,DNS:localhost\n' "${LISTEN%:*}" >"$ACME_DIR/san.ext"
  openssl x509 -req -in "$ACME_DIR/cert.csr" -CA "$ACME_DIR/ca.pem" -CAkey "$ACME_DIR/ca.key" -CAcreateserial \
    -days 3650 -extfile "$ACME_DIR/san.ext" -out "$ACME_DIR/cert.pem" 2>/dev/null
}

down() {
  pkill -f "^pebble -config $ACME_DIR/" 2>/dev/null || true
  pkill -f "^pebble-challtestsrv .*-dns01 $DNS" 2>/dev/null || true
  for _ in $(seq 50); do pgrep -f "^pebble(-challtestsrv)? .*$DNS" >/dev/null || return 0; sleep 0.1; done
}

up() {
  local address=$1 t=$(now_us)
  install
  certificates
  down
  cat >"$ACME_DIR/config.json" <<JSON
{"pebble": {"listenAddress": "$LISTEN", "managementListenAddress": "$MANAGEMENT",
            "certificate": "$ACME_DIR/cert.pem", "privateKey": "$ACME_DIR/key.pem",
            "httpPort": 80, "tlsPort": 443, "ocspResponderURL": "", "externalAccountBindingRequired": false}}
JSON
  setsid -f pebble-challtestsrv -defaultIPv4 "$address" -defaultIPv6 "" -dns01 "$DNS" -http01 "" -https01 "" \
    -tlsalpn01 "" -management 127.0.0.1:8055 </dev/null >/tmp/berth-challtestsrv.log 2>&1
  # no random nonce rejections nor sleeps before validating: the tests measure berth, not retries
  PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 setsid -f pebble -config "$ACME_DIR/config.json" -dnsserver "$DNS" \
    </dev/null >/tmp/berth-pebble.log 2>&1
  wait_for 30 "pebble" curl -fsS --cacert "$ACME_DIR/ca.pem" "https://$LISTEN/dir"
  say "$t" "pebble on https://$LISTEN/dir, every name -> $address"
}

case "${1:-}" in
  up) up "${2:?usage: acme.sh up ADDRESS}" ;;
  down) down ;;
  *) die "usage: acme.sh up ADDRESS | down" ;;
esac
