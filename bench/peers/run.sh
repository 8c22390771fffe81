#!/bin/sh
# bench/peers/run.sh — siyu vs ClickHouse and DuckDB on the very same
# events: the segments of issue 5 §7 and the analytics questions of issue 6
# §6 (funnel, retention, DAU, trend by channel), each answer compared exactly,
# with the memory-bandwidth floor of bench/scan. Called by bench/run.sh
# (`make bench`); runs alone:
#
#   bench/peers/run.sh                      1 M contacts, ~20 M events, 90 days
#   SCALE=small bench/peers/run.sh          100 k contacts (quicker)
#   BENCH_OUT=/tmp/x BUILD=/tmp/b RUNS=7 bench/peers/run.sh
#
# Prerequisites: `make build` (BUILD, default ./build, holds siyu), `npm ci`
# at the root (@duckdb/node-api; scripts/setup.sh does it), and Debian's
# clickhouse-server + clickhouse-client 18.16 — installed here with apt-get
# when missing (needs root or sudo; ~1 minute), and cc (bench/scan). Disk:
# ~7 GB in BENCH_OUT at full scale (workspace 1.2 GB, events.jsonl 4 GB,
# events.csv 0.9 GB, peers).
#
# Steps, each skipped when its output exists (idempotent; delete BENCH_OUT
# to start over):
#  1. workspace BENCH_OUT/data: a consistent copy (siyu backup) of SCALE_SRC
#     when set and holding a `siyu demo --scale` workspace, else `siyu demo
#     --seed 1 --scale` (~8 min) or `--contacts 100000`;
#  2. `siyu export events` → events.jsonl, before the bench adds its tags;
#  3. DuckDB (persistent file) loads the activity events of events.jsonl
#     (no $identify/$alias/$group, no system events: what siyu counts) with
#     read_json, with each event's channel, and writes events.csv for
#     ClickHouse; as_of = last event + 1 ms, first/last event (meta.json);
#  4. a private ClickHouse server (config from bench/peers/ch/, data and
#     logs under BENCH_OUT/ch, 127.0.0.1 only, ports CH_TCP/CH_HTTP,
#     default 19000/18123) started here and stopped at the end; events
#     loaded into a MergeTree ORDER BY (contact_id, ts), then OPTIMIZE FINAL;
#  5. bench/scan (cc -O2 -pthread): 2 threads reading arrays as large as the
#     columns each question scans, for as many rows as siyu holds → scan.txt
#     (21 passes back to back); bench.mjs also keeps a `scan ROWS serve`
#     process and times one pass in every round, right after siyu's call,
#     so that the floor is also measured in the rounds' conditions;
#  6. bench.mjs run: `siyu serve` on the workspace, two manual tags (even
#     ids; ids divisible by 3) added through POST /api/v1/tags/{id}/members
#     in chunks of 10 000, the same pairs loaded into both peers; then every
#     question timed on all three engines (RUNS rounds, default 5, medians),
#     segment counts and member id sets and whole analytics answers compared
#     (exit 1 if any differs or an engine fails), a table with ratios and
#     the bandwidth floor printed. The analytics range is every Asia/Shanghai
#     day holding an event; the peers compute days as (ts + 8 h) div 24 h.
# The data steps (demo, export, DuckDB load) run under nice (BENCH_NICE,
# default 10). The ClickHouse server and the timed phase run all three
# engines at the same niceness BENCH_TIME_NICE (default 0): niced engines on
# a machine shared with other work measure the other work, not the engines.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/bench/peers
BUILD=${BUILD:-$ROOT/build}
SCALE=${SCALE:-full}
case "$SCALE" in
full) OUT=${BENCH_OUT:-/tmp/siyu-bench-20m} ;;
small) OUT=${BENCH_OUT:-/tmp/siyu-bench-peers-small} ;;
*) echo "peers: SCALE must be full or small" >&2; exit 2 ;;
esac
SCALE_SRC=${SCALE_SRC:-}
CH_TCP=${CH_TCP:-19000}
CH_HTTP=${CH_HTTP:-18123}
CH_IS=${CH_IS:-19009}
NICE="nice -n ${BENCH_NICE:-10}"
TNICE="nice -n ${BENCH_TIME_NICE:-0}"
SIYU=$BUILD/siyu
[ -x "$SIYU" ] || { echo "peers: $SIYU not found; run make build first" >&2; exit 1; }
mkdir -p "$OUT"
log() { echo "peers: $*"; }

# 0. ClickHouse from Debian when missing.
CH_SERVER=$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)
if [ ! -x "$CH_SERVER" ] || ! command -v clickhouse-client >/dev/null 2>&1; then
    log "installing clickhouse-server clickhouse-client (Debian)"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clickhouse-server clickhouse-client >/dev/null
fi
(cd "$ROOT" && node -e "import('@duckdb/node-api')" 2>/dev/null) ||
    { echo "peers: @duckdb/node-api missing; run npm ci at the repository root (make setup)" >&2; exit 1; }

