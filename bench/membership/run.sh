#!/bin/sh
# run.sh — event-to-membership latency under ingestion load (issue 5 §5):
# a fresh demo workspace, `siyu serve`, wrk driving /v1/batch with
# bench/ingest/batch.lua (100 events per request, CONNECTIONS connections,
# default 4) for the
# whole run, and probe.mjs measuring, for PROBES new contacts one at a time,
# the time from sending an event that makes the contact a member of a saved
# segment to its segment_entered event being readable through the API.
# Goal: p99 under 1 s. Prints key=value lines.
#   bench/membership/run.sh     PROBES=50 CONTACTS=20000 CONNECTIONS=16 bench/membership/run.sh
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
PROBES=${PROBES:-50}
CONTACTS=${CONTACTS:-20000}
CONNECTIONS=${CONNECTIONS:-4}
command -v wrk >/dev/null || { echo "membership: wrk not found (scripts/setup.sh installs it)" >&2; exit 1; }
[ -x "$BUILD/siyu" ] || { cmake -S "$ROOT" -B "$BUILD" >/dev/null && cmake --build "$BUILD" -j2 >/dev/null; }
TMP=$(mktemp -d /tmp/siyu-membership.XXXXXX)
PID=
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null
    wait 2>/dev/null
    [ "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
"$BUILD/siyu" demo --data "$TMP/d" --contacts "$CONTACTS" >/dev/null 2>&1
"$BUILD/siyu" serve --data "$TMP/d" --listen 127.0.0.1:0 >"$TMP/log" 2>&1 &
PID=$!
PORT=
for _ in $(seq 1 300); do
    PORT=$(sed -n 's/.*listening url=http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/log" | head -n1)
    [ -n "$PORT" ] && break
    sleep 0.1
done
[ -n "$PORT" ] || { echo "membership: the server did not start" >&2; cat "$TMP/log" >&2; exit 1; }
WRITE_KEY=$(sed -n 's/.*"write_key": *"\([^"]*\)".*/\1/p' "$TMP/d/demo.json")
TOKEN=$(sed -n 's/.*"api_token": *"\([^"]*\)".*/\1/p' "$TMP/d/demo.json" | head -n1)
export WRITE_KEY USERS=100000 BATCH=100
wrk -t1 -c"$CONNECTIONS" -d600s -s "$ROOT/bench/ingest/batch.lua" "http://127.0.0.1:$PORT" >"$TMP/wrk.log" 2>&1 &
WRK=$!
sleep 3
node "$ROOT/bench/membership/probe.mjs" "http://127.0.0.1:$PORT" "$TOKEN" "$WRITE_KEY" "$PROBES"
rc=$?
kill "$WRK" 2>/dev/null || true
EVENTS=$(curl -fsS "http://127.0.0.1:$PORT/metrics" | sed -n 's/^siyu_events_total //p')
echo "ingest_events_total=$EVENTS contacts=$CONTACTS connections=$CONNECTIONS"
exit $rc
