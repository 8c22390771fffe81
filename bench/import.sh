#!/bin/sh
# import.sh — times `siyu import` of a generated contacts CSV and prints rows/s.
#
#   bench/import.sh                    100,000 rows, UTF-8 and GBK, fresh workspaces
#   ROWS=20000 ENCODINGS=gbk bench/import.sh
#
# Each encoding gets its own fresh data dir, prepared with `siyu demo
# --contacts 0` (staff, stores and channels, no contacts), so every row is a
# new contact. 负责人 cycles through the demo staff (by display name when
# unique, else by username). 来源 must name an existing acquisition channel:
# taken from demo.json's "channels" when it lists them, else SOURCES (default:
# the channel names `siyu demo` creates today). 门店 likewise from demo.json's
# "stores" when they carry names, else STORES (default: the demo's stores).
# Generation is not timed; the time is the wall clock of the whole
# `siyu import` process (open, parse, validate, stage, publish).
#
# Output: one line per encoding, key=value:
#   import encoding=utf8 rows=100000 imported=100000 rejected=0 seconds=3.21 rows_per_s=31152
# Exit status 1 when an import fails or does not import every row.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIYU=${SIYU_BIN:-$ROOT/build/siyu}
ROWS=${ROWS:-100000}
ENCODINGS=${ENCODINGS:-"utf8 gbk"}
SEED=${SEED:-1}
STORES=${STORES:-"上海徐汇店,上海静安店,上海浦东店,广州天河店,广州越秀店,广州海珠店"}
SOURCES=${SOURCES:-"抖音信息流广告,百度搜索推广,合作伙伴-银行联名,老带新推荐,其他"}

if [ ! -x "$SIYU" ]; then
    echo "import.sh: $SIYU not found; run make build first" >&2
    exit 1
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/siyu-bench-import.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

now_ns() { date +%s%N; }
status=0
for enc in $ENCODINGS; do
    data="$TMP/data-$enc"
    csv="$TMP/contacts-$ROWS-$enc.csv"
    "$SIYU" demo --data "$data" --seed "$SEED" --contacts 0 >"$TMP/demo-$enc.log" 2>&1 || {
        echo "import.sh: siyu demo failed:" >&2
        cat "$TMP/demo-$enc.log" >&2
        exit 1
    }
    # Three lines: owners, sources, stores (comma-separated).
    node -e '
        const [file, sources, stores] = process.argv.slice(1);
        const d = require(file);
        const count = {};
        for (const s of d.staff) count[s.name] = (count[s.name] || 0) + 1;
        const names = (list) => (list || []).map((x) => (x && typeof x === "object" ? x.name || x.code : null))
            .filter(Boolean);
        console.log(d.staff.map((s) => (count[s.name] === 1 ? s.name : s.username)).join(","));
        console.log(names(d.channels).join(",") || sources);
        console.log(names(d.stores).join(",") || stores);
    ' "$data/demo.json" "$SOURCES" "$STORES" >"$TMP/refs-$enc"
    owners=$(sed -n 1p "$TMP/refs-$enc")
    sources=$(sed -n 2p "$TMP/refs-$enc")
    stores=$(sed -n 3p "$TMP/refs-$enc")
    node "$ROOT/bench/gen_contacts.mjs" --rows "$ROWS" --encoding "$enc" --seed "$SEED" \
        --owners "$owners" --sources "$sources" --stores "$stores" --out "$csv"
    bytes=$(wc -c <"$csv" | tr -d ' ')

    t0=$(now_ns)
    if ! "$SIYU" import --data "$data" --file "$csv" >"$TMP/import-$enc.out" 2>"$TMP/import-$enc.err"; then
        echo "import.sh: siyu import failed (encoding=$enc):" >&2
        head -20 "$TMP/import-$enc.out" "$TMP/import-$enc.err" >&2
        status=1
        continue
    fi
    t1=$(now_ns)

    # The report's summary line: "import N: encoding=… rows=… imported=… updated=… skipped=… rejected=…"
    summary=$(grep -m1 '^import [0-9]*:' "$TMP/import-$enc.out" || true)
    field() { printf '%s\n' "$summary" | sed -n "s/.*[ :]$1=\\([0-9]*\\).*/\\1/p"; }
    imported=$(field imported)
    rejected=$(field rejected)
    node -e '
        const [enc, rows, bytes, imported, rejected, ns] = process.argv.slice(1);
        const s = Number(ns) / 1e9;
        console.log(`import encoding=${enc} rows=${rows} bytes=${bytes} imported=${imported || "?"} ` +
            `rejected=${rejected || "?"} seconds=${s.toFixed(2)} rows_per_s=${Math.round(rows / s)}`);
    ' "$enc" "$ROWS" "$bytes" "$imported" "$rejected" "$((t1 - t0))"
    if [ "${imported:-}" != "$ROWS" ]; then
        echo "import.sh: expected $ROWS rows imported, report says: ${summary:-nothing}" >&2
        grep -m5 '^line ' "$TMP/import-$enc.out" >&2 || true
        status=1
    fi
done
exit $status
