#!/usr/bin/env bash
# `npm run demo [-- --keep|--down|--json|--lab NAME]`: npm runs scripts/ensure-deps.sh first (predemo:
# Debian packages, npm ci); this builds what changed (tsc -b is incremental) and runs `bumless demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "bumless demo: needs root (it creates network namespaces and runs Open vSwitch); run: sudo npm run demo" >&2
  exit 1
fi
case " $* " in
  *" --down "* | *" --help "* | *" -h "*) ;;
  *)
    echo "==> npm run build" >&2
    npm run --silent build >&2
    ;;
esac
exec node bin/bumless.js demo "$@"
