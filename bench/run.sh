#!/bin/sh
# run.sh — `make bench`: runs every benchmark in bench/ and prints key=value
# lines to paste into bench/RESULTS.md (with the commit printed first).
# Needs `make build` done (make bench does it). The last step compares siyu
# with ClickHouse and DuckDB (bench/peers/run.sh: SCALE=small for 100 k
# contacts; the full 1 M contacts / 20 M events dataset is made once, ~8 min,
# and cached in /tmp/siyu-bench-20m).
#
#   bench/run.sh             everything
#   ROWS=20000 bench/run.sh  smaller data
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
ROWS=${ROWS:-100000}
export ROWS

commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo uncommitted)
dirty=$(git -C "$ROOT" status --porcelain 2>/dev/null | head -1)
echo "bench commit=$commit${dirty:+ (dirty tree)} host=$(uname -n) cpus=$(nproc) date=$(date -u +%Y-%m-%dT%H:%MZ)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/siyu-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

# 1. The CSV reader alone (sy_csv_read): built here with cc against the
# static library, outside CMake, because benchmarks never live in ctest.
if [ ! -f "$BUILD/libsiyucore.a" ]; then
    echo "run.sh: $BUILD/libsiyucore.a not found; run make build first" >&2
    exit 1
fi
LIBS=$(pkg-config --libs libmicrohttpd jansson sqlite3 libsodium libcurl zlib libzstd uchardet)
CFLAGS_DEPS=$(pkg-config --cflags jansson)
# shellcheck disable=SC2086
cc -std=gnu11 -O2 -I"$ROOT/src" $CFLAGS_DEPS "$ROOT/bench/csv_read_bench.c" "$BUILD/libsiyucore.a" \
    $LIBS -lcsv -lroaring -lpthread -lm -o "$TMP/csv_read_bench"
for enc in utf8 gbk; do
    node "$ROOT/bench/gen_contacts.mjs" --rows "$ROWS" --encoding "$enc" --out "$TMP/contacts-$enc.csv"
    "$TMP/csv_read_bench" "$TMP/contacts-$enc.csv" 5 | sed "s|$TMP/||"
done

# 2. The whole CLI import (siyu import) into a fresh workspace.
"$ROOT/bench/import.sh"

# 3. Event ingestion: HTTP /v1/batch under wrk, and the writer alone.
BUILD="$BUILD" "$ROOT/bench/ingest/run.sh"

# 4. Segments (issue 5 §7) and analytics — funnel, retention, DAU, trend by
# channel (issue 6 §6) — vs ClickHouse and DuckDB on the same exported
# events, with the memory-bandwidth floor measured by bench/scan; exits 1 when
# any answer differs.
BUILD="$BUILD" "$ROOT/bench/peers/run.sh"
