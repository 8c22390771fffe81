// bench/peers/bench.mjs — the two segment questions of issue 5 §7 on siyu,
// ClickHouse and DuckDB over the same exported events. Driven by run.sh:
//
//   node bench/peers/bench.mjs prep   OUT=… : DuckDB loads OUT/events.jsonl,
//        writes OUT/events.tsv (ClickHouse's input) and OUT/meta.json (as_of)
//   node bench/peers/bench.mjs run    OUT=… SIYU=… CH_HTTP=port : starts
//        `siyu serve` on OUT/data, makes the two tags, loads the same
//        (tag_id, contact_id) pairs into both peers, times the questions,
//        compares counts and member id sets; exits 1 when any answer differs.
//
// Every step whose output exists is skipped (tags.json, the peers' tables).
// Times are wall-clock around one call from this process: siyu and
// ClickHouse over loopback HTTP (request + evaluation + reply), DuckDB
// in-process. "first" is the first call of this run, "best" the best of
// RUNS (default 5) calls after it.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync, renameSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import os from 'node:os';
import { DuckDBInstance } from '@duckdb/node-api';

const HERE = dirname(fileURLToPath(import.meta.url));
const OUT = process.env.OUT;
const RUNS = Number(process.env.RUNS || 5);
const DAY = 86400000;
if (!OUT) throw new Error('OUT is not set');

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
    const have = await duckRows(c, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'events'");
    if (Number(have[0][0]) === 0) {
        const t0 = performance.now();
        for (const stmt of sqlFile('duck', 'load', { JSONL: join(OUT, 'events.jsonl') }).split(';'))
            if (stmt.trim()) await c.run(stmt);
        console.log(`duckdb load ms=${Math.round(performance.now() - t0)}`);
    }
    const [[n, maxTs]] = await duckRows(c, 'SELECT count(*), max(ts) FROM events');
    console.log(`duckdb events=${n}`);
    if (!existsSync(join(OUT, 'meta.json'))) {
        // as_of: just after the last exported event, so "last D days" ends at
        // the dataset's end and every engine sees the same window.
        writeFileSync(join(OUT, 'meta.json'), JSON.stringify({ as_of: Number(maxTs) + 1, events: Number(n) }) + '\n');
    }
    const tsv = join(OUT, 'events.tsv');
    if (!existsSync(tsv)) {
        const t0 = performance.now();
        await c.run(`COPY (SELECT contact_id, ts, event FROM events) TO '${tsv}.part' (FORMAT csv, DELIMITER '\t', HEADER false)`);
        renameSync(tsv + '.part', tsv);
        console.log(`events.tsv written ms=${Math.round(performance.now() - t0)}`);
    }
    c.closeSync?.();
}

