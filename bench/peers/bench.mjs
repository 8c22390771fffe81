// bench/peers/bench.mjs — siyu vs ClickHouse and DuckDB over the same
// exported events: the two segment questions of issue 5 §7 and the analytics
// questions of issue 6 §6 (funnel, retention, DAU, trend by channel). Driven
// by run.sh:
//
//   node bench/peers/bench.mjs prep   OUT=… : DuckDB loads the activity events
//        of OUT/events.jsonl, writes OUT/events.csv (ClickHouse's input) and
//        OUT/meta.json (as_of, row counts, first/last event)
//   node bench/peers/bench.mjs run    OUT=… SIYU=… CH_HTTP=port : starts
//        `siyu serve` on OUT/data, makes the two tags, loads the same
//        (tag_id, contact_id) pairs into both peers, times every question on
//        every engine, compares the answers exactly; exits 1 when any answer
//        differs or an engine fails.
//
// Every step whose output exists is skipped (tags.json, the peers' tables).
// Times are wall-clock around one call from this process: siyu and
// ClickHouse over loopback HTTP (request + evaluation + reply), DuckDB
// in-process. "first" is the first call of this run; "median" and "best"
// are over RUNS (default 5) calls after it, made in rounds across engines.
// Days are Asia/Shanghai days (UTC+8, no DST) on every engine: the peers
// compute them as (ts + 8 h) div 24 h, siyu from its workspace timezone.
// OUT/scan.txt (bench/scan, written by run.sh) gives the memory-bandwidth
// floor for the columns each question scans, 21 passes back to back; the
// floor is also timed in every round (a `scan ROWS serve` process, one
// pass right after siyu's call), and the table shows siyu ÷ both.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync, renameSync, rmSync, openSync, closeSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import os from 'node:os';
import http from 'node:http';
import { DuckDBInstance } from '@duckdb/node-api';


const HERE = dirname(fileURLToPath(import.meta.url));
const OUT = process.env.OUT;
const RUNS = Number(process.env.RUNS || 5);
const DAY = 86400000;
const TZ_MS = 8 * 3600000; // Asia/Shanghai, the demo workspace's timezone (UTC+8, no DST)
const META_VERSION = 2; // meta.json / table layout: bump when prep's output changes
if (!OUT) throw new Error('OUT is not set');

const dayOf = (ms) => Math.floor((ms + TZ_MS) / DAY);
const dayLabel = (d) => new Date(d * DAY).toISOString().slice(0, 10);

const sqlFile = (engine, name, params) => {
    let q = readFileSync(join(HERE, engine, name + '.sql'), 'utf8');
    q = q.replace(/^--.*$/gm, '').trim().replace(/;\s*$/, '');
    for (const [k, v] of Object.entries(params)) q = q.replaceAll('{' + k + '}', String(v));
    return q;
};

async function openDuck() {
    mkdirSync(join(OUT, 'duck'), { recursive: true });
    const inst = await DuckDBInstance.create(join(OUT, 'duck', 'bench.duckdb'));
    return inst.connect();
}
const duckRows = async (c, q) => (await c.runAndReadAll(q)).getRows();

async function prep() {
    const c = await openDuck();
    const jsonl = join(OUT, 'events.jsonl');
    const metaFile = join(OUT, 'meta.json'), csv = join(OUT, 'events.csv');
    let meta = existsSync(metaFile) ? JSON.parse(readFileSync(metaFile, 'utf8')) : null;
    const cols = (await duckRows(c, "SELECT column_name FROM information_schema.columns WHERE table_name = 'events'")).map((r) => r[0]);
    if (cols.length && (!cols.includes('channel') || !meta || meta.version !== META_VERSION)) {
        // A table from an older layout of this bench (issue 5: three columns, every row).
        console.log('duckdb: events table from an older bench layout; reloading');
        await c.run('DROP TABLE events');
        rmSync(metaFile, { force: true });
        rmSync(csv, { force: true });
        meta = null;
    }
    if (!cols.length || !meta) {
        const t0 = performance.now();
        for (const stmt of sqlFile('duck', 'load', { JSONL: jsonl }).split(';'))
            if (stmt.trim()) await c.run(stmt);
        console.log(`duckdb load ms=${Math.round(performance.now() - t0)}`);
    }
    if (!meta) {
        // What was left out and why, so a reader can check the peers hold
        // exactly the events siyu counts as activity.
        const [[exported, metaRows, systemRows]] = await duckRows(c, `SELECT count(*),
                count(*) FILTER (WHERE event IN ('$identify', '$alias', '$group')),
                count(*) FILTER (WHERE messageId IS NULL AND event NOT IN ('$identify', '$alias', '$group'))
            FROM read_json('${jsonl}', format = 'newline_delimited', columns = {messageId: 'VARCHAR', event: 'VARCHAR'})`);
        const [[n, minTs, maxTs, odd]] = await duckRows(c, 'SELECT count(*), min(ts), max(ts), count(*) FILTER (WHERE ts % 1000 <> 0) FROM events');
        // as_of: just after the last exported event, so "last D days" ends at
        // the dataset's end and every engine sees the same window.
        meta = {
            version: META_VERSION, as_of: Number(maxTs) + 1, exported: Number(exported), events: Number(n),
            excluded_meta: Number(metaRows), excluded_system: Number(systemRows),
            first_ts: Number(minTs), last_ts: Number(maxTs), ts_not_whole_seconds: Number(odd),
        };
        writeFileSync(metaFile, JSON.stringify(meta) + '\n');
    }
    console.log(`exported=${meta.exported} loaded=${meta.events} (activity) excluded: $identify/$alias/$group=${meta.excluded_meta} system=${meta.excluded_system}; ` +
        `first=${new Date(meta.first_ts).toISOString()} last=${new Date(meta.last_ts).toISOString()}`);
    if (meta.exported !== meta.events + meta.excluded_meta + meta.excluded_system) throw new Error('duckdb: row counts do not add up');
    if (!existsSync(csv)) {
        const t0 = performance.now();
        await c.run(`COPY (SELECT contact_id, ts, event, coalesce(channel, '') FROM events) TO '${csv}.part' (FORMAT csv, HEADER false)`);
        renameSync(csv + '.part', csv);
        console.log(`events.csv written ms=${Math.round(performance.now() - t0)}`);
    }
    c.closeSync?.();
}

