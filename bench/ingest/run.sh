#!/bin/sh
# run.sh — event ingestion benchmark (issue 4 §10).
#
# 1. Over HTTP: `siyu serve` on a fresh demo workspace, wrk with
#    bench/ingest/batch.lua POSTing /v1/batch (100 track events per request,
#    every messageId unique, userIds over 100,000 users, HTTP Basic write
#    key) on several connections; the 100,000 users are created first, then
#    a warm-up run, then the measured run.
#    Checks that the server stored exactly what it acknowledged: the growth
#    of siyu_events_total in /metrics lies between the events wrk saw
#    acknowledged (200) and the events it sent (the difference is the
#    requests still in flight when wrk stopped), no request got a non-2xx
#    answer, and no event was counted as a duplicate.
# 2. The same load through the writer alone (no HTTP): writer_bench.c calls
#    sy_events_ingest from as many threads as wrk has connections.
#
# Prints key=value lines; the figures go to bench/RESULTS.md ("Event
# ingestion"). Needs wrk (scripts/setup.sh installs it).
#
#   bench/ingest/run.sh
#   DURATION=20 WARMUP=5 CONNECTIONS=16 WRK_THREADS=2 bench/ingest/run.sh
#   BUILD=/tmp/b bench/ingest/run.sh     (build directory; built if missing)
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-5}
CONNECTIONS=${CONNECTIONS:-16}
WRK_THREADS=${WRK_THREADS:-2}
SERVER_THREADS=${SERVER_THREADS:-8}
USERS=${USERS:-100000}
BATCH=100

command -v wrk >/dev/null || { echo "ingest: wrk not found (apt-get install wrk, or scripts/setup.sh)" >&2; exit 1; }
if [ ! -x "$BUILD/siyu" ] || [ ! -f "$BUILD/libsiyucore.a" ]; then
    cmake -S "$ROOT" -B "$BUILD" >/dev/null
    cmake --build "$BUILD" -j2 >/dev/null
fi
SIYU=$BUILD/siyu

TMP=$(mktemp -d "${TMPDIR:-/tmp}/siyu-ingest.XXXXXX")
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# The writer-only program, against the static library (not a CMake target:
# benchmarks never live in ctest).
DEPS="libmicrohttpd jansson sqlite3 libsodium libcurl zlib libzstd uchardet"
# shellcheck disable=SC2046
cc -std=gnu11 -O2 -I"$ROOT/src" $(pkg-config --cflags $DEPS) "$ROOT/bench/ingest/writer_bench.c" \
    "$BUILD/libsiyucore.a" $(pkg-config --libs $DEPS) -lcsv -lroaring -lpthread -lm -o "$TMP/writer_bench"

write_key() { sed -n 's/.*"write_key": *"\([^"]*\)".*/\1/p' "$1/demo.json"; }
metric() { curl -fsS "http://127.0.0.1:$PORT/metrics" | sed -n "s/^$1 //p"; }

# ---- 1. over HTTP ----
# The users exist before the measured runs, as in a workspace in use: one
# signup event per user through sy_events_ingest (also the cold-path figure:
# every event creates a contact).
"$SIYU" demo --data "$TMP/http" --contacts 1000 --days 0 >/dev/null 2>&1
"$TMP/writer_bench" --seed-users "$TMP/http" "$USERS"
WRITE_KEY=$(write_key "$TMP/http")
export WRITE_KEY USERS BATCH
"$SIYU" serve --data "$TMP/http" --listen 127.0.0.1:0 --threads "$SERVER_THREADS" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
PORT=
for _ in $(seq 100); do
    PORT=$(sed -n 's/.*listening url=http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/server.log" | head -1)
    [ -n "$PORT" ] && break
    sleep 0.1
done
[ -n "$PORT" ] || { echo "ingest: the server did not start:" >&2; cat "$TMP/server.log" >&2; exit 1; }

URL=http://127.0.0.1:$PORT
RUN=warm wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$ROOT/bench/ingest/batch.lua" "$URL" >"$TMP/warm.txt"
sleep 1
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
ticks_before=$(cpu_ticks)
before=$(metric siyu_events_total)
dup_before=$(metric siyu_events_duplicates_total)
commits_before=$(metric siyu_events_commits_total)
RUN=m$(date +%s) wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$ROOT/bench/ingest/batch.lua" \
    "$URL" >"$TMP/wrk.txt"
sleep 1 # requests still in flight when wrk stopped get committed
after=$(metric siyu_events_total)
ticks=$(($(cpu_ticks) - ticks_before))
dups=$(($(metric siyu_events_duplicates_total) - dup_before))
commits=$(($(metric siyu_events_commits_total) - commits_before))
stored=$((after - before))

val() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" "$2" | head -1; }
ok_events=$(val events_ok "$TMP/wrk.txt")
sent=$(val sent "$TMP/wrk.txt")
non2xx=$(val non2xx "$TMP/wrk.txt")
errors=$(sed -n 's/.*connect_err=\([0-9]*\) read_err=\([0-9]*\) write_err=\([0-9]*\) timeouts=\([0-9]*\).*/\1 \2 \3 \4/p' "$TMP/wrk.txt")
sent_events=$((sent * BATCH))
check=ok
[ "$non2xx" -eq 0 ] || check="FAILED(non-2xx=$non2xx)"
[ "$dups" -eq 0 ] || check="FAILED(duplicates=$dups)"
if [ "$stored" -lt "$ok_events" ] || [ "$stored" -gt "$sent_events" ]; then
    check="FAILED(stored=$stored acknowledged=$ok_events sent=$sent_events)"
fi
echo "ingest_http connections=$CONNECTIONS wrk_threads=$WRK_THREADS server_threads=$SERVER_THREADS" \
    "seconds=$DURATION warmup_events=$(val events_ok "$TMP/warm.txt")" \
    "events_per_s=$(val events_per_s "$TMP/wrk.txt")" \
    "batch_p50_ms=$(val latency_p50_ms "$TMP/wrk.txt") batch_p99_ms=$(val latency_p99_ms "$TMP/wrk.txt")" \
    "server_cpu_us_per_event=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v n="$stored" 'BEGIN { printf "%.1f", n ? t / hz * 1e6 / n : 0 }')" \
    "acknowledged=$ok_events stored=$stored in_flight_at_stop=$((stored - ok_events)) commits=$commits" \
    "socket_errors=$(echo "$errors" | tr ' ' ',') check=$check"
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=

# ---- 2. the writer alone, on the same workspace (same users, same log) ----
"$TMP/writer_bench" --parse "$TMP/http"
"$TMP/writer_bench" "$TMP/http" "$CONNECTIONS" "$DURATION" "$WARMUP" "$USERS"

case $check in ok) ;; *) exit 1 ;; esac