// ---- siyu ----------------------------------------------------------------
function startSiyu(bin, data) {
    return new Promise((resolve, reject) => {
        const proc = spawn(bin, ['serve', '--data', data, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
        let log = '';
        const onData = (d) => {
            log += d;
            const m = log.match(/listening url=(http:\/\/127\.0\.0\.1:\d+)/);
            if (m) resolve({ proc, url: m[1], log: () => log });
        };
        proc.stdout.on('data', onData);
        proc.stderr.on('data', onData);
        proc.on('exit', (code) => reject(new Error(`siyu serve exited with ${code}:\n${log.slice(-2000)}`)));
    });
}

function api(url, token) {
    return async (method, path, body) => {
        const r = await fetch(url + path, {
            method,
            headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json' },
            body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await r.text();
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
        const r = await fetch(url, { method: 'POST', body: body === undefined ? sql : body });
        const text = await r.text();
        if (r.status !== 200) throw new Error(`clickhouse: ${r.status} ${text.slice(0, 500)}\n${sql}`);
        return text;
    };
}

// ---- timing ------------------------------------------------------------------
async function timeIt(fn) {
    const t0 = performance.now();
    const count = await fn();
    return { ms: performance.now() - t0, count: Number(count) };
}
// Rounds, not blocks: the first call of every engine, then RUNS rounds that
// call each engine once in turn, so a busy spell on this shared machine
// slows all engines alike rather than one of them.
async function measureAll(runners) {
    const res = runners.map((x) => ({ engine: x.engine, variant: x.variant, label: x.label, warm: [] }));
    for (let i = 0; i < runners.length; i++) res[i].first = await timeIt(runners[i].fn);
    for (let k = 0; k < RUNS; k++) for (let i = 0; i < runners.length; i++) res[i].warm.push(await timeIt(runners[i].fn));
    return res.map((x) => {
        const counts = new Set([x.first.count, ...x.warm.map((w) => w.count)]);
        if (counts.size !== 1) throw new Error(`${x.label}: count changed between runs: ${[...counts]}`);
        const r = { engine: x.engine, variant: x.variant, label: x.label, count: x.first.count, first_ms: x.first.ms,
            best_ms: Math.min(...x.warm.map((w) => w.ms)), warm_ms: x.warm.map((w) => w.ms) };
        console.log(`${r.label} count=${r.count} first_ms=${r.first_ms.toFixed(1)} best_ms=${r.best_ms.toFixed(1)} warm_ms=${r.warm_ms.map((v) => v.toFixed(1)).join(',')}`);
        return r;
    });
}

const sameIds = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const sortNum = (xs) => Int32Array.from(xs).sort();

async function run() {
    const SIYU = process.env.SIYU;
    const CH_HTTP = process.env.CH_HTTP;
    const data = join(OUT, 'data');
    const demo = JSON.parse(readFileSync(join(data, 'demo.json'), 'utf8'));
    const { as_of: AS_OF } = JSON.parse(readFileSync(join(OUT, 'meta.json'), 'utf8'));
    const params = { AS_OF, FROM30: AS_OF - 30 * DAY, FROM7: AS_OF - 7 * DAY };
    console.log(`as_of=${AS_OF} (${new Date(AS_OF).toISOString()})`);

    const duck = await openDuck();
    const ch = clickhouse(CH_HTTP);
    const t0 = performance.now();
    const srv = await startSiyu(SIYU, data);
    console.log(`siyu serve up ms=${Math.round(performance.now() - t0)} url=${srv.url}`);
    const failures = [];
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
        if (dEv !== cEv) failures.push(`event rows differ: duckdb ${dEv}, clickhouse ${cEv}`);
        if (dPairs !== nPairs || cPairs !== nPairs) failures.push('tag pair rows differ between the peers');
        // Let any real-time membership pass triggered by the tagging finish.
        await new Promise((r) => setTimeout(r, 3000));

        const questions = [
            {
                key: 'behaviour',
                title: 'order_paid >= 2 in 30 days AND NOT view_item in 7 days AND share at least once',
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
                definition: { and: [{ tag: tags.a }, { not: { tag: tags.b } }] },
                ch: ['tags_in', 'tags_groupby'],
                duck: ['tags_setops', 'tags_groupby'],
            },
        ];
        const results = [];
        for (const q of questions) {
            console.log(`\n# ${q.key}: ${q.title}`);
            const runners = [{
                engine: 'siyu', label: `siyu ${q.key}`,
                fn: async () => {
                    const r = await call('POST', '/api/v1/segments/preview', { definition: q.definition, as_of: AS_OF });
                    if (r.status !== 200) throw new Error(`preview: ${r.status} ${r.text.slice(0, 300)}`);
                    return r.json.count;
                },
            }];
            for (const v of q.ch) {
                const sql = sqlFile('ch', v, params);
                runners.push({ engine: 'clickhouse', variant: v, label: `clickhouse ${v}`, fn: async () => (await ch(`SELECT count() FROM (${sql})`)).trim() });
            }
            for (const v of q.duck) {
                const sql = sqlFile('duck', v, params);
                runners.push({ engine: 'duckdb', variant: v, label: `duckdb ${v}`, fn: async () => (await duckRows(duck, `SELECT count(*) FROM (${sql})`))[0][0] });
            }
            const rs = await measureAll(runners);
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
            const counts = new Set(rs.map((r) => r.count));
            if (counts.size !== 1) failures.push(`${q.key}: counts differ: ${rs.map((r) => `${r.label}=${r.count}`).join(' ')}`);
            for (const e of ['clickhouse', 'duckdb'])
                if (!sameIds(idSets.siyu, idSets[e])) {
                    const a = new Set(idSets.siyu), b = new Set(idSets[e]);
                    const onlyS = [...a].filter((x) => !b.has(x)), onlyP = [...b].filter((x) => !a.has(x));
                    failures.push(`${q.key}: member ids differ siyu vs ${e}: ${onlyS.length} only in siyu (e.g. ${onlyS.slice(0, 5)}), ${onlyP.length} only in ${e} (e.g. ${onlyP.slice(0, 5)})`);
                }
            console.log(`${q.key} member ids: siyu=${idSets.siyu.length} clickhouse=${idSets.clickhouse.length} duckdb=${idSets.duckdb.length} ${failures.some((f) => f.startsWith(q.key)) ? 'MISMATCH' : 'identical'}`);
            const best = (e) => rs.filter((r) => r.engine === e).reduce((a, b) => (b.best_ms < a.best_ms ? b : a));
            const s = best('siyu'), c = best('clickhouse'), d = best('duckdb');
            const peer = c.best_ms <= d.best_ms ? c : d;
            console.log(`${q.key} ratio: siyu ${s.best_ms.toFixed(1)} ms vs faster peer ${peer.label} ${peer.best_ms.toFixed(1)} ms -> ${(peer.best_ms / s.best_ms).toFixed(1)}x (peer time / siyu time)`);
            results.push({ key: q.key, title: q.title, runs: rs, faster_peer: peer.label, ratio: peer.best_ms / s.best_ms });
        }
        console.log(`loadavg after=${os.loadavg().map((x) => x.toFixed(2)).join(',')}`);
        writeFileSync(join(OUT, 'results.json'), JSON.stringify({ as_of: AS_OF, runs: RUNS, results }, null, 1) + '\n');
        console.log('\n| question | engine (query form) | count | first call | best of ' + RUNS + ' warm |');
        console.log('| --- | --- | --- | --- | --- |');
        for (const q of results)
            for (const r of q.runs)
                console.log(`| ${q.key} | ${r.label} | ${r.count.toLocaleString('en-US')} | ${r.first_ms.toFixed(1)} ms | ${r.best_ms.toFixed(1)} ms |`);
        for (const q of results) console.log(`ratio ${q.key}: faster peer (${q.faster_peer}) / siyu = ${q.ratio.toFixed(1)}x`);
    } finally {
        srv.proc.kill('SIGTERM');
        await new Promise((r) => { srv.proc.once('exit', r); setTimeout(r, 10000); });
    }
    if (failures.length) {
        console.error('\nbench/peers: ANSWERS DIFFER\n' + failures.join('\n'));
        process.exit(1);
    }
    console.log('\nbench/peers: all answers identical (counts and member ids)');
}

const mode = process.argv[2];
if (mode === 'prep') await prep();
else if (mode === 'run') await run();
else {
    console.error('usage: node bench/peers/bench.mjs prep|run (see bench/peers/run.sh)');
    process.exit(2);
}