// ---- siyu ----------------------------------------------------------------
// The server logs to a file, as ClickHouse does: a pipe into this process
// would wake it for every access-log line, on the path being timed.
function startSiyu(bin, data) {
    const logFile = join(OUT, 'siyu-serve.log');
    const fd = openSync(logFile, 'w');
    const proc = spawn(bin, ['serve', '--data', data, '--listen', '127.0.0.1:0'], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const log = () => readFileSync(logFile, 'utf8');
    return new Promise((resolve, reject) => {
        let done = false;
        proc.on('exit', (code) => {
            if (!done) reject(new Error(`siyu serve exited with ${code}:\n${log().slice(-2000)}`));
            done = true;
        });
        const poll = () => {
            if (done) return;
            const m = log().match(/listening url=(http:\/\/127\.0\.0\.1:\d+)/);
            if (m) {
                done = true;
                resolve({ proc, url: m[1], log });
            } else {
                setTimeout(poll, 100);
            }
        };
        poll();
    });
}

// One HTTP client for siyu and ClickHouse alike: node:http on kept-alive
// connections. (fetch adds about a millisecond of its own per request here,
// which is most of a millisecond-scale answer.)
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
// A kept-alive socket the server closed just as the agent handed it out
// fails with ECONNRESET before the request reached the server (it happened
// once after a streamed CSV export): such a request is sent once more.
// Questions are read-only, and the few writes the bench makes (a tag
// category, two tags and their members) are found by name or idempotent.
async function httpCall(url, opts = {}) {
    try {
        return await httpOnce(url, opts);
    } catch (err) {
        if (err.code !== 'ECONNRESET') throw err;
        return httpOnce(url, opts);
    }
}
function httpOnce(url, { method = 'GET', headers = {}, body } = {}) {
    const data = body === undefined ? null : Buffer.isBuffer(body) ? body : Buffer.from(body);
    return new Promise((resolve, reject) => {
        const req = http.request(url, { method, agent, headers: { ...headers, ...(data ? { 'content-length': data.length } : {}) } }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
            res.on('error', reject);
        });
        req.on('error', reject);
        if (data) req.write(data);
        req.end();
    });
}

