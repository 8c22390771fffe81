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
  # Mirrors drop connections now and then: let apt retry each download.
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=5 update -qq >/dev/null
  # shellcheck disable=SC2086
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=5 install -y -qq $missing >/dev/null
fi

# Node packages for the tests (and the console, once it exists), from the
# committed lock files. Re-run npm ci only when the lock file changed.
npm_ci() {
  dir=$1
  [ -f "$dir/package-lock.json" ] || return 0
  stamp="$dir/node_modules/.siyu-lock"
  if [ ! -f "$stamp" ] || ! cmp -s "$dir/package-lock.json" "$stamp"; then
    # The registry sometimes stalls a download (EIDLETIMEOUT) or resets the
    # connection; npm retries a fetch only a few times, so try the whole
    # install again (npm ci starts from an empty node_modules each time).
    tries=0
    until (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error \
             --fetch-retries=5 --fetch-retry-mintimeout=2000 \
             --fetch-retry-maxtimeout=30000 >/dev/null); do
      tries=$((tries + 1))
      if [ "$tries" -ge 4 ]; then
        echo "setup: npm ci in $dir failed $tries times; giving up" >&2
        exit 1
      fi
      echo "setup: npm ci in $dir failed; retrying in $((tries * 10)) s" >&2
      sleep $((tries * 10))
    done
    cp "$dir/package-lock.json" "$stamp"
  fi
}
npm_ci .
npm_ci web