# 1. The workspace.
if [ ! -f "$OUT/data/demo.json" ]; then
    rm -rf "$OUT/data" && mkdir -p "$OUT/data"
    if [ "$SCALE" = full ] && [ -n "$SCALE_SRC" ] && [ -f "$SCALE_SRC/demo.json" ] && [ -f "$SCALE_SRC/siyu.db" ]; then
        log "copying the workspace in $SCALE_SRC"
        $NICE "$SIYU" backup --data "$SCALE_SRC" --to "$OUT/data/siyu.db"
        cp "$SCALE_SRC/demo.json" "$OUT/data/demo.json.part"
    else
        if [ "$SCALE" = full ]; then size=--scale; else size="--contacts 100000"; fi
        log "siyu demo --seed 1 $size (full scale takes ~8 min)"
        # shellcheck disable=SC2086
        $NICE "$SIYU" demo --data "$OUT/data" --seed 1 $size >"$OUT/demo.log" 2>&1 ||
            { tail -20 "$OUT/demo.log" >&2; exit 1; }
        mv "$OUT/data/demo.json" "$OUT/data/demo.json.part"
    fi
    mv "$OUT/data/demo.json.part" "$OUT/data/demo.json"
fi

# 2. The events, exactly as siyu stores them.
if [ ! -f "$OUT/events.jsonl" ]; then
    log "siyu export events"
    $NICE "$SIYU" export events --data "$OUT/data" --to "$OUT/events.jsonl.part" >"$OUT/export.log" 2>&1 ||
        { tail -20 "$OUT/export.log" >&2; exit 1; }
    mv "$OUT/events.jsonl.part" "$OUT/events.jsonl"
fi

# 3. DuckDB load, events.csv, meta.json.
(cd "$ROOT" && OUT="$OUT" $NICE node "$HERE/bench.mjs" prep)

# 4. ClickHouse: private config, start, load.
CHD=$OUT/ch
mkdir -p "$CHD/log" "$CHD/data" "$CHD/tmp" "$CHD/user_files" "$CHD/format_schemas"
THREADS=$(nproc)
sed -e "s|@DIR@|$CHD|g" -e "s|@TCP@|$CH_TCP|g" -e "s|@HTTP@|$CH_HTTP|g" -e "s|@IS@|$CH_IS|g" \
    "$HERE/ch/config.xml" >"$CHD/config.xml"
sed -e "s|@THREADS@|$THREADS|g" "$HERE/ch/users.xml" >"$CHD/users.xml"
AS=""
if [ "$(id -u)" -eq 0 ] && id clickhouse >/dev/null 2>&1; then
    chown -R clickhouse: "$CHD"
    AS="runuser -u clickhouse --"
fi
chq() { clickhouse-client --host 127.0.0.1 --port "$CH_TCP" "$@"; }
CH_PID=""
# shellcheck disable=SC2317 # called by the traps
stop_ch() {
    if [ -n "$CH_PID" ]; then
        kill "$CH_PID" 2>/dev/null || true
        i=0
        while kill -0 "$CH_PID" 2>/dev/null && [ "$i" -lt 60 ]; do sleep 0.5; i=$((i + 1)); done
    fi
}
trap stop_ch EXIT
trap 'exit 130' INT TERM
if chq -q "SELECT 1" >/dev/null 2>&1; then
    echo "peers: something already answers on 127.0.0.1:$CH_TCP; set CH_TCP/CH_HTTP/CH_IS to free ports" >&2
    exit 1
fi
log "starting $CH_SERVER ($(clickhouse-client --version 2>/dev/null | sed 's/.*version //')) on 127.0.0.1:$CH_TCP/$CH_HTTP"
# shellcheck disable=SC2086
setsid $TNICE $AS "$CH_SERVER" --config-file="$CHD/config.xml" >"$CHD/log/stdout.log" 2>&1 &
CH_PID=$!
i=0
until chq -q "SELECT 1" >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 120 ] || ! kill -0 "$CH_PID" 2>/dev/null; then
        echo "peers: clickhouse-server did not start; see $CHD/log/" >&2
        tail -20 "$CHD/log/clickhouse-server.err.log" >&2 || true
        exit 1
    fi
    sleep 0.5
done
# A table from an older layout of this bench (no channel column, every
# exported row) or with other rows than meta.json says is loaded again.
want=$(node -e "console.log(JSON.parse(require('fs').readFileSync('$OUT/meta.json','utf8')).events)")
if [ "$(chq -q "SELECT count() FROM system.columns WHERE database = 'bench' AND table = 'events' AND name = 'channel'")" = 0 ] ||
    [ "$(chq -q 'SELECT count() FROM bench.events')" != "$want" ]; then
    chq -q "DROP TABLE IF EXISTS bench.events"
fi
chq --multiquery <"$HERE/ch/schema.sql"
if [ "$(chq -q 'SELECT count() FROM bench.events')" = 0 ]; then
    log "loading events.csv into ClickHouse"
    t0=$(date +%s)
    $NICE clickhouse-client --host 127.0.0.1 --port "$CH_TCP" -q "INSERT INTO bench.events FORMAT CSV" <"$OUT/events.csv"
    chq -q "OPTIMIZE TABLE bench.events FINAL"
    log "clickhouse load+optimize s=$(($(date +%s) - t0))"
fi

# 5. The memory-bandwidth floor: as many rows as siyu's engine holds (every
# exported event), at the same niceness as the timed phase.
rows=$(node -e "console.log(JSON.parse(require('fs').readFileSync('$OUT/meta.json','utf8')).exported)")
cc -O2 -pthread "$ROOT/bench/scan/scan.c" -o "$OUT/scan"
$TNICE "$OUT/scan" "$rows" "${SCAN_RUNS:-21}" ts,contact,type ts,contact,type,flags ts,contact,flags ts,type,dim ts,contact,type,dim >"$OUT/scan.txt"
cat "$OUT/scan.txt"

# 6. The questions.
rc=0
(cd "$ROOT" && OUT="$OUT" SIYU="$SIYU" CH_HTTP="$CH_HTTP" $TNICE node "$HERE/bench.mjs" run) || rc=$?
exit $rc