function api(url, token) {
    return async (method, path, body) => {
        const r = await httpCall(url + path, {
            method,
            headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json' },
            body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = r.text;
        let json = null;
        try { json = JSON.parse(text); } catch { /* CSV or empty */ }
        return { status: r.status, json, text };
    };
}

async function ensureTags(call, ids) {
    const stateFile = join(OUT, 'tags.json');
    if (existsSync(stateFile) && existsSync(join(OUT, 'tags.tsv'))) return JSON.parse(readFileSync(stateFile, 'utf8'));
    const ok = (r, what) => {
        if (r.status >= 300) throw new Error(`${what}: ${r.status} ${r.text.slice(0, 300)}`);
        return r.json;
    };
    // A crashed earlier run may have made them already: reuse by name.
    let cat = (ok(await call('GET', '/api/v1/tag-categories?limit=500'), 'list categories').items || []).find((x) => x.name === 'bench');
    if (!cat) cat = ok(await call('POST', '/api/v1/tag-categories', { name: 'bench', scenario: 'bench/peers: tag-combination segment' }), 'create category');
    const tags = {};
    for (const [key, name] of [['a', 'bench-even-id'], ['b', 'bench-id-div-3']]) {
        let t = (ok(await call('GET', `/api/v1/tags?category_id=${cat.id}&limit=500`), 'list tags').items || []).find((x) => x.name === name);
        if (!t) t = ok(await call('POST', '/api/v1/tags', { category_id: cat.id, name, kind: 'manual' }), 'create tag');
        tags[key] = t.id;
    }
    const pairs = [];
    const t0 = performance.now();
    for (const [key, pick] of [['a', (id) => id % 2 === 0], ['b', (id) => id % 3 === 0]]) {
        const want = ids.filter(pick);
        const missing = new Set();
        for (let i = 0; i < want.length; i += 10000) {
            const chunk = want.slice(i, i + 10000);
            const r = ok(await call('POST', `/api/v1/tags/${tags[key]}/members`, { contact_ids: chunk }), 'add members');
            for (const x of r.not_found || []) missing.add(Number(x));
        }
        for (const id of want) if (!missing.has(id)) pairs.push(`${tags[key]}\t${id}`);
        console.log(`siyu tag ${key}=${tags[key]} members=${want.length - missing.size} not_found=${missing.size}`);
    }
    console.log(`siyu tagging ms=${Math.round(performance.now() - t0)}`);
    writeFileSync(join(OUT, 'tags.tsv'), pairs.join('\n') + '\n');
    writeFileSync(stateFile, JSON.stringify(tags) + '\n');
    return tags;
}

// ---- ClickHouse over HTTP --------------------------------------------------
function clickhouse(port) {
    return async (sql, body) => {
        const url = `http://127.0.0.1:${port}/` + (body === undefined ? '' : '?query=' + encodeURIComponent(sql));
        const r = await httpCall(url, { method: 'POST', body: body === undefined ? sql : body });
        const text = r.text;
        if (r.status !== 200) throw new Error(`clickhouse: ${r.status} ${text.slice(0, 500)}\n${sql}`);
        return text;
    };
}

// ---- answers: one canonical form per question, whatever the engine -------
// Objects with sorted keys, so two answers agree iff their JSON is equal.
const canon = (x) => JSON.stringify(x, (k, v) => (v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.keys(v).sort().map((key) => [key, v[key]])) : v));
// "path: a vs b" for the first few places two answers differ.
function diffAnswers(a, b, limit = 6) {
    const flat = (x, p, out) => {
        if (x && typeof x === 'object') for (const [k, v] of Object.entries(x)) flat(v, p ? `${p}.${k}` : k, out);
        else out.set(p, x);
        return out;
    };
    const fa = flat(a, '', new Map()), fb = flat(b, '', new Map());
    const keys = [...new Set([...fa.keys(), ...fb.keys()])].sort();
    const diffs = keys.filter((k) => fa.get(k) !== fb.get(k));
    return { n: diffs.length, text: diffs.slice(0, limit).map((k) => `${k}: ${fa.get(k)} vs ${fb.get(k)}`).join('; ') };
}
const N = (x) => Number(x);
// funnel: {steps: [contacts reaching step k]} from a (level, contacts) histogram
const funnelFromLevels = (rows, steps) => ({
    steps: Array.from({ length: steps }, (_, k) => rows.filter((r) => N(r[0]) >= k + 1).reduce((s, r) => s + N(r[1]), 0)),
});
// funnel by channel: {groups: {channel: [contacts reaching step 1, 2, …]}}
function funnelGroupsFromRows(rows, steps) {
    const groups = {};
    for (const [ch, level, n] of rows) {
        const g = (groups[ch === '' ? '(none)' : ch] ??= new Array(steps).fill(0));
        for (let k = 0; k < N(level) && k < steps; k++) g[k] += N(n);
    }
    return { groups };
}
// retention: {cohorts: {"YYYY-MM-DD": [size, returned on day 0, 1, …]}}
const retentionFromArrays = (rows) => ({ cohorts: Object.fromEntries(rows.map((r) => [dayLabel(N(r[0])), [N(r[1]), ...r[2].map(N)]])) });
function retentionFromCells(rows, periods) {
    const cohorts = {};
    for (const [c, n, v] of rows) {
        const key = dayLabel(N(c));
        cohorts[key] ??= new Array(periods + 1).fill(0);
        cohorts[key][N(n) + 1] = N(v);
    }
    return { cohorts };
}
// DAU: {days: {"YYYY-MM-DD": contacts}}, days with none left out
const daysFromRows = (rows) => ({ days: Object.fromEntries(rows.filter((r) => N(r[1]) > 0).map((r) => [dayLabel(N(r[0])), N(r[1])])) });
// trend: {series: {channel: {"YYYY-MM-DD": events}}}, zeros left out; events
// without a channel (or with "") are siyu's series "(none)"
function seriesFromRows(rows) {
    const series = {};
    for (const [d, ch, v] of rows) if (N(v) > 0) (series[ch === '' ? '(none)' : ch] ??= {})[dayLabel(N(d))] = N(v);
    return { series };
}
function siyuSeries(j, name) {
    const series = {};
    for (const s of j.series) {
        const out = {};
        s.values.forEach((v, i) => { if (v !== null && v !== 0) out[j.periods[i]] = v; });
        series[name(s)] = out;
    }
    return series;
}

// ---- timing ------------------------------------------------------------------
// A self-timed runner's fn answers { answer, ms } (the floor: the scan's
// own pass time, not the pipe's round trip).
async function timeIt(fn, selfTimed) {
    const t0 = performance.now();
    const answer = await fn();
    if (selfTimed) return answer;
    return { ms: performance.now() - t0, answer };
}

// The bandwidth floor in the rounds: a `scan ROWS serve` process kept for
// the whole run (its arrays allocated and read once), asked for one pass
// over a question's columns right after siyu answers that question, so
// that the floor and siyu are timed in the same conditions (just after the
// peers' previous round). scan.txt's floor is 21 passes back to back.
function startScan(bin, rows) {
    const proc = spawn(bin, [String(rows), 'serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const waiters = [];
    let buf = '', dead = null;
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d) => {
        buf += d;
        for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) waiters.shift()?.res(buf.slice(0, i));
    });
    proc.on('exit', (code) => {
        dead = new Error(`scan serve exited (${code})`);
        while (waiters.length) waiters.shift().rej(dead);
    });
    const next = () => new Promise((res, rej) => (dead ? rej(dead) : waiters.push({ res, rej })));
    const ready = next();
    return {
        proc, ready,
        pass: async (columns) => {
            const line = next();
            proc.stdin.write(columns + '\n');
            const m = (await line).match(/^ms=([\d.]+)/);
            if (!m) throw new Error(`scan serve: ${await line}`);
            return { answer: columns, ms: Number(m[1]) };
        },
    };
}
const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
// Rounds, not blocks: the first call of every engine, then RUNS rounds that
// call each engine once in turn, so a busy spell on this shared machine
// slows all engines alike rather than one of them. An engine whose call
// fails is reported and left out of the later rounds.
async function measureAll(runners) {
    const res = runners.map((x) => ({ engine: x.engine, variant: x.variant, label: x.label, warm: [] }));
    for (let i = 0; i < runners.length; i++) {
        try {
            res[i].first = await timeIt(runners[i].fn, runners[i].selfTimed);
        } catch (err) {
            res[i].error = String(err.message || err).slice(0, 600);
        }
    }
    for (let k = 0; k < RUNS; k++)
        for (let i = 0; i < runners.length; i++) {
            if (res[i].error) continue;
            try {
                res[i].warm.push(await timeIt(runners[i].fn, runners[i].selfTimed));
            } catch (err) {
                res[i].error = String(err.message || err).slice(0, 600);
            }
        }
    return res.map((x) => {
        if (x.error) {
            console.log(`${x.label} FAILED: ${x.error}`);
            return { engine: x.engine, variant: x.variant, label: x.label, error: x.error };
        }
        const answers = new Set([x.first, ...x.warm].map((w) => canon(w.answer)));
        if (answers.size !== 1) throw new Error(`${x.label}: answer changed between runs`);
        const warm = x.warm.map((w) => w.ms);
        const r = { engine: x.engine, variant: x.variant, label: x.label, answer: x.first.answer, first_ms: x.first.ms,
            median_ms: median(warm), best_ms: Math.min(...warm), warm_ms: warm };
        const shown = typeof r.answer === 'number' ? `count=${r.answer} ` : '';
        console.log(`${r.label} ${shown}first_ms=${r.first_ms.toFixed(1)} median_ms=${r.median_ms.toFixed(1)} best_ms=${r.best_ms.toFixed(1)} warm_ms=${warm.map((v) => v.toFixed(1)).join(',')}`);
        return r;
    });
}

