#!/usr/bin/env bash
# Builds the console (web/) with Vite when its sources changed since the last
# build. Does nothing when there is no console yet.
set -euo pipefail
cd "$(dirname "$0")/../web"
[ -f package.json ] || exit 0
stamp=dist/.siyu-build
if [ -f "$stamp" ] && [ -z "$(find src index.html package.json vite.config.* -newer "$stamp" 2>/dev/null | head -n1)" ]; then
  exit 0
fi
npx vite build --logLevel error
touch "$stamp"
