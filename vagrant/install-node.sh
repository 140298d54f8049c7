#!/usr/bin/env bash
# Installs Node.js 20 (the newest 20.x from nodejs.org, checksum verified) into /usr/local, unless a
# Node.js 20 or later is there already. Debian 12's own nodejs package is 18, too old for bumless.
#
# usage: install-node.sh [MAJOR]      (default 20)
set -euo pipefail
major=${1:-20}

if command -v node >/dev/null; then
  have=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$have" -ge "$major" ]; then
    echo "Node.js $(node --version) already installed"
    exit 0
  fi
fi

missing=()
for p in curl ca-certificates xz-utils; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "install-node.sh: no Node.js build for $(uname -m)" >&2; exit 1 ;;
esac
base="https://nodejs.org/dist/latest-v${major}.x"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fsSL "$base/SHASUMS256.txt" -o "$tmp/SHASUMS256.txt"
file=$(grep -oE "node-v${major}\.[0-9]+\.[0-9]+-linux-${arch}\.tar\.xz" "$tmp/SHASUMS256.txt" | head -n1)
[ -n "$file" ] || { echo "install-node.sh: no linux-${arch} tarball listed in $base/SHASUMS256.txt" >&2; exit 1; }
curl -fsSL "$base/$file" -o "$tmp/$file"
(cd "$tmp" && grep " $file\$" SHASUMS256.txt | sha256sum -c --quiet -)
tar -xJf "$tmp/$file" -C /usr/local --strip-components=1 --no-same-owner
echo "installed Node.js $(/usr/local/bin/node --version)"
