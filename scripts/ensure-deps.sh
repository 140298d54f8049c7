#!/usr/bin/env bash
# Installs what bumless needs on a Debian 12 machine, only what is missing: Debian packages
# (Open vSwitch, iproute2, tcpdump, iperf3, ethtool, shellcheck for the shell recipes, ...) when run as root, and the npm
# dependencies (npm ci, which also builds) when node_modules is missing or older than the lock file.
# Used by `npm test` (pretest), `npm run demo` and .ci/run, so a fresh machine needs no other step.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(openvswitch-switch openvswitch-common iproute2 tcpdump iperf3 ethtool procps iputils-ping openssl ruby shellcheck)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "bumless: missing Debian packages: ${missing[*]}; install them as root: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "==> installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> npm ci"
  npm ci --no-audit --no-fund
elif [ ! -f dist/cli/main.js ] || [ ! -f openflow/dist/index.js ]; then
  echo "==> npm run build"
  npm run build
fi