const sameIds = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const sortNum = (xs) => Int32Array.from(xs).sort();

// OUT/scan.txt: "scan columns=ts,contact,type … median_ms=…" per column set.
function readFloors() {
    const floors = {};
    const f = join(OUT, 'scan.txt');
    if (!existsSync(f)) return floors;
    for (const line of readFileSync(f, 'utf8').split('\n')) {
        const m = line.match(/columns=(\S+) .*median_ms=([\d.]+).*gb_per_s=([\d.]+)/);
        if (m) floors[m[1]] = { ms: Number(m[2]), gbs: Number(m[3]) };
    }
    return floors;
}

async function run() {
    const SIYU = process.env.SIYU;
    const CH_HTTP = process.env.CH_HTTP;
    const data = join(OUT, 'data');
    const demo = JSON.parse(readFileSync(join(data, 'demo.json'), 'utf8'));
    const meta = JSON.parse(readFileSync(join(OUT, 'meta.json'), 'utf8'));
    const AS_OF = meta.as_of;
    // The analytics range: every Asia/Shanghai day holding an event; the 30
    // retention cohorts start on the first whole day, so each cohort's 30
    // periods end before the data does.
    const FROM_DAY = dayOf(meta.first_ts), TO_DAY = dayOf(meta.last_ts);
    const PERIODS = 30, C0 = FROM_DAY + 1, C1 = C0 + 29;
    if (C1 + PERIODS - 1 > TO_DAY) throw new Error(`the data covers ${TO_DAY - FROM_DAY + 1} days; retention needs ${PERIODS + 30}`);
    const params = {
        AS_OF, FROM30: AS_OF - 30 * DAY, FROM7: AS_OF - 7 * DAY,
        FROM_MS: FROM_DAY * DAY - TZ_MS, TO_MS: (TO_DAY + 1) * DAY - TZ_MS, WINDOW_MS: 7 * DAY, WINDOW_S: 7 * 86400,
        PERIODS, C0, C1, RET_END_MS: (C1 + PERIODS) * DAY - TZ_MS,
        RETENTION_CONDS: Array.from({ length: PERIODS }, (_, n) => `intDiv(ts + 28800000, 86400000) = cohort + ${n}`).join(',\n'),
    };
    const from = dayLabel(FROM_DAY), to = dayLabel(TO_DAY);
    console.log(`as_of=${AS_OF} (${new Date(AS_OF).toISOString()}) range ${from}..${to} (${TO_DAY - FROM_DAY + 1} days, Asia/Shanghai) retention cohorts ${dayLabel(C0)}..${dayLabel(C1)}`);
    console.log(`peers hold ${meta.events} activity events of ${meta.exported} exported (left out: ${meta.excluded_meta} $identify/$alias/$group, ${meta.excluded_system} system)`);
    const floors = readFloors();

    const duck = await openDuck();
    const ch = clickhouse(CH_HTTP);
    const chRows = async (sql) => JSON.parse(await ch(sql + '\nFORMAT JSONCompact')).data;
    const t0 = performance.now();
    const srv = await startSiyu(SIYU, data);
    console.log(`siyu serve up ms=${Math.round(performance.now() - t0)} url=${srv.url}`);
    const failures = [];
    const scanBin = join(OUT, 'scan');
    const scan = existsSync(scanBin) ? startScan(scanBin, meta.exported) : null;
    if (scan) await scan.ready;
    // The floor runner of a question, after siyu's in each round.
    const floorRunner = (q) => (scan && q.columns
        ? [{ engine: 'floor', label: `floor ${q.columns}`, selfTimed: true, fn: () => scan.pass(q.columns) }] : []);
    try {
        const call = api(srv.url, demo.admin.api_token);
        const chVer = (await ch('SELECT version()')).trim();
        const duckVer = (await duckRows(duck, "SELECT version(), current_setting('threads')"))[0];
        const chThreads = (await ch("SELECT value FROM system.settings WHERE name = 'max_threads'")).trim();
        console.log(`engines: clickhouse ${chVer} max_threads=${chThreads}; duckdb ${duckVer[0]} threads=${duckVer[1]}; cpus=${os.cpus().length} loadavg=${os.loadavg().map((x) => x.toFixed(2)).join(',')}`);
        const ids = (await duckRows(duck, 'SELECT DISTINCT contact_id FROM events ORDER BY 1')).map((r) => Number(r[0]));
        const tags = await ensureTags(call, ids);
        Object.assign(params, { TAG_A: tags.a, TAG_B: tags.b });
        const tsv = join(OUT, 'tags.tsv');
        if (Number((await duckRows(duck, 'SELECT count(*) FROM contact_tags'))[0][0]) === 0)
            await duck.run(`INSERT INTO contact_tags SELECT * FROM read_csv('${tsv}', delim = '\t', header = false, columns = {'tag_id': 'UINTEGER', 'contact_id': 'UINTEGER'})`);
        if (Number(await ch('SELECT count() FROM bench.contact_tags')) === 0) {
            await ch('INSERT INTO bench.contact_tags FORMAT TabSeparated', readFileSync(tsv));
            await ch('OPTIMIZE TABLE bench.contact_tags FINAL');
        }
        const nPairs = readFileSync(tsv, 'utf8').trim().split('\n').length;
        const dPairs = Number((await duckRows(duck, 'SELECT count(*) FROM contact_tags'))[0][0]);
        const cPairs = Number(await ch('SELECT count() FROM bench.contact_tags'));
        const dEv = Number((await duckRows(duck, 'SELECT count(*) FROM events'))[0][0]);
        const cEv = Number(await ch('SELECT count() FROM bench.events'));
        console.log(`loaded events duckdb=${dEv} clickhouse=${cEv}; tag pairs file=${nPairs} duckdb=${dPairs} clickhouse=${cPairs}`);
        if (dEv !== cEv || dEv !== meta.events) failures.push(`event rows differ: meta ${meta.events}, duckdb ${dEv}, clickhouse ${cEv}`);
        if (dPairs !== nPairs || cPairs !== nPairs) failures.push('tag pair rows differ between the peers');
        // Let any real-time membership pass triggered by the tagging finish.
        await new Promise((r) => setTimeout(r, 3000));

        // ClickHouse's windowFunnel works in whole seconds here (ch/funnel.sql).
        if (meta.ts_not_whole_seconds)
            failures.push(`funnel: ${meta.ts_not_whole_seconds} events have a millisecond part; ClickHouse 18.16's windowFunnel (seconds) cannot answer exactly`);
        const results = [];
        const summarize = (q, rs) => {
            const ok = rs.filter((r) => !r.error);
            const best = (e) => ok.filter((r) => r.engine === e).reduce((a, b) => (!a || b.median_ms < a.median_ms ? b : a), null);
            const s = best('siyu'), c = best('clickhouse'), d = best('duckdb'), fr = best('floor');
            const peer = [c, d].filter(Boolean).reduce((a, b) => (!a || b.median_ms < a.median_ms ? b : a), null);
            const floor = q.columns ? floors[q.columns] : null;
            const row = { key: q.key, title: q.title, goal_ms: q.goal_ms, columns: q.columns || null, runs: rs,
                siyu_ms: s?.median_ms ?? null, clickhouse: c ? { form: c.variant, ms: c.median_ms } : null,
                duckdb: d ? { form: d.variant, ms: d.median_ms } : null, faster_peer: peer?.label ?? null,
                ratio: s && peer ? peer.median_ms / s.median_ms : null, floor_ms: floor?.ms ?? null,
                siyu_over_floor: s && floor ? s.median_ms / floor.ms : null,
                floor_round_ms: fr?.median_ms ?? null, siyu_over_round_floor: s && fr ? s.median_ms / fr.median_ms : null };
            if (row.ratio !== null)
                console.log(`${q.key} ratio: siyu ${s.median_ms.toFixed(1)} ms vs faster peer ${peer.label} ${peer.median_ms.toFixed(1)} ms -> ${row.ratio.toFixed(1)}x (peer time / siyu time, medians)`);
            results.push(row);
        };

        // ---- 1. segments (issue 5 §7): counts and member id sets ----
        const segments = [
            {
                key: 'behaviour',
                title: 'order_paid >= 2 in 30 days AND NOT view_item in 7 days AND share at least once',
                goal_ms: 6, columns: 'ts,contact,type',
                definition: {
                    and: [
                        { event: 'order_paid', count: { gte: 2 }, last_days: 30 },
                        { not: { event: 'view_item', last_days: 7 } },
                        { event: 'share', count: { gte: 1 } },
                    ],
                },
                ch: ['behaviour_groupby', 'behaviour_in'],
                duck: ['behaviour_groupby', 'behaviour_setops'],
            },
            {
                key: 'tags',
                title: 'tag A (even ids) AND NOT tag B (ids divisible by 3)',
                goal_ms: 6, columns: null,
                definition: { and: [{ tag: tags.a }, { not: { tag: tags.b } }] },
                ch: ['tags_in', 'tags_groupby'],
                duck: ['tags_setops', 'tags_groupby'],
            },
        ];
        for (const q of segments) {
            console.log(`\n# ${q.key}: ${q.title}`);
            const runners = [{
                engine: 'siyu', label: `siyu ${q.key}`,
                fn: async () => {
                    const r = await call('POST', '/api/v1/segments/preview', { definition: q.definition, as_of: AS_OF });
                    if (r.status !== 200) throw new Error(`preview: ${r.status} ${r.text.slice(0, 300)}`);
                    return r.json.count;
                },
            }, ...floorRunner(q)];
            for (const v of q.ch) {
                const sql = sqlFile('ch', v, params);
                runners.push({ engine: 'clickhouse', variant: v, label: `clickhouse ${v}`, fn: async () => Number((await ch(`SELECT count() FROM (${sql})`)).trim()) });
            }
            for (const v of q.duck) {
                const sql = sqlFile('duck', v, params);
                runners.push({ engine: 'duckdb', variant: v, label: `duckdb ${v}`, fn: async () => Number((await duckRows(duck, `SELECT count(*) FROM (${sql})`))[0][0]) });
            }
            const rs = await measureAll(runners);
            for (const r of rs) if (r.error) failures.push(`${q.key}: ${r.label} failed: ${r.error}`);
            // Member id sets (not timed): siyu's saved segment as CSV vs each peer's ids.
            const seg = await call('POST', '/api/v1/segments', { name: `bench-peers ${q.key} ${Date.now()}`, definition: q.definition });
            if (seg.status !== 201) throw new Error(`save segment: ${seg.status} ${seg.text.slice(0, 300)}`);
            const csv = await call('GET', `/api/v1/segments/${seg.json.id}/members.csv?as_of=${AS_OF}`);
            await call('DELETE', `/api/v1/segments/${seg.json.id}`);
            if (csv.status !== 200) throw new Error(`members.csv: ${csv.status} ${csv.text.slice(0, 300)}`);
            const siyuIds = sortNum(csv.text.replace(/^\uFEFF/, '').trim().split('\n').slice(1).map((l) => Number(l.split(',')[0])));
            const idSets = { siyu: siyuIds };
            idSets.clickhouse = sortNum((await ch(sqlFile('ch', q.ch[0], params))).trim().split('\n').filter(Boolean).map(Number));
            idSets.duckdb = sortNum((await duckRows(duck, sqlFile('duck', q.duck[0], params))).map((r) => Number(r[0])));
            const answered = rs.filter((r) => !r.error && r.engine !== 'floor');
            const counts = new Set(answered.map((r) => r.answer));
            if (counts.size !== 1) failures.push(`${q.key}: counts differ: ${answered.map((r) => `${r.label}=${r.answer}`).join(' ')}`);
            for (const e of ['clickhouse', 'duckdb'])
                if (!sameIds(idSets.siyu, idSets[e])) {
                    const a = new Set(idSets.siyu), b = new Set(idSets[e]);
                    const onlyS = [...a].filter((x) => !b.has(x)), onlyP = [...b].filter((x) => !a.has(x));
                    failures.push(`${q.key}: member ids differ siyu vs ${e}: ${onlyS.length} only in siyu (e.g. ${onlyS.slice(0, 5)}), ${onlyP.length} only in ${e} (e.g. ${onlyP.slice(0, 5)})`);
                }
            console.log(`${q.key} member ids: siyu=${idSets.siyu.length} clickhouse=${idSets.clickhouse.length} duckdb=${idSets.duckdb.length} ${failures.some((f) => f.startsWith(q.key)) ? 'MISMATCH' : 'identical'}`);
            summarize(q, rs);
        }

        // ---- 2. analytics (issue 6 §6): whole answers compared ----
        const steps = ['add_wechat', 'join_group', 'view_item', 'order_paid'];
        // The peers' funnel by channel takes the channel of a contact's only
        // add_wechat; with several per contact it would be ambiguous.
        const [[nAdd, nAddContacts]] = await duckRows(duck, "SELECT count(*), count(DISTINCT contact_id) FROM events WHERE event = 'add_wechat'");
        const oneStart = Number(nAdd) === Number(nAddContacts);
        if (!oneStart) console.log(`funnel_by_channel: skipped (${nAdd} add_wechat events for ${nAddContacts} contacts)`);
        const analytics = [
            {
                key: 'funnel', goal_ms: 50, columns: 'ts,contact,type',
                title: `4-step loose funnel ${steps.join(' → ')}, 7-day window, ${from}..${to}`,
                siyu: ['/api/v1/analytics/funnel', { steps: steps.map((event) => ({ event })), window: { value: 7, unit: 'day' }, order: 'loose', from, to },
                    (j) => ({ steps: j.steps.map((s) => s.count) })],
                ch: [['funnel', (rows) => funnelFromLevels(rows, 4)], ['funnel_all', (rows) => funnelFromLevels(rows, 4)]],
                duck: [['funnel', (rows) => funnelFromLevels(rows, 4)]],
            },
            {
                key: 'funnel_filtered', goal_ms: null, columns: 'ts,contact,type,dim',
                title: `the funnel with its last step filtered: order_paid with channel = miniprogram`,
                siyu: ['/api/v1/analytics/funnel', { steps: [...steps.slice(0, 3).map((event) => ({ event })), { event: 'order_paid', filters: [{ property: 'channel', op: '=', value: 'miniprogram' }] }], window: { value: 7, unit: 'day' }, order: 'loose', from, to },
                    (j) => ({ steps: j.steps.map((s) => s.count) })],
                ch: [['funnel_filtered', (rows) => funnelFromLevels(rows, 4)]],
                duck: [['funnel_filtered', (rows) => funnelFromLevels(rows, 4)]],
            },
            {
                key: 'funnel_browse', goal_ms: null, columns: 'ts,contact,type',
                title: `3-step loose funnel view_item → order_paid → share, 7-day window (many starts per contact)`,
                siyu: ['/api/v1/analytics/funnel', { steps: ['view_item', 'order_paid', 'share'].map((event) => ({ event })), window: { value: 7, unit: 'day' }, order: 'loose', from, to },
                    (j) => ({ steps: j.steps.map((s) => s.count) })],
                ch: [['funnel_browse', (rows) => funnelFromLevels(rows, 3)]],
                duck: [['funnel_browse', (rows) => funnelFromLevels(rows, 3)]],
            },
            ...(oneStart ? [{
                key: 'funnel_by_channel', goal_ms: null, columns: 'ts,contact,type,dim',
                title: `the funnel broken down by the channel of its add_wechat`,
                siyu: ['/api/v1/analytics/funnel', { steps: steps.map((event) => ({ event })), window: { value: 7, unit: 'day' }, order: 'loose', from, to, breakdown: { by: 'channel' } },
                    (j) => {
                        if (j.truncated) throw new Error('funnel_by_channel: truncated (more than 50 channels?)');
                        return { groups: Object.fromEntries(j.breakdown.map((r) => [r.key, r.counts])) };
                    }],
                ch: [['funnel_by_channel', (rows) => funnelGroupsFromRows(rows, 4)]],
                duck: [['funnel_by_channel', (rows) => funnelGroupsFromRows(rows, 4)]],
            }] : []),
            {
                key: 'retention', goal_ms: 25, columns: 'ts,contact,type,flags',
                title: `retention ${PERIODS} x ${PERIODS}: cohorts ${dayLabel(C0)}..${dayLabel(C1)} by first add_wechat, return = any activity on day N (exact)`,
                siyu: ['/api/v1/analytics/retention', { start_event: 'add_wechat', return_event: '$active', interval: 'day', periods: PERIODS, mode: 'exact', from: dayLabel(C0), to: dayLabel(C1) },
                    (j) => ({ cohorts: Object.fromEntries(j.cohorts.filter((c) => c.size > 0).map((c) => [c.cohort, [c.size, ...c.values]])) })],
                ch: [['retention_array', retentionFromArrays], ['retention_fn', retentionFromArrays]],
                duck: [['retention_join', (rows) => retentionFromCells(rows, PERIODS)], ['retention_semijoin', (rows) => retentionFromCells(rows, PERIODS)]],
            },
            {
                key: 'dau', goal_ms: 30, columns: 'ts,contact,flags',
                title: `exact DAU per day, ${from}..${to}`,
                siyu: ['/api/v1/analytics/metric', { metric: 'dau', interval: 'day', from, to },
                    (j) => ({ days: Object.values(siyuSeries(j, () => 'all'))[0] })],
                ch: [['dau', daysFromRows]],
                duck: [['dau', daysFromRows]],
            },
            {
                key: 'trend', goal_ms: null, columns: 'ts,type,dim',
                title: `order_paid count per day by channel, ${from}..${to}`,
                siyu: ['/api/v1/analytics/trend', { event: 'order_paid', measure: 'count', interval: 'day', breakdown: { by: 'channel' }, from, to },
                    (j) => {
                        if (j.truncated) throw new Error('trend: truncated (more than 50 channels?)');
                        return { series: siyuSeries(j, (s) => s.key) };
                    }],
                ch: [['trend_channel', seriesFromRows]],
                duck: [['trend_channel', seriesFromRows]],
            },
        ];
        for (const q of analytics) {
            console.log(`\n# ${q.key}: ${q.title}`);
            const [path, body, norm] = q.siyu;
            const runners = [{
                engine: 'siyu', label: `siyu ${q.key}`,
                fn: async () => {
                    const r = await call('POST', path, body);
                    if (r.status !== 200) throw new Error(`POST ${path}: ${r.status} ${r.text.slice(0, 300)}`);
                    return norm(r.json);
                },
            }, ...floorRunner(q)];
            for (const [v, f] of q.ch) {
                const sql = sqlFile('ch', v, params);
                runners.push({ engine: 'clickhouse', variant: v, label: `clickhouse ${v}`, fn: async () => f(await chRows(sql)) });
            }
            for (const [v, f] of q.duck) {
                const sql = sqlFile('duck', v, params);
                runners.push({ engine: 'duckdb', variant: v, label: `duckdb ${v}`, fn: async () => f(await duckRows(duck, sql)) });
            }
            const rs = await measureAll(runners);
            const ok = rs.filter((r) => !r.error && r.engine !== 'floor');
            for (const r of rs) if (r.error) failures.push(`${q.key}: ${r.label} failed: ${r.error}`);
            // The reference is the first peer form that answered; every other
            // answer (siyu's and the other forms) must equal it exactly.
            const ref = ok.find((r) => r.engine !== 'siyu');
            if (ref) {
                writeFileSync(join(OUT, `answer-${q.key}.json`), canon(ref.answer) + '\n');
                for (const r of ok) {
                    if (r === ref) continue;
                    const d = diffAnswers(r.answer, ref.answer);
                    if (d.n) {
                        failures.push(`${q.key}: ${r.label} differs from ${ref.label} in ${d.n} values: ${d.text}`);
                        writeFileSync(join(OUT, `answer-${q.key}-${r.label.replace(/ /g, '-')}.json`), canon(r.answer) + '\n');
                    }
                }
                const differ = failures.some((f) => f.startsWith(q.key + ':') && f.includes(' differs from '));
                console.log(`${q.key} answers: ${ok.map((r) => r.label).join(', ')} ${differ ? 'MISMATCH' : 'identical'}` +
                    (q.key === 'funnel' ? ` (steps ${ref.answer.steps.join(' / ')})` : ''));
            }
            summarize(q, rs);
        }

        console.log(`loadavg after=${os.loadavg().map((x) => x.toFixed(2)).join(',')}`);
        writeFileSync(join(OUT, 'results.json'), JSON.stringify({ as_of: AS_OF, runs: RUNS, range: [from, to], meta, floors, results }, null, 1) + '\n');
        const ms = (x) => (x === null || x === undefined ? '—' : x < 10 ? x.toFixed(2) + ' ms' : x.toFixed(1) + ' ms');
        console.log(`\n| question | engine (query form) | first call | median of ${RUNS} | best of ${RUNS} |`);
        console.log('| --- | --- | --- | --- | --- |');
        for (const q of results)
            for (const r of q.runs)
                console.log(`| ${q.key} | ${r.label} | ${r.error ? 'failed' : ms(r.first_ms)} | ${ms(r.median_ms)} | ${ms(r.best_ms)} |`);
        console.log(`\n| question | siyu | ClickHouse | DuckDB | faster peer ÷ siyu | goal | floor, 21 passes (columns) | siyu ÷ floor | floor in the rounds | siyu ÷ floor in the rounds |`);
        console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
        for (const q of results) {
            const peer = (p) => (p ? `${ms(p.ms)} (${p.form})` : '—');
            console.log(`| ${q.key} | ${ms(q.siyu_ms)} | ${peer(q.clickhouse)} | ${peer(q.duckdb)} | ${q.ratio === null ? '—' : q.ratio.toFixed(1) + '×'} | ` +
                `${q.goal_ms ? `≤ ${q.goal_ms} ms, ≥ 20×` : '≥ 20×'} | ${q.floor_ms === null ? '—' : `${ms(q.floor_ms)} (${q.columns})`} | ${q.siyu_over_floor === null ? '—' : q.siyu_over_floor.toFixed(1) + '×'} | ` +
                `${ms(q.floor_round_ms)} | ${q.siyu_over_round_floor === null ? '—' : q.siyu_over_round_floor.toFixed(1) + '×'} |`);
        }
    } finally {
        scan?.proc.stdin.end();
        srv.proc.kill('SIGTERM');
        await new Promise((r) => { srv.proc.once('exit', r); setTimeout(r, 10000); });
    }
    if (failures.length) {
        console.error('\nbench/peers: ANSWERS DIFFER OR AN ENGINE FAILED\n' + failures.join('\n'));
        process.exit(1);
    }
    console.log('\nbench/peers: all answers identical');
}

const mode = process.argv[2];
if (mode === 'prep') await prep();
else if (mode === 'run') await run();
else {
    console.error('usage: node bench/peers/bench.mjs prep|run (see bench/peers/run.sh)');
    process.exit(2);
}
