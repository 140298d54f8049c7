#!/usr/bin/env bash
# Installs bumless from the synced folder: copies the checkout (without node_modules, dist, .git) to
# /opt/bumless, runs `npm ci` there (which also builds, through the package's prepare script) and puts a
# `bumless` command on the PATH.
#
# usage: install-bumless.sh [SOURCE]      (default /vagrant)
set -euo pipefail
src=${1:-/vagrant}
dest=/opt/bumless

command -v rsync >/dev/null || {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends rsync >/dev/null
}
mkdir -p "$dest"
rsync -a --delete --exclude node_modules/ --exclude dist/ --exclude .git/ --exclude '*.tsbuildinfo' \
  --exclude .vagrant/ --exclude vagrant/.pki/ "$src/" "$dest/"
cd "$dest"
npm ci --no-audit --no-fund --loglevel=error
cat >/usr/local/bin/bumless <<'WRAP'
#!/bin/sh
exec /usr/local/bin/node /opt/bumless/bin/bumless.js "$@"
WRAP
chmod 755 /usr/local/bin/bumless
bumless --help >/dev/null
echo "bumless installed in $dest: /usr/local/bin/bumless"
