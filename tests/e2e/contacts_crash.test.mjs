// Crash durability of CSV import: kill -9 the server in the middle of a
// large import, restart it on the same data directory, and check that the
// import is either entirely visible or not at all — never partly — and that
// an import acknowledged as completed survives kill -9.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startServer, Client, BIN } from './harness.mjs';

let srv;
let proc; // the restarted server
after(async () => {
  if (proc && proc.exitCode === null) {
    const done = new Promise((r) => proc.on('exit', r));
    proc.kill('SIGTERM');
    await done;
  }
  if (srv) { await srv.stop(); srv.cleanup(); }
});

// Starts `siyu serve` on an existing data dir; resolves to { proc, client }.
function serve(dir, token) {
  return new Promise((resolve, reject) => {
    const p = spawn(BIN, ['serve', '--data', dir, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => reject(new Error(`restart did not listen:\n${log}`)), 15000);
    const onData = (d) => {
      log += d.toString();
      const m = log.match(/listening url=(http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(timer); resolve({ proc: p, client: new Client(m[1], { token }) }); }
    };
    p.stdout.on('data', onData);
    p.stderr.on('data', onData);
    p.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}:\n${log}`)); });
  });
}

async function kill9(p) {
  const done = new Promise((r) => p.on('exit', r));
  p.kill('SIGKILL');
  await done;
}

function bigCsv(prefix, n) {
  const parts = ['姓名,手机号,邮箱\n'];
  for (let i = 0; i < n; i++) parts.push(`崩溃测试${i},${prefix}${String(i).padStart(8, '0')},${prefix}.${i}@crash.example\n`);
  return parts.join('');
}

async function total(client) {
  const r = await client.get('/api/v1/contacts?limit=1');
  assert.equal(r.status, 200, r.text);
  return r.body.total;
}

async function waitFor(client, id, pred, ms = 30000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const r = await client.get(`/api/v1/imports/${id}`);
    if (r.status === 200 && pred(r.body)) return r.body;
    await new Promise((res) => setTimeout(res, 10));
  }
  throw new Error(`import ${id}: condition not reached`);
}

test('kill -9 during an import leaves all or nothing; a completed import survives', async () => {
  srv = await startServer({ contacts: 10 });
  const token = srv.demo.admin.api_token;
  const admin = srv.admin();
  // 1. kill while rows are being staged. On a loaded machine an import can
  // run from start to finish between two polls; then it is simply complete
  // (checked below) and the next attempt uses a larger file.
  let base = 0, n = 0, prefix = '', running = null, seen = null;
  for (const [p, rows] of [['196', 120000], ['197', 240000], ['198', 400000]]) {
    base = await total(admin);
    prefix = p;
    n = rows;
    const pending = admin.post('/api/v1/contacts/import', bigCsv(p, n), { 'content-type': 'text/csv' }).catch(() => null);
    const end = Date.now() + 30000;
    let finished = null;
    while (!running && !finished && Date.now() < end) {
      seen = await admin.get('/api/v1/imports').catch((e) => ({ error: String(e) }));
      const items = seen?.body?.items || [];
      const mine = items.find((i) => i.rows_total === n);
      // in flight: still staging rows, or already publishing them
      if (mine && (mine.status === 'running' || mine.status === 'publishing')) running = mine;
      else if (mine) finished = mine;
      else await new Promise((res) => setTimeout(res, 5));
    }
    if (running) {
      await kill9(srv.proc);
      await pending;
      break;
    }
    await pending;
    assert.ok(finished, `the import never appeared: ${JSON.stringify(seen?.body ?? seen)}`);
    assert.equal(finished.status, 'completed', JSON.stringify(finished));
    assert.equal(await total(admin), base + n, 'a completed import shows all its rows');
  }
  assert.ok(running, 'three imports finished between two polls; none could be interrupted');

  let s = await serve(srv.dir, token);
  proc = s.proc;
  const after1 = await total(s.client);
  assert.ok(after1 === base || after1 === base + n, `partial import visible: ${after1 - base} of ${n} rows`);
  const first = await s.client.get(`/api/v1/contacts/lookup?type=phone&value=${prefix}00000000`);
  const last = await s.client.get(`/api/v1/contacts/lookup?type=phone&value=${prefix}${String(n - 1).padStart(8, '0')}`);
  assert.equal(first.status, last.status, 'first and last row disagree');
  assert.equal(first.status === 200, after1 === base + n);
  const rec = await waitFor(s.client, running.id, (b) => b.status === 'failed' || b.status === 'completed');
  assert.equal(rec.status === 'completed', after1 === base + n, JSON.stringify(rec));
  if (rec.status === 'failed') assert.match(rec.error, /interrupted/);

  // 2. an import acknowledged as completed survives kill -9
  const m = 20000;
  const r2 = await s.client.post('/api/v1/contacts/import', bigCsv('195', m), { 'content-type': 'text/csv' });
  assert.ok(r2.status === 200 || r2.status === 202, r2.text);
  await waitFor(s.client, r2.body.id, (b) => b.status === 'completed');
  await kill9(s.proc);

  s = await serve(srv.dir, token);
  proc = s.proc;
  assert.equal(await total(s.client), after1 + m);
  const probe = await s.client.get(`/api/v1/contacts/lookup?type=email&value=195.${m - 1}@crash.example`);
  assert.equal(probe.status, 200, probe.text);
  // and the staged rows of the interrupted import were purged, so its
  // phones are free for a new import
  if (after1 === base) {
    const again = await s.client.post('/api/v1/contacts/import', `姓名,手机号\n重来,${prefix}00000000\n`, { 'content-type': 'text/csv' });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.imported, 1, again.text);
  }
});
