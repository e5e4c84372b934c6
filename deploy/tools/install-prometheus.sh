#!/usr/bin/env bash
# Install promtool and prometheus from Debian's `prometheus` package when either is missing
# (`make tools`; `make test` depends on it). Idempotent. The package's own service must not
# start and hold :9090: a policy-rc.d denies it during the install, and the unit is disabled
# and stopped afterwards. Tests start their own Prometheus on a free loopback port.
set -euo pipefail

if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

POLICY=/usr/sbin/policy-rc.d
created_policy=""
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\n# installed by nazorg deploy/tools/install-prometheus.sh\nexit 101\n' \
    | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod 0755 "$POLICY"
  created_policy=1
fi
cleanup() {
  if [ -n "$created_policy" ]; then
    $SUDO rm -f "$POLICY"
  fi
}
trap cleanup EXIT

echo "installing Debian's prometheus package (promtool, prometheus)" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null

# Never leave the packaged service enabled or running.
if command -v systemctl >/dev/null 2>&1; then
  $SUDO systemctl disable --now prometheus.service >/dev/null 2>&1 || true
fi
if command -v deb-systemd-helper >/dev/null 2>&1; then
  $SUDO deb-systemd-helper disable prometheus.service >/dev/null 2>&1 || true
fi

command -v promtool >/dev/null && command -v prometheus >/dev/null
