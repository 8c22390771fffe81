#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, run and test siyu.
# Idempotent and silent when everything is already present.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS="build-essential cmake pkg-config libmicrohttpd-dev libjansson-dev
libsqlite3-dev libroaring-dev libcurl4-openssl-dev libsodium-dev libcsv-dev
libuchardet-dev zlib1g-dev libzstd-dev libcmocka-dev chromium fonts-noto-cjk wrk"

missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# Node.js may come from Debian or from elsewhere (NodeSource ships npm inside
# its nodejs package, which conflicts with Debian's npm): ask for the
# commands, not the packages.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
  echo "setup: installing$missing" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  # shellcheck disable=SC2086
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

# Node packages for the tests (and the console, once it exists), from the
# committed lock files. Re-run npm ci only when the lock file changed.
npm_ci() {
  dir=$1
  [ -f "$dir/package-lock.json" ] || return 0
  stamp="$dir/node_modules/.siyu-lock"
  if [ ! -f "$stamp" ] || ! cmp -s "$dir/package-lock.json" "$stamp"; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp "$dir/package-lock.json" "$stamp"
  fi
}
npm_ci .
npm_ci web
